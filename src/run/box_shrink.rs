//! A failure found on a box, shrunk on that box (`canary run --target local|ssh --shrink`):
//! the failing walk's steps up to the failing one are run again from the box's baseline
//! through a [`BoxSession`] (the box brought back and verified before each candidate, every
//! apply counted), shrunk within the budgets, and the minimal sequence confirmed again before
//! it may be saved. Ctrl-C or SIGTERM drops the running candidate and stops the shrink; the
//! caller restores the box as after any run.
//!
//! The shrinker is synchronous: call this outside the runtime (each candidate is one
//! `block_on`).

use std::path::Path;

use anyhow::Context;

use crate::model::{Config, Model, OpGroup, Supplied, Transition};
use crate::oracle;
use crate::plan::Step;
use crate::safety::{self, Snapshot};
use crate::shrink::{self, Failure, Oracle, ShrinkOptions, ShrinkReport, Signature};
use crate::signal::{Interrupt, Signals};
use crate::target::Target;
use crate::target::box_target::BoxTarget;

use super::box_run::{BoxCtx, Ended};
use super::box_session::{BlockingOracle, BoxSession, Confirmation};
use super::{RunError, RunOptions};

/// What shrinking on the box came to.
#[derive(Debug)]
pub enum BoxShrunk {
    /// Run again from the baseline, the walk's failure did not fail the same way every time:
    /// nothing to shrink (reported, never saved).
    NotReproduced { applies: usize },
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
    },
    /// A signal or a box error stopped it.
    Stopped {
        why: String,
        interrupted: Option<Interrupt>,
        applies: usize,
    },
}

/// Shrinks `failing` (the walk's steps up to and including the failing one) on `target`,
/// whose baseline holds `start`.
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
                });
            }
            // The sim's minimum does not fail on the box: shrink on the box after all.
        }
    }
    let mut session = runtime
        .block_on(BoxSession::open(target, model, supplied, start, options))
        .map_err(|source| RunError::Target { step: None, source })?;
    let mut oracle = BlockingOracle::new(runtime, &mut session);
    if let Some(s) = signals {
        oracle = oracle.with_signals(s);
    }
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
            drop(oracle);
            return Ok(BoxShrunk::Stopped {
                why,
                interrupted,
                applies: session.applies,
            });
        }
        shrink::Confirmation::Flaky { .. } => {
            drop(oracle);
            return Ok(BoxShrunk::NotReproduced {
                applies: session.applies,
            });
        }
        shrink::Confirmation::Reproduced { failure, .. } => failure,
    };
    let report = shrink::shrink(model, supplied, &failure, &mut oracle, budget);
    if let Some((why, interrupted)) = stopped(&mut oracle) {
        drop(oracle);
        return Ok(BoxShrunk::Stopped {
            why,
            interrupted,
            applies: session.applies,
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

/// The settings of a shrink after a failing box walk (`canary run --shrink`).
pub struct AfterWalk<'a> {
    /// Budget in applies (candidates, confirmations and restores).
    pub max_applies: usize,
    /// Budget in wall time.
    pub max_time: humantime::Duration,
    /// Runs of the minimal sequence that must all fail the same way before it is saved.
    pub confirm_runs: usize,
    /// The operation groups the walk was planned with.
    pub operations: Vec<OpGroup>,
    /// The target's name for the saved regression (`local`, `ssh`).
    pub target_kind: &'a str,
    /// Where a confirmed minimal sequence is saved.
    pub regressions: &'a Path,
}

/// `--shrink` on a box: after the walk (and its restore), the first failure that is neither
/// drift nor a deadline is shrunk on the box, confirmed, saved, and the box restored again.
pub fn shrink_after_walk(
    rt: &tokio::runtime::Runtime,
    target: &mut BoxTarget,
    ctx: &BoxCtx<'_>,
    args: &AfterWalk<'_>,
    ended: &mut Ended,
) -> anyhow::Result<()> {
    let Ok(outcome) = &ended.result else {
        return Ok(());
    };
    if ended.interrupted.is_some() || !ended.restore_ok || outcome.passed() {
        return Ok(());
    }
    let Some(failure) = outcome.failures.iter().find(|f| {
        f.verdict.check != oracle::drift::CHECK && !f.verdict.check.starts_with("deadline.")
    }) else {
        println!("shrink: nothing to shrink (only drift or deadline verdicts failed)");
        return Ok(());
    };
    let failing: Vec<Transition> = ctx.steps[..=failure.step]
        .iter()
        .map(Step::transition)
        .collect();
    let signature = crate::fuzz::signature_of(&failure.verdict);
    println!(
        "shrink: {} at step {} on the box ({} steps; at most {} applies, {})",
        signature,
        failure.step + 1,
        failing.len(),
        args.max_applies,
        args.max_time
    );
    let budget = ShrinkOptions {
        max_applies: Some(args.max_applies),
        max_time: Some(*args.max_time),
        verify: true,
        operations: args.operations.clone(),
    };
    let signals = rt.block_on(async { Signals::install() })?;
    let shrunk = shrink_on_box(
        rt,
        target,
        ctx.model,
        ctx.supplied,
        ctx.start.clone(),
        ctx.options,
        &failing,
        &signature,
        &budget,
        args.confirm_runs,
        Some(signals),
    );
    match shrunk {
        Ok(BoxShrunk::NotReproduced { applies }) => println!(
            "shrink: run again from the baseline it did not fail the same way ({applies} applies): not saved"
        ),
        Ok(BoxShrunk::Stopped {
            why,
            interrupted,
            applies,
        }) => {
            println!("shrink: stopped after {applies} applies: {why}");
            ended.interrupted = ended.interrupted.or(interrupted);
        }
        Ok(BoxShrunk::Shrunk {
            report,
            shrunk_on,
            sim_reproduces,
            confirmation,
            applies,
        }) => {
            match sim_reproduces {
                Some(true) if shrunk_on == "box" => println!(
                    "shrink: the simulated stack reproduces it, but its minimum does not fail on the box: shrunk on the box"
                ),
                Some(true) => println!(
                    "shrink: the simulated stack reproduces it: shrunk on the sim ({} sim applies), confirmed on the box",
                    report.applies
                ),
                Some(false) => println!(
                    "shrink: the simulated stack does not reproduce it (the sim and the box disagree): shrunk on the box"
                ),
                None => println!("shrink: the box's baseline is not the sim's: shrunk on the box"),
            }
            println!(
                "shrink: {} -> {} steps (shrunk on the {shrunk_on}) in {applies} applies on the box{}; confirmed {}/{}",
                failing.len(),
                report.minimal.len(),
                if report.budget_exhausted {
                    " (budget spent)"
                } else {
                    ""
                },
                confirmation.reproduced,
                confirmation.runs
            );
            for (i, t) in crate::regress::saved_steps(ctx.model, ctx.start, &report.minimal)
                .iter()
                .enumerate()
            {
                println!("  {}. {}", i + 1, t.describe());
            }
            if confirmation.confirmed() {
                let r = crate::regress::Regression::from_box_failure(
                    ctx.model,
                    args.target_kind,
                    ctx.start,
                    &report.minimal,
                    &failure.verdict,
                    &args.operations,
                    crate::regress::BoxManifest::from_description(&target.describe()),
                );
                let path = r.save(args.regressions).with_context(|| {
                    format!(
                        "cannot save the regression in {}",
                        args.regressions.display()
                    )
                })?;
                println!("shrink: saved {}", path.display());
            } else {
                println!(
                    "shrink: flaky ({}/{} confirmations failed the same way): not saved",
                    confirmation.reproduced, confirmation.runs
                );
            }
        }
        Err(e) => println!("shrink: the box failed: {e}"),
    }
    // The shrink leaves the box at its baseline; the snapshot's restore verifies it.
    let snap = Snapshot::load(ctx.out)?.ok_or_else(|| {
        anyhow::anyhow!("the run's snapshot is missing from {}", ctx.out.display())
    })?;
    let restore_opts = ctx.restore_options();
    match rt.block_on(safety::restore(target, &snap, &restore_opts)) {
        Ok(r) if r.is_clean() => println!("shrink: box restored and verified"),
        Ok(r) => {
            eprintln!(
                "canary: !!! after the shrink the box is NOT back: {}",
                r.differences.join("; ")
            );
            ended.restore_ok = false;
        }
        Err(e) => {
            eprintln!("canary: !!! after the shrink the box could not be restored: {e}");
            ended.restore_ok = false;
        }
    }
    Ok(())
}
