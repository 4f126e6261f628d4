//! A failed box walk's shrink from start to end (`canary run --shrink`, and `--resume` of one
//! that was interrupted): the candidates journaled as they are judged
//! ([`super::shrink_journal`]), the outcome printed, a confirmed minimum saved as a
//! regression, and the box restored from the run's snapshot and verified.

use std::path::{Path, PathBuf};

use crate::journal::{Event, JournalWriter};
use crate::model::{Config, Model, OpGroup, Supplied, Transition};
use crate::oracle;
use crate::safety::{self, RestoreOptions, Snapshot};
use crate::shrink::ShrinkOptions;
use crate::signal::{Interrupt, Signals};
use crate::target::Target;
use crate::target::box_target::BoxTarget;

use super::RunOptions;
use super::box_run::{BoxCtx, Ended};
use super::box_shrink::{BoxShrunk, Reused, shrink_on_box};
use super::shrink_journal::{CandidateLog, Known, candidate_event};

/// The run a shrink belongs to: its model, the walk and where the run keeps its files.
pub struct ShrinkRun<'a> {
    pub model: &'a Model,
    pub supplied: &'a Supplied,
    /// The config the box's baseline holds.
    pub start: &'a Config,
    /// The walk's steps (the failing prefix of them is shrunk).
    pub steps: Vec<Transition>,
    pub options: &'a RunOptions,
    /// The run directory: its snapshot restores the box afterwards.
    pub out: &'a Path,
    pub restore: RestoreOptions,
}

/// What a box shrink shrinks and within what budget.
pub struct ShrinkJob {
    /// The walk's failing step; the walk's steps up to it are shrunk.
    pub step: usize,
    pub verdict: crate::journal::Verdict,
    pub signature: crate::shrink::Signature,
    pub budget: ShrinkOptions,
    pub confirm_runs: usize,
    pub regressions: PathBuf,
    /// Candidates judged before the shrink was interrupted.
    pub known: Known,
}

impl ShrinkJob {
    /// The `shrink_start` line of a shrink beginning.
    pub fn start_event(&self) -> Event {
        Event::ShrinkStart {
            step: self.step,
            check: self.signature.check.clone(),
            kind: self.signature.kind.clone(),
            max_applies: self.budget.max_applies.unwrap_or(usize::MAX),
            max_time_s: self.budget.max_time.map_or(f64::MAX, |t| t.as_secs_f64()),
            confirm_runs: self.confirm_runs,
            regressions: self.regressions.display().to_string(),
            operations: self
                .budget
                .operations
                .iter()
                .map(|g| g.name().to_string())
                .collect(),
        }
    }
}

/// Shrinks `job` on the box, journaling each candidate, saves a confirmed minimum, and
/// restores the box from the run's snapshot. Returns the signal that stopped it and whether
/// the restore was verified.
pub fn shrink_job(
    rt: &tokio::runtime::Runtime,
    target: &mut BoxTarget,
    ctx: &ShrinkRun<'_>,
    job: ShrinkJob,
    journal: &mut JournalWriter,
) -> std::io::Result<(Option<Interrupt>, bool)> {
    let failing: Vec<Transition> = ctx.steps[..=job.step].to_vec();
    let signature = &job.signature;
    println!(
        "shrink: {} at step {} on the box ({} steps; at most {} applies, {})",
        signature,
        job.step + 1,
        failing.len(),
        job.budget.max_applies.unwrap_or(usize::MAX),
        humantime::format_duration(job.budget.max_time.unwrap_or_default())
    );
    let signals = rt.block_on(async { Signals::install() })?;
    let model = ctx.model;
    let mut ended_at = None;
    let log: CandidateLog<'_> = Box::new(
        |steps: &[Transition], o: &crate::shrink::Outcome, applies: usize| {
            journal.write(candidate_event(model, steps, o, applies))
        },
    );
    let shrunk = shrink_on_box(
        rt,
        target,
        ctx.model,
        ctx.supplied,
        ctx.start.clone(),
        ctx.options,
        &failing,
        signature,
        &job.budget,
        job.confirm_runs,
        Some(signals),
        job.known,
        Some(log),
    );
    let mut interrupted = None;
    let reused_line = |r: &Reused| {
        if r.candidates > 0 {
            println!(
                "shrink: {} candidates answered from the journal ({} applies not spent again)",
                r.candidates, r.applies
            );
        }
    };
    match shrunk {
        Ok(BoxShrunk::NotReproduced { applies, reused }) => {
            reused_line(&reused);
            println!(
                "shrink: run again from the baseline it did not fail the same way ({applies} applies): not saved"
            );
            ended_at = Some("not reproduced");
        }
        Ok(BoxShrunk::Stopped {
            why,
            interrupted: sig,
            applies,
            reused,
        }) => {
            reused_line(&reused);
            println!("shrink: stopped after {applies} applies: {why}");
            if sig.is_some() {
                println!(
                    "shrink: finish it with: canary run --resume {} (same target flags)",
                    ctx.out.display()
                );
            }
            interrupted = sig;
        }
        Ok(BoxShrunk::Shrunk {
            report,
            shrunk_on,
            sim_reproduces,
            confirmation,
            applies,
            reused,
        }) => {
            reused_line(&reused);
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
                    target.executor().kind(),
                    ctx.start,
                    &report.minimal,
                    &job.verdict,
                    &job.budget.operations,
                    crate::regress::BoxManifest::from_description(&target.describe()),
                );
                let path = r.save(&job.regressions).map_err(|e| {
                    std::io::Error::other(format!(
                        "cannot save the regression in {}: {e}",
                        job.regressions.display()
                    ))
                })?;
                println!("shrink: saved {}", path.display());
                ended_at = Some("saved");
            } else {
                println!(
                    "shrink: flaky ({}/{} confirmations failed the same way): not saved",
                    confirmation.reproduced, confirmation.runs
                );
                ended_at = Some("flaky");
            }
        }
        Err(e) => println!("shrink: the box failed: {e}"),
    }
    if let Some(result) = ended_at {
        journal.write(Event::ShrinkEnd {
            result: result.to_string(),
        })?;
    }
    // The shrink leaves the box at its baseline; the snapshot's restore verifies it.
    let snap = Snapshot::load(ctx.out)?.ok_or_else(|| {
        std::io::Error::other(format!(
            "the run's snapshot is missing from {}",
            ctx.out.display()
        ))
    })?;
    let restore_ok = match rt.block_on(safety::restore(target, &snap, &ctx.restore)) {
        Ok(r) if r.is_clean() => {
            println!("shrink: box restored and verified");
            true
        }
        Ok(r) => {
            eprintln!(
                "canary: !!! after the shrink the box is NOT back: {}",
                r.differences.join("; ")
            );
            false
        }
        Err(e) => {
            eprintln!("canary: !!! after the shrink the box could not be restored: {e}");
            false
        }
    };
    Ok((interrupted, restore_ok))
}

/// `--resume` of a run whose box shrink was interrupted: on the box the run started on, the
/// shrink goes on with the candidates its journal judged answered from there. Returns the
/// exit code.
pub fn resume_shrink(
    rt: &tokio::runtime::Runtime,
    target: &mut BoxTarget,
    ctx: &super::box_run::BoxCtx<'_>,
    pending: &super::shrink_journal::PendingShrink,
    journal: &mut JournalWriter,
) -> anyhow::Result<i32> {
    use anyhow::Context;
    let snap = Snapshot::load(ctx.out)
        .with_context(|| format!("cannot read the snapshot in {}", ctx.out.display()))?
        .ok_or_else(|| anyhow::anyhow!("{} has no snapshot", ctx.out.display()))?;
    rt.block_on(async {
        super::box_run::same_box(target, &snap, ctx).await?;
        safety::settle(target).await;
        anyhow::Ok(())
    })?;
    if let Some(tz) = &snap.tz {
        target.set_tz(tz);
    }
    let verdict = pending.verdict.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "the journal has no failing {} verdict at step {}: the shrink cannot go on",
            pending.signature.check,
            pending.step + 1
        )
    })?;
    let known = pending
        .known(ctx.model, ctx.start)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "shrink: resuming: {} candidates already judged on the box ({} applies), not run again",
        known.len(),
        pending.applies_spent()
    );
    let job = ShrinkJob {
        step: pending.step,
        verdict,
        signature: pending.signature.clone(),
        budget: ShrinkOptions {
            max_applies: Some(pending.max_applies),
            max_time: Some(pending.max_time),
            verify: true,
            operations: pending.operation_groups(),
        },
        confirm_runs: pending.confirm_runs,
        regressions: PathBuf::from(&pending.regressions),
        known,
    };
    let (interrupted, restore_ok) = shrink_job(rt, target, &ctx.shrink_run(), job, journal)?;
    Ok(match interrupted {
        Some(sig) => sig.exit_code(),
        None if !restore_ok => super::EXIT_USAGE,
        // The walk failed: that is the run's outcome, shrunk or not.
        None => super::EXIT_FAILED,
    })
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
    journal: &mut crate::journal::JournalWriter,
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
    let job = ShrinkJob {
        step: failure.step,
        verdict: failure.verdict.clone(),
        signature: crate::fuzz::signature_of(&failure.verdict),
        budget: ShrinkOptions {
            max_applies: Some(args.max_applies),
            max_time: Some(*args.max_time),
            verify: true,
            operations: args.operations.clone(),
        },
        confirm_runs: args.confirm_runs,
        regressions: args.regressions.to_path_buf(),
        known: Default::default(),
    };
    journal.write(job.start_event())?;
    let (interrupted, restore_ok) = shrink_job(rt, target, &ctx.shrink_run(), job, journal)?;
    ended.interrupted = ended.interrupted.or(interrupted);
    ended.restore_ok &= restore_ok;
    Ok(())
}
