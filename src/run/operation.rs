//! Performing an operation step: its fault actions, the wait for the fault to show, its
//! recovery actions; and the cold change, whose hot apply must be refused before `pithead
//! down` and the apply that moves the box.
//!
//! The recovery runs in the same step as the fault whatever happens in between (a fault that
//! never shows, a command that fails), so a walk never leaves a node stopped between steps.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{ReadinessPolicy, RunError, Sink, seconds};
use crate::journal::Event;
use crate::model::{Action, Operation};
use crate::oracle::{self, FaultSeen, ReadmitSeen};
use crate::target::{CommandResult, Observation, RunState, Target};

/// What happened during an operation, before readiness polling.
pub(super) struct OpRun {
    pub actions: Vec<(Action, CommandResult)>,
    /// The fault phase: reached, seconds, last observation.
    pub fault: Option<(bool, f64, Observation)>,
    /// The box just before and just after the refusing command.
    pub refusal: Option<(Observation, Observation)>,
    /// Target clock when the recovery actions began: nothing recovered before it.
    pub recovery_started: Duration,
}

impl OpRun {
    pub fn fault_seen(&self) -> Option<FaultSeen<'_>> {
        self.fault.as_ref().map(|(reached, secs, obs)| FaultSeen {
            reached: *reached,
            seconds: *secs,
            observation: obs,
        })
    }
}

/// sha256 of a config.json document, hex: what `op.config` compares (never the content).
pub(super) fn config_sha256(doc: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(doc.to_string().as_bytes()))
}

pub(super) async fn act<T: Target, S: Sink>(
    target: &mut T,
    index: usize,
    action: &Action,
    sink: &mut S,
) -> Result<CommandResult, RunError> {
    let start = target.elapsed();
    let result = target
        .act(action)
        .await
        .map_err(|source| RunError::Target {
            step: Some(index),
            source,
        })?;
    if sink.journaling() {
        sink.event(Event::Action {
            step: index,
            command: action.command(),
            result: result.clone(),
            seconds: seconds(target.elapsed().saturating_sub(start)),
        })?;
    }
    Ok(result)
}

/// Runs the fault actions, waits (on the target's clock) for the fault to show, then runs the
/// recovery actions. A target error during the fault still attempts the recovery before it is
/// returned.
pub(super) async fn perform<T: Target, S: Sink>(
    target: &mut T,
    index: usize,
    op: &Operation,
    policy: &ReadinessPolicy,
    sink: &mut S,
) -> Result<OpRun, RunError> {
    let (fault_actions, recovery) = op.actions();
    let mut run = OpRun {
        actions: Vec::with_capacity(fault_actions.len() + recovery.len()),
        fault: None,
        refusal: None,
        recovery_started: Duration::ZERO,
    };
    let faulted = fault_phase(target, index, op, &fault_actions, policy, sink, &mut run).await;
    run.recovery_started = target.elapsed();
    for action in &recovery {
        let result = act(target, index, action, sink).await?;
        run.actions.push((action.clone(), result));
    }
    faulted?;
    Ok(run)
}

async fn fault_phase<T: Target, S: Sink>(
    target: &mut T,
    index: usize,
    op: &Operation,
    fault_actions: &[Action],
    policy: &ReadinessPolicy,
    sink: &mut S,
    run: &mut OpRun,
) -> Result<(), RunError> {
    let err = |source| RunError::Target {
        step: Some(index),
        source,
    };
    for (i, action) in fault_actions.iter().enumerate() {
        let refusing = op.refuses == Some(i);
        let before = if refusing {
            Some(target.observe().await.map_err(err)?)
        } else {
            None
        };
        let result = act(target, index, action, sink).await?;
        if let Some(before) = before {
            let after = target.observe().await.map_err(err)?;
            run.refusal = Some((before, after));
        }
        run.actions.push((action.clone(), result));
    }
    if op.during.is_empty() {
        return Ok(());
    }
    let within = Duration::from_secs_f64(op.during.within);
    let (obs, reached, waited, polls) = crate::target::poll_until(
        target,
        within,
        policy.first_poll,
        policy.max_poll,
        |o, _, _| oracle::fault_shows(op, o),
    )
    .await
    .map_err(err)?;
    if sink.journaling() {
        sink.event(Event::Fault {
            step: index,
            reached,
            seconds: seconds(waited),
            polls,
        })?;
    }
    run.fault = Some((reached, seconds(waited), obs));
    Ok(())
}

/// Follows the readmission of `op.readmit` across the readiness polls: when its node was
/// first seen healthy (and the poll before, the earliest it can have turned healthy), and
/// when the readmitted service was first seen running again after that.
pub(super) struct ReadmitWatch<'a> {
    service: &'a str,
    after: &'a str,
    stable: f64,
    last_poll: Option<f64>,
    seen: ReadmitSeen,
}

impl<'a> ReadmitWatch<'a> {
    pub fn new(op: &'a Operation) -> Option<ReadmitWatch<'a>> {
        op.readmit.as_ref().map(|r| ReadmitWatch {
            service: &r.service,
            after: &r.after,
            stable: r.stable,
            last_poll: None,
            seen: ReadmitSeen::default(),
        })
    }

    /// One poll at `at` seconds since the step began.
    pub fn poll(&mut self, obs: &Observation, at: f64) {
        let find = |name: &str| obs.containers.iter().find(|c| c.name == name);
        let node_healthy = find(self.after).is_some_and(|c| {
            c.state == RunState::Running && c.health.as_deref().is_none_or(|h| h == "healthy")
        });
        let service_running = find(self.service).is_some_and(|c| c.state == RunState::Running);
        if !node_healthy {
            // A relapse restarts the window.
            self.seen.healthy_after = None;
        } else if self.seen.healthy_after.is_none() {
            self.seen.healthy_after = Some(self.last_poll.unwrap_or(at));
        }
        if self.seen.running_at.is_none() && service_running && self.seen.healthy_after.is_some() {
            self.seen.running_at = Some(at);
        }
        self.last_poll = Some(at);
    }

    /// Whether the readmission may still legitimately come at `at` seconds since the step
    /// began: the node is healthy again but the service is not yet back, and its stable window
    /// (with slack for the failover's own polling) has not run out. A box that looks settled
    /// then is still on its way, not wrong.
    pub fn readmission_pending(&self, at: f64) -> bool {
        match (self.seen.healthy_after, self.seen.running_at) {
            (Some(healthy), None) => at < healthy + self.stable * 1.5 + 10.0,
            _ => false,
        }
    }

    /// The recovery began at `at` seconds since the step began: the node cannot have turned
    /// healthy before, so that is the earliest a first healthy sighting can date from.
    pub fn recovery_began(&mut self, at: f64) {
        self.last_poll = Some(at);
    }

    pub fn seen(&self) -> ReadmitSeen {
        self.seen
    }
}
