//! A failure found on a box, shrunk on that box (`canary run --target local|ssh --shrink`):
//! the failing walk's steps up to the failing one are run again from the box's baseline
//! through a [`BoxSession`] (the box brought back and verified before each candidate, every
//! apply counted), shrunk within the budgets, and the minimal sequence confirmed again before
//! it may be saved. Ctrl-C or SIGTERM drops the running candidate and stops the shrink; the
//! caller restores the box as after any run. Each candidate judged on the box is handed to a
//! log (the run journal's `shrink_candidate` lines), and candidates judged before (a resumed
//! shrink's) are answered from them without an apply ([`super::shrink_journal`]).
//!
//! The shrinker is synchronous: call this outside the runtime (each candidate is one
//! `block_on`).

use crate::model::{Config, Model, Supplied, Transition};

use crate::shrink::{self, Failure, Oracle, ShrinkOptions, ShrinkReport, Signature};
use crate::signal::{Interrupt, Signals};
use crate::target::Target;

use super::box_session::{BlockingOracle, BoxSession, Confirmation};
use super::shrink_journal::{CandidateLog, Known};
use super::{RunError, RunOptions};

/// Candidates a resumed shrink answered from its journal instead of running them on the box.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reused {
    pub candidates: usize,
    /// The box applies those candidates had spent when they were judged.
    pub applies: usize,
}

/// What shrinking on the box came to.
#[derive(Debug)]
pub enum BoxShrunk {
    /// Run again from the baseline, the walk's failure did not fail the same way every time:
    /// nothing to shrink (reported, never saved).
    NotReproduced { applies: usize, reused: Reused },
    /// Shrunk, and the minimal sequence run `confirmation.runs` more times on the box.
    Shrunk {
        report: ShrinkReport<Transition>,
        /// Where it was shrunk: `sim` when the simulated stack reproduced the failure (the
        /// box then only confirms), else `box`.
        shrunk_on: &'static str,
        /// Whether the simulated stack reproduced the box's failure (`None`: not tried, the
        /// box's baseline is not the sim's).
        sim_reproduces: Option<bool>,
        confirmation: Confirmation,
        /// Every apply spent on the box: candidates, confirmations, restores to the baseline.
        applies: usize,
        reused: Reused,
    },
    /// A signal or a box error stopped it.
    Stopped {
        why: String,
        interrupted: Option<Interrupt>,
        applies: usize,
        reused: Reused,
    },
}

/// Shrinks `failing` (the walk's steps up to and including the failing one) on `target`,
/// whose baseline holds `start`. `known` answers candidates judged before; `log` records
/// each one judged now.
#[allow(clippy::too_many_arguments)]
pub fn shrink_on_box<T: Target>(
    runtime: &tokio::runtime::Runtime,
    target: &mut T,
    model: &Model,
    supplied: &Supplied,
    start: Config,
    options: &RunOptions,
    failing: &[Transition],
    signature: &Signature,
    budget: &ShrinkOptions,
    confirm_runs: usize,
    signals: Option<Signals>,
    known: Known,
    log: Option<CandidateLog<'_>>,
) -> Result<BoxShrunk, RunError> {
    // The cheapest target that reproduces it shrinks it: the sim, when it starts where the
    // box does and fails the same way at the same step; the box then only confirms.
    let mut sim_reproduces = None;
    if start == model.default_config()
        && let Ok(mut sim) =
            crate::fuzz::SimOracle::new(model, supplied, crate::rng::Seed::from_u64(0), &[])
    {
        sim.want = Some(signature.clone());
        let at = failing.len() - 1;
        let reproduces = sim.run(failing).fails_with(signature) == Some(at);
        sim_reproduces = Some(reproduces);
        if reproduces {
            let failure = Failure {
                steps: failing.to_vec(),
                signature: signature.clone(),
                failed_at: at,
            };
            let report = shrink::shrink(model, supplied, &failure, &mut sim, budget);
            let mut session = runtime
                .block_on(BoxSession::open(
                    target,
                    model,
                    supplied,
                    start.clone(),
                    options,
                ))
                .map_err(|source| RunError::Target { step: None, source })?;
            let confirmation = confirm_minimal(
                runtime,
                &mut session,
                &report.minimal,
                signature,
                confirm_runs,
            )?;
            if confirmation.confirmed() {
                return Ok(BoxShrunk::Shrunk {
                    report,
                    shrunk_on: "sim",
                    sim_reproduces,
                    confirmation,
                    applies: session.applies,
                    reused: Reused::default(),
                });
            }
            // The sim's minimum does not fail on the box: shrink on the box after all.
        }
    }
    let mut session = runtime
        .block_on(BoxSession::open(target, model, supplied, start, options))
        .map_err(|source| RunError::Target { step: None, source })?;
    let mut oracle = BlockingOracle::new(runtime, &mut session).with_known(known);
    if let Some(s) = signals {
        oracle = oracle.with_signals(s);
    }
    if let Some(log) = log {
        oracle = oracle.with_log(log);
    }
    let reused = |oracle: &BlockingOracle<'_, '_, '_, '_, T>| Reused {
        candidates: oracle.reused,
        applies: oracle.reused_applies,
    };
    let reproduced = shrink::confirm(failing, signature, &mut oracle, 1);
    let stopped = |oracle: &mut BlockingOracle<'_, '_, '_, '_, T>| {
        oracle
            .error
            .take()
            .map(|e| (e.to_string(), oracle.interrupted))
    };
    let failure: Failure<Transition> = match reproduced {
        _ if oracle.error.is_some() => {
            let (why, interrupted) = stopped(&mut oracle).expect("checked");
            let reused = reused(&oracle);
            drop(oracle);
            return Ok(BoxShrunk::Stopped {
                why,
                interrupted,
                applies: session.applies,
                reused,
            });
        }
        shrink::Confirmation::Flaky { .. } => {
            let reused = reused(&oracle);
            drop(oracle);
            return Ok(BoxShrunk::NotReproduced {
                applies: session.applies,
                reused,
            });
        }
        shrink::Confirmation::Reproduced { failure, .. } => failure,
    };
    let report = shrink::shrink(model, supplied, &failure, &mut oracle, budget);
    let reused = reused(&oracle);
    if let Some((why, interrupted)) = stopped(&mut oracle) {
        drop(oracle);
        return Ok(BoxShrunk::Stopped {
            why,
            interrupted,
            applies: session.applies,
            reused,
        });
    }
    drop(oracle);
    let confirmation = confirm_minimal(
        runtime,
        &mut session,
        &report.minimal,
        signature,
        confirm_runs,
    )?;
    Ok(BoxShrunk::Shrunk {
        report,
        shrunk_on: "box",
        sim_reproduces,
        confirmation,
        applies: session.applies,
        reused,
    })
}

/// Runs `minimal` `runs` more times on the box, each from the baseline, then leaves the box
/// at its baseline again (as the walk's restore left it), confirmed or not.
fn confirm_minimal<T: Target>(
    runtime: &tokio::runtime::Runtime,
    session: &mut BoxSession<'_, '_, T>,
    minimal: &[Transition],
    signature: &Signature,
    runs: usize,
) -> Result<Confirmation, RunError> {
    let at = minimal.len().saturating_sub(1);
    let confirmation = runtime.block_on(session.confirm(minimal, signature, at, runs))?;
    runtime
        .block_on(session.back_to_baseline())
        .map_err(|source| RunError::Target { step: None, source })?;
    Ok(confirmation)
}
