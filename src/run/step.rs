//! One step of a walk on a target: write config.json (or perform the operation), apply, wait
//! until the box settles on the target's clock, the second apply, and the oracle's verdicts,
//! each told to the sink as it happens.

use std::time::Duration;

use crate::journal::{Event, Predicted};
use crate::model::{Model, OpKind, Supplied};
use crate::oracle::{self, Expected, OpFacts, Readiness, StepFacts, Verdicts};
use crate::plan::Step;
use crate::target::{CommandResult, Observation, Target, TargetError};

use super::sink::{journal_verdicts, journal_wait};
use super::{
    Baseline, ReadinessPolicy, RunError, RunOptions, Sink, WalkCache, labels, operation, seconds,
};

/// Polls until the box is settled (right or wrong, [`oracle::settle`]) or the timeout passes;
/// returns the last observation, why the wait ended, and the polls. The one readiness wait of
/// a step, also of a resumed step judged again.
pub async fn wait_settled<T: Target>(
    target: &mut T,
    expected: &Expected,
    policy: &ReadinessPolicy,
    settle: &oracle::SettleRule,
) -> Result<(Observation, Readiness, u32), TargetError> {
    await_ready(target, expected, policy, settle, None).await
}

async fn await_ready<T: Target>(
    target: &mut T,
    expected: &Expected,
    policy: &ReadinessPolicy,
    settle: &oracle::SettleRule,
    mut watch: Option<(&mut operation::ReadmitWatch<'_>, Duration)>,
) -> Result<(Observation, Readiness, u32), TargetError> {
    // A target that knows when its observation next changes (the sim) is looked at exactly
    // then; otherwise polls back off blindly. Either way the rule is the oracle's.
    let mut settling = oracle::Settling::new(settle, expected);
    let mut ended = None;
    let (obs, _, waited, polls) = crate::target::poll_until(
        target,
        policy.timeout,
        policy.first_poll,
        policy.max_poll,
        |obs, now, quiet| {
            ended = settling.poll(obs, now, quiet);
            if let Some((w, step_start)) = watch.as_mut() {
                let at = seconds(now.saturating_sub(*step_start));
                w.poll(obs, at);
                // Settled in a wrong state while the failover may still readmit: keep waiting.
                if ended == Some(oracle::WaitEnd::Settled) && w.readmission_pending(at) {
                    ended = None;
                }
            }
            ended.is_some()
        },
    )
    .await?;
    let ended = ended.unwrap_or_else(|| settling.timed_out());
    let ready = Readiness {
        reached: ended.settled(),
        ended,
        seconds: seconds(waited),
        timeout: seconds(policy.timeout),
        polled: true,
    };
    Ok((obs, ready, polls))
}

/// Everything one step needs besides the target and the sink.
pub(super) struct StepInput<'a> {
    pub(super) model: &'a Model,
    pub(super) supplied: &'a Supplied,
    pub(super) baseline: &'a Baseline,
    pub(super) index: usize,
    pub(super) step: &'a Step,
    pub(super) before: &'a Observation,
    pub(super) options: &'a RunOptions,
}

/// Runs one step; returns the box's last observation (the next step's "before").
pub(super) async fn run_step<T: Target, S: Sink>(
    target: &mut T,
    input: StepInput<'_>,
    sink: &mut S,
    verdicts: &mut Verdicts,
    cache: &mut WalkCache,
) -> Result<(Observation, Readiness, f64, Duration), RunError> {
    let StepInput {
        model,
        supplied,
        baseline,
        index,
        step,
        before,
        options,
    } = input;
    let wall = std::time::Instant::now();
    let journaling = sink.journaling();
    let target_err = |source| RunError::Target {
        step: Some(index),
        source,
    };
    let expected = cache.expected.get(model, supplied, &step.effective);
    if journaling {
        sink.event(Event::StepStart {
            step: index,
            config: labels(model, &step.config),
            effective: labels(model, &step.effective),
            changed: step
                .changed
                .iter()
                .map(|&a| model.axes[a].name.clone())
                .collect(),
            predicted: Predicted {
                created: step.prediction.created.clone(),
                removed: step.prediction.removed.clone(),
                recreated: step.prediction.recreated.clone(),
                restarted: step.prediction.restarted.clone(),
                cost: step.prediction.cost,
            },
            operation: step.op.map(|i| model.operations[i].name.clone()),
        })?;
    }
    let step_start = target.elapsed();
    let operation = step.op.map(|i| &model.operations[i]);
    let mut op_run = None;
    let mut cold_refusal = None;
    let mut config_before = None;
    let mut watch = operation.and_then(operation::ReadmitWatch::new);
    let apply = match operation {
        Some(op) => {
            let now = operation::config_sha256(&target.read_config().await.map_err(target_err)?);
            if op.kind == OpKind::Backup {
                // What the box holds now is what a later restore must bring back.
                cache.backup_config = Some(now.clone());
            }
            config_before = Some(now);
            let run = operation::perform(target, index, op, &options.readiness, sink).await?;
            if let Some(w) = watch.as_mut() {
                w.recovery_began(seconds(run.recovery_started.saturating_sub(step_start)));
            }
            let refused = run.actions.iter().any(|(_, r)| r.exit_code != 0);
            op_run = Some(run);
            // Stands in for the apply of an apply step: polling is skipped only when a command
            // that had to succeed did not.
            CommandResult {
                exit_code: i32::from(refused && op.refuses.is_none()),
                output: String::new(),
            }
        }
        None => {
            let json = cache.config_json(&baseline.config, model, supplied, &step.config);
            target
                .write_config_shared(&json)
                .await
                .map_err(target_err)?;
            if step.prediction.cold {
                // A change that cannot be hot-applied: the hot apply must refuse it, then
                // `down` clears the way and the next apply retries what the refused one
                // committed (#125's `.env.apply-incomplete` marker).
                let hot = target.apply().await.map_err(target_err)?;
                if journaling {
                    sink.event(Event::Apply {
                        step: index,
                        result: hot.clone(),
                        seconds: seconds(target.elapsed().saturating_sub(step_start)),
                    })?;
                }
                operation::act(target, index, &crate::model::Action::Down, sink).await?;
                cold_refusal = Some(hot);
            }
            target.apply().await.map_err(target_err)?
        }
    };
    let applied_at = target.elapsed();
    if journaling && operation.is_none() {
        sink.event(Event::Apply {
            step: index,
            result: apply.clone(),
            seconds: seconds(applied_at.saturating_sub(step_start)),
        })?;
    }

    let (after, ready, polls) = if apply.exit_code == 0 {
        await_ready(
            target,
            &expected,
            &options.readiness,
            &options.settle,
            watch.as_mut().map(|w| (w, step_start)),
        )
        .await
        .map_err(target_err)?
    } else {
        // A refused apply changes nothing on Pithead; waiting for a state it will not reach
        // would only burn the timeout.
        let obs = target.observe().await.map_err(target_err)?;
        let ready = Readiness {
            reached: false,
            ended: oracle::WaitEnd::NotPolled,
            seconds: 0.0,
            timeout: seconds(options.readiness.timeout),
            polled: false,
        };
        (obs, ready, 1)
    };
    if journaling {
        journal_wait(sink, index, &ready, polls, &after)?;
    }

    // An operation must leave config.json as it found it, or (a restore) as the backup had it.
    let config_shas = match operation {
        Some(op) => {
            let now = operation::config_sha256(&target.read_config().await.map_err(target_err)?);
            let want = if op.changes_config() {
                cache.backup_config.clone().unwrap_or_default()
            } else {
                config_before.take().unwrap_or_default()
            };
            Some((now, want))
        }
        None => None,
    };

    let (second, after_second) = if options.second_apply {
        let second = target.apply().await.map_err(target_err)?;
        if journaling {
            sink.event(Event::SecondApply {
                step: index,
                result: second.clone(),
            })?;
        }
        let again = target.observe().await.map_err(target_err)?;
        (Some(second), Some(again))
    } else {
        (None, None)
    };

    let op_facts = match (operation, &op_run, &config_shas) {
        (Some(op), Some(run), Some((now, want))) => Some(OpFacts {
            operation: op,
            actions: &run.actions,
            fault: run.fault_seen(),
            refusal: run.refusal.as_ref().map(|(b, a)| (b, a)),
            readmit: watch.as_ref().map(|w| w.seen()).unwrap_or_default(),
            config_sha256: (now, want),
        }),
        _ => None,
    };
    verdicts.clear();
    oracle::judge(
        &expected,
        &step.prediction,
        &StepFacts {
            apply: &apply,
            ready,
            before,
            after: &after,
            second_apply: second.as_ref(),
            after_second: after_second.as_ref(),
            baseline_fingerprint: baseline.fingerprint(),
            operation: op_facts.as_ref(),
            cold_refusal: cold_refusal.as_ref(),
        },
        verdicts,
    );
    let step_seconds = seconds(target.elapsed().saturating_sub(step_start));
    if journaling {
        journal_verdicts(sink, index, verdicts, step_seconds)?;
    }
    let last = match after_second {
        Some(again) => {
            target.recycle(after);
            again
        }
        None => after,
    };
    Ok((last, ready, step_seconds, wall.elapsed()))
}
