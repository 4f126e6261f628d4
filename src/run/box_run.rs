//! A run on a box: the snapshot (or, resuming, the check that it is the same box), the walk
//! inside the safety net one step at a time through the one step loop, a safety backup
//! before the first destructive operation, artifacts after each failing step, and a resumed
//! step whose apply was confirmed judged again without applying.

use std::path::Path;

use anyhow::{Context, bail};

use crate::journal::Event;
use crate::model::{Config, Model, Supplied};
use crate::oracle::{self, Expected, StepFacts, Verdicts};
use crate::plan::Step;
use crate::redact::Redactor;
use crate::safety::{self, RestoreOptions, Snapshot, WalkEnd};
use crate::signal::Signals;
use crate::target::box_target::BoxTarget;
use crate::target::{CommandResult, Observation, Target};

use super::console::{Console, Head};
use super::redacting::{Redacting, Shifted, add_supplied_secrets};
use super::resume::ResumePoint;
use super::sink::{journal_verdicts, journal_wait};
use super::{
    Baseline, EXIT_USAGE, Failure, RunError, RunOptions, RunOutcome, Sink, StepReport, WalkCache,
    config_json, run_walk_cached,
};

/// What the walk of either kind of target came to.
pub struct Ended {
    pub result: Result<RunOutcome, String>,
    pub interrupted: Option<crate::signal::Interrupt>,
    /// False when the box's restore failed or could not be verified.
    pub restore_ok: bool,
}

/// What every step of a box walk needs.
pub struct BoxCtx<'a> {
    pub model: &'a Model,
    pub supplied: &'a Supplied,
    /// The raw config the walk starts from (the plan's baseline).
    pub start: &'a Config,
    pub steps: &'a [Step],
    pub options: &'a RunOptions,
    pub out: &'a Path,
    pub restore_timeout: std::time::Duration,
}

impl BoxCtx<'_> {
    /// What a box shrink needs of this run: the model, the walk and the run directory.
    pub fn shrink_run(&self) -> super::shrink_after::ShrinkRun<'_> {
        super::shrink_after::ShrinkRun {
            model: self.model,
            supplied: self.supplied,
            start: self.start,
            steps: self.steps.iter().map(Step::transition).collect(),
            options: self.options,
            out: self.out,
            restore: self.restore_options(),
        }
    }

    /// The safety net's restore: the walk's readiness wait and `--restore-timeout`, naming
    /// the run directory's plain copy of config.json in its advice.
    pub fn restore_options(&self) -> RestoreOptions {
        RestoreOptions {
            ready_timeout: self.options.readiness.timeout,
            poll: std::time::Duration::from_millis(500),
            deadline: self.restore_timeout,
            run_dir: Some(self.out.to_path_buf()),
        }
    }
}

/// Opens the box, takes (or reloads) the snapshot, and runs the walk inside the safety net.
pub async fn run_box(
    target: &mut BoxTarget,
    ctx: &BoxCtx<'_>,
    head: &Head,
    resumed: Option<&ResumePoint>,
    keep: bool,
    console: &mut Console,
) -> anyhow::Result<Ended> {
    let snap = match resumed {
        Some(_) => {
            let s = Snapshot::load(ctx.out)
                .with_context(|| format!("cannot read the snapshot in {}", ctx.out.display()))?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} has no {}: the run was dropped before its first step; start it again",
                        ctx.out.display(),
                        safety::SNAPSHOT_FILE
                    )
                })?;
            // Before anything changes on this box: is it the box the run started on?
            same_box(target, &s, ctx).await?;
            // A proxy token left emptied by the dropped run: put back before it is judged.
            safety::settle(target).await;
            target.set_safety_archive(safety::load_backup(ctx.out));
            s
        }
        None => {
            // A proxy token left emptied by a run that was killed outright: put back before
            // the box is snapshotted.
            safety::settle(target).await;
            let s = Snapshot::take(target)
                .await
                .context("cannot snapshot the box before the first step")?;
            s.save(ctx.out).with_context(|| {
                format!("cannot save the box's snapshot in {}", ctx.out.display())
            })?;
            target
                .keep_env_copy()
                .await
                .context("cannot keep a copy of .env before the first step")?;
            s
        }
    };
    if let Some(tz) = &snap.tz {
        // A resumed run keeps the zone it started under (the box's, before any step).
        target.set_tz(tz);
    }
    let original: serde_json::Value = serde_json::from_slice(&snap.config)
        .context("the box's config.json is not JSON; fix it before testing the box")?;
    head.write(
        console,
        ctx.model,
        target,
        &full_redactor(target, &original, ctx),
    )?;

    let mut signals = Signals::install().context("cannot install the Ctrl-C handler")?;
    let restore_opts = ctx.restore_options();
    let guarded = safety::guard_judged(
        target,
        &snap,
        &mut signals,
        keep,
        &restore_opts,
        |walk: &Result<RunOutcome, RunError>| !walk.as_ref().is_ok_and(RunOutcome::passed),
        async |t: &mut BoxTarget| box_walk(t, ctx, &snap, &original, resumed, console).await,
    )
    .await;
    let restore_ok = match &guarded.restore {
        None => true,
        Some(Ok(r)) => r.is_clean(),
        Some(Err(_)) => false,
    };
    if let Some(Err(e)) = &guarded.rollback {
        eprintln!("canary: !!! the rollback to the safety backup failed: {e}");
    }
    let (result, interrupted) = match guarded.end {
        WalkEnd::Finished(r) => (r.map_err(|e| e.to_string()), None),
        WalkEnd::Interrupted(sig) => {
            let redactor = full_redactor(target, &original, ctx);
            let (steps, verdicts_passed, verdicts_failed) = (
                console.steps_ended,
                console.verdicts_passed,
                console.verdicts_failed,
            );
            let mut sink = Redacting::new(console, &redactor);
            sink.event(Event::Stopped {
                after_step: steps.saturating_sub(1),
                reason: format!("interrupted by {sig} at step {}", steps + 1),
            })?;
            sink.event(Event::RunEnd {
                passed: false,
                steps,
                verdicts_passed,
                verdicts_failed,
                exit_code: sig.exit_code(),
            })?;
            (
                Err(format!("interrupted by {sig} at step {}", steps + 1)),
                Some(sig),
            )
        }
    };
    Ok(Ended {
        result,
        interrupted,
        restore_ok,
    })
}

/// Refuses to resume on a box that is not the one the run started on (another target kind,
/// host or stack directory, a config.json neither the snapshot's nor the walk's, other
/// secrets), naming every difference, before anything is changed on it.
pub(crate) async fn same_box(
    t: &mut BoxTarget,
    snap: &Snapshot,
    ctx: &BoxCtx<'_>,
) -> anyhow::Result<()> {
    let config = t
        .read_config_raw()
        .await
        .context("cannot read config.json")?;
    let fingerprint = match t
        .kept_env_fingerprint()
        .await
        .context("cannot read the box")?
    {
        Some(fp) => fp,
        None => {
            t.observe()
                .await
                .context("cannot observe the box")?
                .secret_fingerprint
        }
    };
    let original: serde_json::Value =
        serde_json::from_slice(&snap.config).context("the snapshot's config.json is not JSON")?;
    let walk: Vec<serde_json::Value> = ctx
        .steps
        .iter()
        .map(|s| config_json(&original, ctx.model, ctx.supplied, &s.config))
        .collect();
    let seen = safety::identity::Seen {
        identity: safety::BoxIdentity::of(t),
        config: config.as_deref(),
        fingerprint,
    };
    let differences = safety::identity::differences(snap, &seen, &walk);
    if differences.is_empty() {
        return Ok(());
    }
    let here = &seen.identity;
    let (what, end) = if snap.identity.as_ref() == Some(here) {
        ("has changed since the run in", " started on it")
    } else {
        ("is not the box the run in", " started on")
    };
    let mut msg = format!(
        "refusing to resume: the box at {} on {} {what} {}{end}; nothing was changed on it. \
         What differs:",
        here.dir,
        here.host,
        ctx.out.display()
    );
    for d in &differences {
        msg.push_str(&format!("\n  - {d}"));
    }
    match &snap.identity {
        // The box it started on, changed since (secrets, config.json, .env): it can only be
        // put back, not walked on.
        Some(was) if *was == seen.identity => msg.push_str(&format!(
            "\nThis is the box the run started on, changed since. Put it back with `{}`, then \
             start a new run.",
            safety::restore_command(t, ctx.out)
        )),
        Some(was) => msg.push_str(&format!(
            "\nTo go on with that run, give the box it started on (--target {} --dir {}{}). \
             To test this box, start a new run (without --resume).",
            was.kind,
            was.dir,
            if was.kind == "ssh" {
                format!(" --host {}", was.host)
            } else {
                String::new()
            }
        )),
        None => msg.push_str(
            "\nTo go on with that run, give the box it started on. To test this box, start a \
             new run (without --resume).",
        ),
    }
    bail!(msg)
}

/// Everything a box run must never write: the box's secrets as the target knows them, the
/// secret leaves of the original config.json, and the secret `--supply` values.
pub fn full_redactor(t: &BoxTarget, original: &serde_json::Value, ctx: &BoxCtx<'_>) -> Redactor {
    let mut r = t.redactor().clone();
    r.add_config(original);
    add_supplied_secrets(&mut r, ctx.model, ctx.supplied);
    r
}

/// The walk on a box, one step at a time through the same runner as the simulator, so each
/// failing step can leave its artifacts before the next one changes the box.
async fn box_walk(
    t: &mut BoxTarget,
    ctx: &BoxCtx<'_>,
    snap: &Snapshot,
    original: &serde_json::Value,
    resumed: Option<&ResumePoint>,
    console: &mut Console,
) -> Result<RunOutcome, RunError> {
    let target_err = |step: Option<usize>| move |source| RunError::Target { step, source };
    let limit = ctx
        .options
        .max_steps
        .map_or(ctx.steps.len(), |m| m.min(ctx.steps.len()));
    let mut outcome = RunOutcome::default();
    let mut start = 0;
    let mut before = match resumed {
        None => {
            let obs = t.observe().await.map_err(target_err(None))?;
            Redacting::new(console, &full_redactor(t, original, ctx)).event(Event::Baseline {
                config_sha256: Baseline {
                    config: original.clone(),
                    observation: obs.clone(),
                }
                .config_sha256(),
                observation: obs.clone(),
            })?;
            obs
        }
        Some(p) => {
            start = p.next_step();
            outcome.steps_run = p.done.len();
            outcome.steps_failed = p.failed.len();
            outcome.verdicts_passed = p.verdicts_passed;
            outcome.verdicts_failed = p.verdicts_failed;
            println!(
                "resuming at step {} of {} ({} steps confirmed)",
                start + 1,
                limit,
                p.done.len()
            );
            t.observe().await.map_err(target_err(None))?
        }
    };
    let mut cache = WalkCache::new();
    // Where the box is when the walk (or its resumed rest) starts, so that a refused apply
    // (drift) is followed by steps predicted from where the box stayed.
    cache.begin_at(match start {
        0 => ctx.start.clone(),
        s => ctx.steps[s - 1].config.clone(),
    });
    let one = RunOptions {
        max_steps: None,
        fail_fast: false,
        ..ctx.options.clone()
    };
    let mut deadline_hit = None;
    let mut watch = crate::run::broken::BrokenWatch::default();
    for index in start..limit {
        let step = &ctx.steps[index];
        let destructive = step
            .op
            .is_some_and(|i| safety::is_destructive(ctx.model.operations[i].kind));
        if destructive && t.safety_archive().is_none() {
            before = safety_backup(t, ctx, index, console).await?;
        }
        // Rebuilt every step: the box target learns new secret values when they rotate.
        let redactor = &full_redactor(t, original, ctx);
        let half = resumed
            .and_then(|p| p.half_applied.as_ref())
            .filter(|(k, _)| *k == index);
        let failed_now = if let Some((_, apply)) = half
            && t.read_config().await.map_err(target_err(Some(index)))?
                == config_json(original, ctx.model, ctx.supplied, &step.config)
        {
            let prev = resumed.and_then(|p| p.last_observed.clone());
            let (after, verdicts) = judge_again(
                t,
                ctx,
                index,
                apply,
                prev.as_ref().unwrap_or(&before),
                &snap.fingerprint,
                redactor,
                console,
            )
            .await?;
            before = after;
            cache.step_ran(ctx.model, step);
            outcome.steps_run += 1;
            outcome.verdicts_passed += verdicts.passed;
            outcome.verdicts_failed += verdicts.failed;
            for v in verdicts.failures() {
                outcome.failures.push(Failure {
                    step: index,
                    verdict: v.clone(),
                });
            }
            verdicts.failed
        } else {
            let base = Baseline {
                config: original.clone(),
                observation: Observation {
                    secret_fingerprint: snap.fingerprint.clone(),
                    ..before.clone()
                },
            };
            let mut red = Redacting::new(&mut *console, redactor);
            let mut sink = Shifted::new(&mut red, index);
            let o = match run_walk_cached(
                t,
                ctx.model,
                ctx.supplied,
                &base,
                std::slice::from_ref(step),
                &one,
                &mut sink,
                &mut cache,
            )
            .await
            {
                Ok(o) => o,
                Err(e) => {
                    Redacting::new(&mut *console, redactor).event(Event::RunEnd {
                        passed: false,
                        steps: outcome.steps_run,
                        verdicts_passed: outcome.verdicts_passed,
                        verdicts_failed: outcome.verdicts_failed,
                        exit_code: EXIT_USAGE,
                    })?;
                    // The runner saw a one-step walk: name the walk's step.
                    return Err(match e {
                        RunError::Target { source, .. } => RunError::Target {
                            step: Some(index),
                            source,
                        },
                        e => e,
                    });
                }
            };
            // A deadline passed: the step is failed and the walk ends here.
            deadline_hit = o.stopped.clone();
            outcome.steps_run += o.steps_run;
            outcome.verdicts_passed += o.verdicts_passed;
            outcome.verdicts_failed += o.verdicts_failed;
            outcome.ready_seconds.extend(o.ready_seconds);
            outcome.seconds += o.seconds;
            for f in o.failures {
                outcome.failures.push(Failure {
                    step: index,
                    verdict: f.verdict,
                });
            }
            o.verdicts_failed
        };
        if failed_now > 0 {
            outcome.steps_failed += 1;
            match t.capture_artifacts(index as u64, ctx.out).await {
                Ok(dir) => console
                    .progress
                    .println(&format!("     artifacts: {}", dir.display())),
                Err(e) => console
                    .progress
                    .println(&format!("     artifacts could not be captured: {e}")),
            }
            if let Some(why) = deadline_hit.take() {
                outcome.stopped = Some(format!("step {}: {why}", index + 1));
                break;
            }
            if ctx.options.fail_fast && index + 1 < limit {
                outcome.stopped = Some(format!("--fail-fast: step {index} failed"));
                break;
            }
        }
        // A box broken beyond the walk would fail every step alike: stop here, once.
        let missing = t
            .missing_stack_files()
            .await
            .map_err(target_err(Some(index)))?;
        let mut running = None;
        if index + 1 < limit && missing.is_empty() {
            before = t.observe().await.map_err(target_err(Some(index + 1)))?;
            // Only a box that had containers running can lose them all.
            if !snap.running.is_empty() {
                running = Some(
                    before
                        .containers
                        .iter()
                        .filter(|c| c.state == crate::target::RunState::Running)
                        .count(),
                );
            }
        }
        if let Some(why) = watch.after_step(index, &missing, running, &outcome.failures) {
            console.progress.println(&format!("     stopping: {why}"));
            outcome.stopped = Some(why);
            break;
        }
    }
    let redactor = full_redactor(t, original, ctx);
    let mut sink = Redacting::new(console, &redactor);
    crate::run::end_walk(&mut outcome, limit, ctx.steps.len(), &mut sink)?;
    Ok(outcome)
}

/// Takes the safety backup before step `index` (the walk's first destructive operation) and
/// waits for the box to settle after it (a backup stops and restarts the containers); returns
/// the box as the step will find it.
async fn safety_backup(
    t: &mut BoxTarget,
    ctx: &BoxCtx<'_>,
    index: usize,
    console: &mut Console,
) -> Result<Observation, RunError> {
    let err = |source| RunError::Target {
        step: Some(index),
        source,
    };
    let archive = safety::take_backup(t, Some(ctx.out)).await.map_err(err)?;
    console.progress.println(&format!(
        "     safety backup before step {} (the first destructive operation): {archive}",
        index + 1
    ));
    match t
        .wait_ready(
            ctx.options.readiness.timeout,
            std::time::Duration::from_millis(500),
        )
        .await
    {
        Ok((_, obs)) => Ok(obs),
        Err(e) => {
            console
                .progress
                .println(&format!("     after the safety backup: {e}"));
            t.observe().await.map_err(err)
        }
    }
}

/// A resumed step whose apply was confirmed and whose config is on the box: wait until ready,
/// observe, and judge, without applying again (the second, must-be-no-op apply is skipped
/// too: it would be an apply).
#[allow(clippy::too_many_arguments)]
async fn judge_again(
    t: &mut BoxTarget,
    ctx: &BoxCtx<'_>,
    index: usize,
    apply: &CommandResult,
    before: &Observation,
    fingerprint: &str,
    redactor: &Redactor,
    console: &mut Console,
) -> Result<(Observation, Verdicts), RunError> {
    let step = &ctx.steps[index];
    let expected = Expected::new(ctx.model, ctx.supplied, &step.effective);
    let err = |source| RunError::Target {
        step: Some(index),
        source,
    };
    let started = std::time::Instant::now();
    let (after, ready, polls) =
        crate::run::wait_settled(t, &expected, &ctx.options.readiness, &ctx.options.settle)
            .await
            .map_err(err)?;
    let mut verdicts = Verdicts::new(true);
    oracle::judge(
        &expected,
        &step.prediction,
        &StepFacts {
            apply,
            ready,
            before,
            after: &after,
            second_apply: None,
            after_second: None,
            baseline_fingerprint: fingerprint,
            operation: None,
            cold_refusal: None,
        },
        &mut verdicts,
    );
    let mut sink = Redacting::new(console, redactor);
    journal_wait(&mut sink, index, &ready, polls, &after)?;
    journal_verdicts(&mut sink, index, &verdicts, ready.seconds)?;
    sink.step_done(&StepReport {
        index,
        step,
        verdicts: &verdicts,
        ready,
        seconds: ready.seconds,
        wall: started.elapsed(),
    });
    Ok((after, verdicts))
}
