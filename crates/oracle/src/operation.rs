//! Verdicts of an operation step (a restart, an outage, a backup or restore), on top of the
//! checks every step gets. The expectations come from the operation's entry in the model:
//! what must hold while its fault is in place, which command must refuse, and the readmission
//! window its recovery must respect.
//!
//! | check | passes when |
//! |---|---|
//! | `op.actions` | every command of the operation exited 0, but the one that must refuse |
//! | `op.during` | the fault showed (status, stopped/unhealthy/missing services) within its window |
//! | `op.refused` | the refusing command exited non-zero and touched no container |
//! | `op.readmit` | the readmitted service ran again only once its node had been healthy long enough |
//! | `op.config` | config.json is what it was (for a restore: what it was at the backup) |

use serde_json::json;

use super::{Touched, Verdicts, container, gist, is_running};
use canary_core::target::{CommandResult, Observation, RunState};
use canary_model::{Action, Operation};

/// How the fault phase of an operation went.
#[derive(Debug, Clone, Copy)]
pub struct FaultSeen<'a> {
    /// Whether every `during` expectation held at once before the window closed.
    pub reached: bool,
    /// Target-clock seconds from the last fault action to the fault showing (or giving up).
    pub seconds: f64,
    /// The last observation of the fault phase.
    pub observation: &'a Observation,
}

/// When, on the target's clock, the readmission happened as the runner's polls saw it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReadmitSeen {
    /// The poll before the one that first saw the node healthy (the earliest it can have
    /// turned healthy), seconds from the start of the step.
    pub healthy_after: Option<f64>,
    /// The first poll that saw the readmitted service running again.
    pub running_at: Option<f64>,
}

impl ReadmitSeen {
    /// The longest the node can have been healthy when the service ran again.
    pub fn gap(&self) -> Option<f64> {
        Some(self.running_at? - self.healthy_after?)
    }
}

/// What the runner saw during an operation step: the inputs of [`judge_operation`].
#[derive(Debug, Clone, Copy)]
pub struct OpFacts<'a> {
    pub operation: &'a Operation,
    /// Every action with its result, fault actions first, then the recovery.
    pub actions: &'a [(Action, CommandResult)],
    /// The fault phase, when the operation has `during` expectations.
    pub fault: Option<FaultSeen<'a>>,
    /// The box just before and just after the command that must refuse.
    pub refusal: Option<(&'a Observation, &'a Observation)>,
    pub readmit: ReadmitSeen,
    /// sha256 of config.json after the operation, and what it must be.
    pub config_sha256: (&'a str, &'a str),
}

/// Whether every `during` expectation of `op` holds on `obs`.
pub fn fault_shows(op: &Operation, obs: &Observation) -> bool {
    let d = &op.during;
    d.status_exit.is_none_or(|code| obs.status_exit == code)
        && d.stopped.iter().all(|s| !is_running(obs, s))
        && d.unhealthy.iter().all(|s| {
            container(obs, s).is_some_and(|c| {
                c.state == RunState::Running && c.health.as_deref() == Some("unhealthy")
            })
        })
        && d.missing.iter().all(|s| container(obs, s).is_none())
}

/// The services `during` names, as the box shows them (`name: state/health` or `missing`).
fn shown(op: &Operation, obs: &Observation) -> serde_json::Value {
    let d = &op.during;
    let mut states = serde_json::Map::new();
    for s in d.stopped.iter().chain(&d.unhealthy).chain(&d.missing) {
        let v = match container(obs, s) {
            None => "missing".to_string(),
            Some(c) => match &c.health {
                Some(h) => format!("{}/{h}", c.state),
                None => c.state.to_string(),
            },
        };
        states.insert(s.clone(), json!(v));
    }
    json!({ "status_exit": obs.status_exit, "services": states })
}

fn during_expected(op: &Operation) -> serde_json::Value {
    let d = &op.during;
    let mut services = serde_json::Map::new();
    for s in &d.stopped {
        services.insert(s.clone(), json!("not running"));
    }
    for s in &d.unhealthy {
        services.insert(s.clone(), json!("running/unhealthy"));
    }
    for s in &d.missing {
        services.insert(s.clone(), json!("missing"));
    }
    json!({ "status_exit": d.status_exit, "services": services, "within": d.within })
}

/// Appends the operation's own verdicts to `out`.
pub fn judge_operation(facts: &OpFacts<'_>, out: &mut Verdicts) {
    let op = facts.operation;
    let refusing = op.refuses;
    let wrong: Vec<usize> = facts
        .actions
        .iter()
        .enumerate()
        .filter(|(i, (_, r))| {
            let must_refuse = refusing == Some(*i);
            (r.exit_code != 0) != must_refuse
        })
        .map(|(i, _)| i)
        .collect();
    out.record(
        "op.actions",
        wrong.is_empty(),
        || {
            json!(
                facts
                    .actions
                    .iter()
                    .map(|(a, r)| json!({ "command": a.command(), "exit_code": r.exit_code }))
                    .collect::<Vec<_>>()
            )
        },
        || {
            json!(
                facts
                    .actions
                    .iter()
                    .enumerate()
                    .map(|(i, (a, _))| json!({
                        "command": a.command(),
                        "exit_code": if refusing == Some(i) { json!("non-zero") } else { json!(0) },
                    }))
                    .collect::<Vec<_>>()
            )
        },
        || {
            wrong
                .iter()
                .map(|&i| {
                    let (a, r) = &facts.actions[i];
                    if refusing == Some(i) {
                        format!("`{}` should have refused but exited 0", a.command())
                    } else {
                        format!(
                            "`{}` exited {}: {}",
                            a.command(),
                            r.exit_code,
                            gist(&r.output)
                        )
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
    );

    if let Some(fault) = facts.fault {
        out.record(
            "op.during",
            fault.reached,
            || {
                let mut v = shown(op, fault.observation);
                v["seconds"] = json!(fault.seconds);
                v
            },
            || during_expected(op),
            || {
                format!(
                    "after `{}` the box did not show the fault within {:.0}s: {}",
                    op.name,
                    op.during.within,
                    shown(op, fault.observation)
                )
            },
        );
    }

    if let (Some(i), Some((before, after))) = (refusing, facts.refusal) {
        let (action, result) = &facts.actions[i];
        let touched = Touched::between(before, after);
        out.record(
            "op.refused",
            result.exit_code != 0 && touched.is_empty(),
            || json!({ "exit_code": result.exit_code, "touched": touched.all() }),
            || json!({ "exit_code": "non-zero", "touched": [] }),
            || {
                let mut why = Vec::new();
                if result.exit_code == 0 {
                    why.push("exited 0".to_string());
                }
                if !touched.is_empty() {
                    why.push(format!("touched {}", touched.all().join(", ")));
                }
                format!("`{}` did not refuse: {}", action.command(), why.join("; "))
            },
        );
    }

    if let Some(r) = &op.readmit {
        let gap = facts.readmit.gap();
        out.record(
            "op.readmit",
            gap.is_some_and(|g| g >= r.stable),
            || json!({ "healthy_for_at_most": gap, "running_at": facts.readmit.running_at }),
            || json!({ "healthy_for_at_least": r.stable }),
            || match gap {
                Some(g) => format!(
                    "{} was readmitted after {} had been healthy for at most {g:.0}s, \
                     the window is {:.0}s",
                    r.service, r.after, r.stable
                ),
                None => format!(
                    "never saw {} healthy and then {} running again",
                    r.after, r.service
                ),
            },
        );
    }

    let (seen, want) = facts.config_sha256;
    out.record(
        "op.config",
        seen == want,
        || json!(seen),
        || json!(want),
        || {
            if op.changes_config() {
                "config.json is not the one the backup holds".to_string()
            } else {
                format!("`{}` changed config.json", op.name)
            }
        },
    );
}
