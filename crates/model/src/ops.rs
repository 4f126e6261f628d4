//! Operations: steps of a walk that are not config applies (pithead-model.md §3.2, §5.2, §5.3).
//!
//! An operation is a fixed sequence of box actions (a restart, `down` then `up`, stopping a
//! service then starting it again, ...) with what must hold while its fault is in place and
//! what its recovery must bring back. Every destructive operation carries its own recovery in
//! the same step, so a run that stops between steps never leaves a node stopped. The planner
//! covers each operation in every state class it names; the fuzzer mixes operations into its
//! sequences; the runner performs them through the targets' `act`.

use serde::{Deserialize, Serialize};

use super::expr::Expr;
pub use pithead_contract::action::Action;

/// What an operation does on the box, as the runner performs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// `pithead restart [service]`: `compose restart`, old container args kept (#273).
    Restart,
    /// `pithead down` then `pithead up`.
    DownUp,
    /// `pithead backup -y --no-encrypt` (stops all but caddy while it runs, then restarts).
    Backup,
    /// `pithead down`, `pithead restore -y <the last backup>`, `pithead up`: the box goes back
    /// to the config of the last backup.
    Restore,
    /// `compose stop <service>` then, once the fault is seen, `compose start <service>`.
    StopStart,
    /// `compose kill -s SIGSTOP <service>` then `SIGCONT`.
    FreezeThaw,
    /// `compose rm -sf <service>` then `compose up -d <service>`.
    RemoveUp,
    /// Empty PROXY_AUTH_TOKEN in .env, `pithead up` (must refuse and touch nothing), restore
    /// the exact token, `pithead up` (#153, #203).
    EmptyTokenUp,
}

impl OpKind {
    pub const ALL: [OpKind; 8] = [
        OpKind::Restart,
        OpKind::DownUp,
        OpKind::Backup,
        OpKind::Restore,
        OpKind::StopStart,
        OpKind::FreezeThaw,
        OpKind::RemoveUp,
        OpKind::EmptyTokenUp,
    ];

    /// The name used in model files.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Restart => "restart",
            OpKind::DownUp => "down-up",
            OpKind::Backup => "backup",
            OpKind::Restore => "restore",
            OpKind::StopStart => "stop-start",
            OpKind::FreezeThaw => "freeze-thaw",
            OpKind::RemoveUp => "remove-up",
            OpKind::EmptyTokenUp => "empty-token-up",
        }
    }

    pub fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the kind acts on one service (which the operation must then name).
    pub fn needs_service(self) -> bool {
        matches!(
            self,
            OpKind::StopStart | OpKind::FreezeThaw | OpKind::RemoveUp
        )
    }

    /// The box actions before the fault is judged, then the recovery actions.
    pub fn actions(self, service: Option<&str>) -> (Vec<Action>, Vec<Action>) {
        let svc = || service.unwrap_or_default().to_string();
        match self {
            OpKind::Restart => (
                vec![Action::Restart {
                    service: service.map(str::to_string),
                }],
                vec![],
            ),
            OpKind::DownUp => (vec![Action::Down], vec![Action::Up]),
            OpKind::Backup => (vec![Action::Backup], vec![]),
            OpKind::Restore => (vec![Action::Down, Action::Restore], vec![Action::Up]),
            OpKind::StopStart => (vec![Action::Stop(svc())], vec![Action::Start(svc())]),
            OpKind::FreezeThaw => (vec![Action::Freeze(svc())], vec![Action::Thaw(svc())]),
            OpKind::RemoveUp => (vec![Action::Remove(svc())], vec![Action::UpService(svc())]),
            OpKind::EmptyTokenUp => (
                vec![Action::EmptyProxyToken, Action::Up],
                vec![Action::RestoreProxyToken, Action::Up],
            ),
        }
    }
}

/// Which `--operations` group an operation belongs to. A live box runs none unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpGroup {
    /// Restart, down/up, backup and restore: what an operator does.
    Lifecycle,
    /// Outages and refusals: a node stopped, frozen or removed, an emptied token.
    Faults,
}

impl OpGroup {
    pub fn name(self) -> &'static str {
        match self {
            OpGroup::Lifecycle => "lifecycle",
            OpGroup::Faults => "faults",
        }
    }

    pub fn from_name(name: &str) -> Option<OpGroup> {
        match name {
            "lifecycle" => Some(OpGroup::Lifecycle),
            "faults" => Some(OpGroup::Faults),
            _ => None,
        }
    }

    /// Every group, in order.
    pub const ALL: [OpGroup; 2] = [OpGroup::Lifecycle, OpGroup::Faults];

    /// Parses an `--operations` list: `lifecycle`, `faults`, both comma-separated, `all` or
    /// `none`.
    pub fn parse_list(list: &str) -> Result<Vec<OpGroup>, String> {
        let mut out = Vec::new();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "none" => {}
                "all" => out.extend(OpGroup::ALL),
                w => out.push(OpGroup::from_name(w).ok_or_else(|| {
                    format!("unknown operation group '{w}': use lifecycle, faults, all or none")
                })?),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The `--operations` value that [`OpGroup::parse_list`] reads back as `groups`.
    pub fn list_name(groups: &[OpGroup]) -> String {
        if groups.is_empty() {
            "none".into()
        } else {
            groups
                .iter()
                .map(|g| g.name())
                .collect::<Vec<_>>()
                .join(",")
        }
    }
}

/// What must hold while the fault of an operation is in place, within `within` seconds of
/// its last fault action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct During {
    /// `pithead status` exit code.
    pub status_exit: Option<i32>,
    /// Services that must not be running (exited, stopped by the dashboard's failover).
    pub stopped: Vec<String>,
    /// Services that must be running but unhealthy.
    pub unhealthy: Vec<String>,
    /// Services whose container must be gone.
    pub missing: Vec<String>,
    /// Seconds on the target's clock the fault may take to show.
    pub within: f64,
}

impl During {
    pub fn is_empty(&self) -> bool {
        self.status_exit.is_none()
            && self.stopped.is_empty()
            && self.unhealthy.is_empty()
            && self.missing.is_empty()
    }
}

/// A hysteresis the recovery must respect: `service` may run again only once `after` has been
/// healthy for `stable` seconds (the dashboard's readmission of workers, #31).
#[derive(Debug, Clone, PartialEq)]
pub struct Readmit {
    pub service: String,
    pub after: String,
    pub stable: f64,
}

/// One operation of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Unique name (`node-down`, `restart-tor`), used on the command line and in journals.
    pub name: String,
    pub kind: OpKind,
    /// The service a per-service kind acts on.
    pub service: Option<String>,
    pub group: OpGroup,
    /// One line for `canary model` and reports.
    pub help: String,
    /// The operation is only planned or generated where this holds on the effective config.
    pub requires: Option<Expr>,
    /// The source text of `requires`.
    pub requires_text: Option<String>,
    /// Axes whose effective values make the state classes the planner covers the operation in
    /// (each combination that some allowed config satisfying `requires` holds).
    pub classes: Vec<usize>,
    /// Rough seconds the operation takes on a real box; prices a step.
    pub cost: f64,
    /// What must hold while the fault is in place.
    pub during: During,
    /// The command that must refuse (its exit non-zero, no container touched): the index of
    /// that action among the fault actions.
    pub refuses: Option<usize>,
    /// Services the operation restarts (same container, new start) when all goes well.
    pub restarts: Vec<String>,
    /// Services it may also restart (a failover that may or may not trigger in its window).
    pub may_restart: Vec<String>,
    /// Services it recreates (new container).
    pub recreates: Vec<String>,
    pub readmit: Option<Readmit>,
}

impl Operation {
    /// Whether the operation may run on a box whose effective config is `effective`.
    pub fn allowed_on(&self, effective: &[u16]) -> bool {
        self.requires.as_ref().is_none_or(|r| r.holds(effective))
    }

    /// The box actions before the fault is judged, then the recovery actions.
    pub fn actions(&self) -> (Vec<Action>, Vec<Action>) {
        self.kind.actions(self.service.as_deref())
    }

    /// Whether it leaves the box at another config than it found it (a restore).
    pub fn changes_config(&self) -> bool {
        self.kind == OpKind::Restore
    }

    /// Whether it needs an earlier backup in the same walk.
    pub fn needs_backup(&self) -> bool {
        self.kind == OpKind::Restore
    }
}

/// `[[operation]]` as written in a model file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOperation {
    pub name: String,
    pub kind: String,
    pub service: Option<String>,
    pub group: String,
    #[serde(default)]
    pub help: String,
    pub requires: Option<String>,
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default)]
    pub cost: f64,
    pub during: Option<RawDuring>,
    pub refuses: Option<usize>,
    #[serde(default)]
    pub restarts: Vec<String>,
    #[serde(default)]
    pub may_restart: Vec<String>,
    #[serde(default)]
    pub recreates: Vec<String>,
    pub readmit: Option<RawReadmit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDuring {
    pub status_exit: Option<i32>,
    #[serde(default)]
    pub stopped: Vec<String>,
    #[serde(default)]
    pub unhealthy: Vec<String>,
    #[serde(default)]
    pub missing: Vec<String>,
    pub within: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReadmit {
    pub service: String,
    pub after: String,
    pub stable: f64,
}

/// One step of a walk as the fuzzer, the shrinker and regressions describe it: apply a raw
/// config, or perform an operation of the model (by index into [`super::Model::operations`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Transition {
    Apply(super::Config),
    Operate(u16),
}

impl Transition {
    /// The raw config an apply writes.
    pub fn config(&self) -> Option<&super::Config> {
        match self {
            Transition::Apply(c) => Some(c),
            Transition::Operate(_) => None,
        }
    }

    /// The operation index of an operation step.
    pub fn operation(&self) -> Option<usize> {
        match self {
            Transition::Apply(_) => None,
            Transition::Operate(i) => Some(*i as usize),
        }
    }
}

impl super::Model {
    /// The model with its operation windows scaled by `factor` (`canary run --op-timescale`):
    /// how long a fault may take to show (`during.within`) and how long a node must stay
    /// healthy before readmission (`readmit.stable`), for a box whose dashboard runs faster
    /// timers than Pithead's. Only the expectations move; the box is asked nothing, so it
    /// cannot lower the bar it is judged by.
    pub fn with_operation_timescale(&self, factor: f64) -> super::Model {
        let mut m = self.clone();
        for op in &mut m.operations {
            op.during.within *= factor;
            if let Some(r) = &mut op.readmit {
                r.stable *= factor;
            }
        }
        m
    }

    /// Index of the operation with this name.
    pub fn operation_index(&self, name: &str) -> Option<usize> {
        self.operations.iter().position(|o| o.name == name)
    }

    /// The operations' names, comma-separated: what an error about an unknown one lists.
    pub fn operation_names(&self) -> String {
        self.operations
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What an operation touches, from the effective config before it to the one after (the
    /// same but for a restore). `*` in the model's lists means every container of the config
    /// after, `-name` takes one out.
    pub fn predict_operation(
        &self,
        op: &Operation,
        before: &super::Config,
        after: &super::Config,
        supplied: &super::Supplied,
    ) -> super::Prediction {
        let a = self.render(before, supplied);
        let b = self.render(after, supplied);
        let expand = |list: &[String]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for item in list {
                if item == "*" {
                    out.extend(b.services.iter().cloned());
                } else if let Some(gone) = item.strip_prefix('-') {
                    out.retain(|s| s != gone);
                } else if b.services.contains(item) {
                    out.push(item.clone());
                }
            }
            out.sort();
            out.dedup();
            out
        };
        let created: Vec<String> = b
            .services
            .iter()
            .filter(|s| !a.services.contains(s))
            .cloned()
            .collect();
        let removed: Vec<String> = a
            .services
            .iter()
            .filter(|s| !b.services.contains(s))
            .cloned()
            .collect();
        let recreated: Vec<String> = expand(&op.recreates)
            .into_iter()
            .filter(|s| !created.contains(s))
            .collect();
        let restarted: Vec<String> = expand(&op.restarts)
            .into_iter()
            .filter(|s| !recreated.contains(s) && !created.contains(s))
            .collect();
        let may_restart = expand(&op.may_restart)
            .into_iter()
            .filter(|s| !restarted.contains(s))
            .collect();
        let changed_env = a
            .env
            .keys()
            .chain(b.env.keys())
            .filter(|k| a.env.get(*k) != b.env.get(*k))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        super::Prediction {
            changed_env,
            created,
            removed,
            recreated,
            restarted,
            may_restart,
            cold: false,
            cost: op.cost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_group_lists_parse_and_print_back() {
        use OpGroup::*;
        assert_eq!(
            OpGroup::parse_list("faults, lifecycle,faults"),
            Ok(vec![Lifecycle, Faults])
        );
        assert_eq!(OpGroup::parse_list("all"), Ok(vec![Lifecycle, Faults]));
        assert_eq!(OpGroup::parse_list("none"), Ok(vec![]));
        assert_eq!(OpGroup::parse_list(""), Ok(vec![]));
        let e = OpGroup::parse_list("lifecycle,chaos").unwrap_err();
        assert!(
            e.contains("'chaos'") && e.contains("lifecycle, faults"),
            "{e}"
        );
        for groups in [vec![], vec![Faults], vec![Lifecycle, Faults]] {
            assert_eq!(
                OpGroup::parse_list(&OpGroup::list_name(&groups)),
                Ok(groups)
            );
        }
    }
}
