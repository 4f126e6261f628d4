//! A walk: its steps run one after the other from a baseline, the box's real position kept
//! when it refuses an apply, a command past its deadline turned into the step's verdict, and
//! the walk's end journaled ([`end_walk`]); [`check_walk`] is the fuzzer's and the
//! shrinker's fast path.

use std::time::Duration;

use crate::journal::{Event, Verdict};
use crate::model::{Model, Supplied};
use crate::oracle::{self, Readiness, Verdicts};
use crate::plan::Step;
use crate::target::{Target, TargetError};

use super::sink::journal_verdicts;
use super::step::{StepInput, run_step};
use super::{
    Baseline, Failure, Quiet, RunError, RunOptions, RunOutcome, Sink, StepReport, WalkCache,
    seconds, snapshot,
};

/// Runs a walk from a baseline snapshot: a `Baseline` event, every step with its verdicts
/// told to `sink`, then a `RunEnd` event. Failed verdicts do not stop the walk unless [`RunOptions::fail_fast`]; a
/// target error does (after a `TargetFailed` and a `RunEnd` event).
pub async fn run_walk<T: Target, S: Sink>(
    target: &mut T,
    model: &Model,
    supplied: &Supplied,
    baseline: &Baseline,
    steps: &[Step],
    options: &RunOptions,
    sink: &mut S,
) -> Result<RunOutcome, RunError> {
    let mut cache = WalkCache::new();
    run_walk_cached(
        target, model, supplied, baseline, steps, options, sink, &mut cache,
    )
    .await
}

/// [`run_walk`] with a cache kept by the caller across walks (the fuzzer, the shrinker).
#[allow(clippy::too_many_arguments)]
pub async fn run_walk_cached<T: Target, S: Sink>(
    target: &mut T,
    model: &Model,
    supplied: &Supplied,
    baseline: &Baseline,
    steps: &[Step],
    options: &RunOptions,
    sink: &mut S,
    cache: &mut WalkCache,
) -> Result<RunOutcome, RunError> {
    let mut outcome = RunOutcome::default();
    let mut verdicts = Verdicts::new(sink.keep_passed());
    cache.rebase(&baseline.config);
    if sink.journaling() {
        sink.event(Event::Baseline {
            config_sha256: baseline.config_sha256(),
            observation: baseline.observation.clone(),
        })?;
    }
    let started = target.elapsed();
    let limit = options
        .max_steps
        .map_or(steps.len(), |m| m.min(steps.len()));
    // The previous observation is moved, not kept: only one lives at a time.
    let mut before = baseline.observation.clone();
    for (index, planned) in steps[..limit].iter().enumerate() {
        let rebased = cache.position.rebased(model, supplied, planned);
        let step = rebased.as_ref().unwrap_or(planned);
        let input = StepInput {
            model,
            supplied,
            baseline,
            index,
            step,
            before: &before,
            options,
        };
        let (after, ready, step_seconds, wall) =
            match run_step(target, input, sink, &mut verdicts, cache).await {
                Ok(r) => r,
                Err(RunError::Target {
                    source:
                        TargetError::Timeout {
                            check,
                            command,
                            after,
                        },
                    ..
                }) => {
                    // A command past its deadline is the step's verdict, not a crash: the
                    // walk stops (the box is in an unknown state) and the caller's safety net
                    // takes over.
                    deadline_verdict(index, step, check, &command, after, sink, &mut outcome)?;
                    break;
                }
                Err(e) => {
                    if let RunError::Target { source, .. } = &e
                        && sink.journaling()
                    {
                        sink.event(Event::TargetFailed {
                            step: Some(index),
                            error: source.to_string(),
                        })?;
                        sink.event(Event::RunEnd {
                            passed: false,
                            steps: outcome.steps_run,
                            verdicts_passed: outcome.verdicts_passed,
                            verdicts_failed: outcome.verdicts_failed,
                            exit_code: 2,
                        })?;
                    }
                    return Err(e);
                }
            };
        target.recycle(std::mem::replace(&mut before, after));
        let refused = verdicts.failures().any(|v| v.check == oracle::drift::CHECK);
        cache.position.ran(model, step, refused);
        if refused && let Some(taken) = cache.position.taken().cloned() {
            // The box's stack stayed where it was; config.json goes back to match it, so the
            // next step (an operation, say) finds a config its CLI accepts.
            let json = cache.config_json(&baseline.config, model, supplied, &taken);
            target
                .write_config_shared(&json)
                .await
                .map_err(|source| RunError::Target {
                    step: Some(index),
                    source,
                })?;
        }
        outcome.steps_run += 1;
        outcome.verdicts_passed += verdicts.passed;
        outcome.verdicts_failed += verdicts.failed;
        outcome.ready_seconds.push(ready.seconds);
        if verdicts.failed > 0 {
            outcome.steps_failed += 1;
            for v in verdicts.failures() {
                if outcome.failures.len() < options.keep_failures {
                    outcome.failures.push(Failure {
                        step: index,
                        verdict: v.clone(),
                    });
                }
            }
        }
        sink.step_done(&StepReport {
            index,
            step,
            verdicts: &verdicts,
            ready,
            seconds: step_seconds,
            wall,
        });
        if verdicts.failed > 0 && options.fail_fast && index + 1 < limit {
            outcome.stopped = Some(format!("--fail-fast: step {index} failed"));
            break;
        }
    }
    outcome.seconds = seconds(target.elapsed().saturating_sub(started));
    end_walk(&mut outcome, limit, steps.len(), sink)?;
    Ok(outcome)
}

/// Records a command that passed its deadline during step `index` as the failed verdict
/// `check` (`deadline.apply`, ...), ends the step, and stops the walk.
fn deadline_verdict<S: Sink>(
    index: usize,
    step: &Step,
    check: &str,
    command: &str,
    after: Duration,
    sink: &mut S,
    outcome: &mut RunOutcome,
) -> Result<(), RunError> {
    let verdict = Verdict {
        check: check.to_string(),
        passed: false,
        observed: serde_json::json!({ "command": command, "returned": false }),
        expected: serde_json::json!({ "within_s": seconds(after) }),
        message: format!(
            "`{command}` did not return within {after:?}; abandoned, the walk stops here"
        ),
    };
    let mut verdicts = Verdicts::new(true);
    verdicts.list.push(verdict.clone());
    verdicts.failed = 1;
    if sink.journaling() {
        journal_verdicts(sink, index, &verdicts, seconds(after))?;
    }
    let ready = Readiness {
        reached: false,
        ended: oracle::WaitEnd::NotPolled,
        seconds: 0.0,
        timeout: 0.0,
        polled: false,
    };
    sink.step_done(&StepReport {
        index,
        step,
        verdicts: &verdicts,
        ready,
        seconds: seconds(after),
        wall: after,
    });
    outcome.steps_run += 1;
    outcome.steps_failed += 1;
    outcome.verdicts_failed += 1;
    outcome.failures.push(Failure {
        step: index,
        verdict,
    });
    outcome.stopped = Some(format!(
        "`{command}` did not return within {after:?} ({check}); the walk stops at that step"
    ));
    Ok(())
}

/// Closes a walk: notes a `--max-steps` cut, then journals why the walk stopped early (if it
/// did) and the `RunEnd` line. Shared by every way of running a walk.
pub fn end_walk<S: Sink>(
    outcome: &mut RunOutcome,
    limit: usize,
    total: usize,
    sink: &mut S,
) -> Result<(), RunError> {
    if outcome.stopped.is_none() && limit < total {
        outcome.stopped = Some(format!("--max-steps {limit}: {limit} of {total} steps run"));
    }
    if sink.journaling() {
        if let Some(reason) = &outcome.stopped {
            sink.event(Event::Stopped {
                after_step: outcome.steps_run.saturating_sub(1),
                reason: reason.clone(),
            })?;
        }
        sink.event(Event::RunEnd {
            passed: outcome.passed(),
            steps: outcome.steps_run,
            verdicts_passed: outcome.verdicts_passed,
            verdicts_failed: outcome.verdicts_failed,
            exit_code: outcome.exit_code(),
        })?;
    }
    Ok(())
}

/// The in-process fast path for the fuzzer and the shrinker: snapshot, run the steps, return
/// the outcome with its failures. No journal, no passing verdicts built.
pub async fn check_walk<T: Target>(
    target: &mut T,
    model: &Model,
    supplied: &Supplied,
    steps: &[Step],
    options: &RunOptions,
) -> Result<RunOutcome, RunError> {
    let baseline = snapshot(target)
        .await
        .map_err(|source| RunError::Target { step: None, source })?;
    run_walk(
        target, model, supplied, &baseline, steps, options, &mut Quiet,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::Expected;
    use crate::run::{config_json, steps_from};

    /// With the sim's `next_change` hint, time-to-ready is the exact virtual millisecond the
    /// box became ready: not ready a millisecond before, ready then (a blind backoff would
    /// report the next poll after it).
    #[test]
    fn sim_time_to_ready_is_exact() {
        use crate::target::sim::SimTarget;
        let (m, s, d) = crate::run::test_start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for (axis, label) in [("p2pool.pool", "main"), ("tari.mode", "off")] {
            let a = m.config_from_labels(&d, [(axis, label)]).unwrap();
            let steps = steps_from(&m, &s, &d, [a.clone()]);
            let seed = crate::rng::Seed::from_u64(3);
            let mut sim = SimTarget::new(seed, &[]);
            let out = rt
                .block_on(check_walk(&mut sim, &m, &s, &steps, &RunOptions::default()))
                .unwrap();
            assert!(out.passed(), "{axis}: {:?}", out.first_failure());
            let ready_ms = (out.ready_seconds[0] * 1000.0).round() as u64;
            assert!(
                ready_ms > 0,
                "{axis}: the box should need time after the apply"
            );

            // The same step by hand on a fresh sim of the same seed.
            let mut sim = SimTarget::new(seed, &[]);
            let doc = config_json(&sim.config().clone(), &m, &s, &a);
            sim.write_config_sync(&doc);
            assert_eq!(sim.apply_sync().exit_code, 0);
            let expected = Expected::new(&m, &s, &steps[0].effective);
            sim.advance(Duration::from_millis(ready_ms - 1));
            assert!(!oracle::is_ready(&expected, &sim.observe_sync()), "{axis}");
            sim.advance(Duration::from_millis(1));
            assert!(oracle::is_ready(&expected, &sim.observe_sync()), "{axis}");
        }
    }
}
