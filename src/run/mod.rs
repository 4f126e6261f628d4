//! The step runner: executes a walk on a [`Target`], one `pithead apply -y` per step, and has
//! the [`oracle`](crate::oracle) judge the box after each.
//!
//! A step: write config.json (the baseline's JSON with the step's keys set) → apply → poll
//! [`Target::observe`] until the readiness predicate holds or its timeout passes on the
//! target's clock (never a fixed sleep) → a second apply that must be a no-op → observe →
//! verdicts. What happens is told to a [`Sink`]: the journal for `canary run`, or nothing at
//! all for the fuzzer's in-process fast path ([`check_walk`]), which keeps only the failures.
//!
//! Memory stays flat however long the walk: the runner holds the baseline, the previous
//! observation and the current step's verdicts, and streams everything else to the sink.
//!
//! The seams for what comes next: box targets (fake box, SSH, mini-stack) are more
//! [`Target`]s; replaying a regression is [`run_walk`] over its saved steps ([`steps_from`]);
//! lifecycle operations become more step kinds judged by the same [`oracle::judge`].

pub mod box_replay;
pub mod box_run;
pub mod box_session;
pub mod box_shrink;
pub mod broken;
pub mod check;
pub mod console;
pub mod manifest;
mod operation;
mod position;
pub mod progress;
pub mod redacting;
pub mod resume;
mod saved;
pub mod session;

pub use position::Position;

/// Exit code when every verdict passed.
pub const EXIT_OK: i32 = 0;
/// Exit code when any verdict failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for usage, model or target errors (a run that could not finish).
pub const EXIT_USAGE: i32 = 2;
pub use saved::{SavedPlanError, SavedWalk, walk_from_plan_json};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::journal::{Event, JournalWriter, Predicted, Verdict};
use crate::model::{Config, Model, OpKind, Supplied, Transition};
use crate::oracle::{self, Expected, ExpectedCache, OpFacts, Readiness, StepFacts, Verdicts};
use crate::plan::Step;
use crate::target::{CommandResult, Observation, Target, TargetError};

/// How long to wait for a box to become ready after an apply, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadinessPolicy {
    /// Give up after this long (target clock) and fail the `ready` check.
    pub timeout: Duration,
    /// Wait before the second poll; the first poll is immediate.
    pub first_poll: Duration,
    /// Polls back off by doubling up to this interval.
    pub max_poll: Duration,
}

impl Default for ReadinessPolicy {
    /// Ten minutes, like the slowest wait of Pithead's bash suite (hashes within 300 s after
    /// status within 240 s), polling after 1 s and then at most every 15 s.
    fn default() -> Self {
        ReadinessPolicy {
            timeout: Duration::from_secs(600),
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(15),
        }
    }
}

/// Knobs of a run that do not change what a step is.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub readiness: ReadinessPolicy,
    /// Stop after the first step with a failed verdict.
    pub fail_fast: bool,
    /// Run at most this many steps of the walk.
    pub max_steps: Option<usize>,
    /// Run the second, must-be-no-op apply after each step (the idempotency check).
    pub second_apply: bool,
    /// When a box counts as settled after a step ([`oracle::settle`]); the model's rule for
    /// the target ([`oracle::SettleRule::for_target`]).
    pub settle: oracle::SettleRule,
    /// Failures kept in [`RunOutcome::failures`]; the rest are only counted (the journal has
    /// them all).
    pub keep_failures: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            readiness: ReadinessPolicy::default(),
            fail_fast: false,
            max_steps: None,
            second_apply: true,
            settle: oracle::SettleRule::default(),
            keep_failures: 1000,
        }
    }
}

/// The box before the first step: what every step's config.json is built on and what its
/// secrets are held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// The box's config.json as it was.
    pub config: serde_json::Value,
    /// The first observation.
    pub observation: Observation,
}

impl Baseline {
    /// The secret fingerprint every step must keep.
    pub fn fingerprint(&self) -> &str {
        &self.observation.secret_fingerprint
    }

    /// sha256 of the baseline config.json (canonical JSON text), hex.
    pub fn config_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.config.to_string().as_bytes()))
    }
}

/// Reads the box's config.json and observes it once.
pub async fn snapshot<T: Target>(target: &mut T) -> Result<Baseline, TargetError> {
    let config = target.read_config().await?;
    let observation = target.observe().await?;
    Ok(Baseline {
        config,
        observation,
    })
}

/// Sets `value` at a dotted path (`monero.remote.host`), creating objects on the way and
/// replacing any non-object in the way.
pub fn set_dotted(doc: &mut serde_json::Value, path: &str, value: serde_json::Value) {
    let mut cur = doc;
    let mut parts = path.split('.').peekable();
    while let Some(key) = parts.next() {
        if !cur.is_object() {
            *cur = serde_json::Value::Object(serde_json::Map::new());
        }
        let map = cur.as_object_mut().expect("made an object above");
        if parts.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        cur = map
            .entry(key.to_string())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    }
}

/// The config.json of a raw config: the baseline's JSON with every key the config sets
/// ([`Model::overrides`]) written at its dotted path. Keys the baseline has and the config
/// does not set are kept, so a box's own settings survive the walk.
pub fn config_json(
    baseline: &serde_json::Value,
    model: &Model,
    supplied: &Supplied,
    raw: &Config,
) -> serde_json::Value {
    let mut doc = baseline.clone();
    for (path, value) in model.overrides(raw, supplied) {
        set_dotted(&mut doc, &path, value);
    }
    doc
}

/// What a walk computes once per distinct config and reuses: the oracle's expectations by
/// effective config and config.json by raw config. The fuzzer keeps one across walks of the
/// same model, supplied prerequisites and baseline; [`run_walk`] makes a fresh one.
#[derive(Debug, Default)]
pub struct WalkCache {
    expected: ExpectedCache,
    config_json: HashMap<Config, Arc<serde_json::Value>>,
    /// The baseline config.json the cached documents were built on.
    baseline: Option<serde_json::Value>,
    /// sha256 of config.json at the last backup operation: what a restore must bring back.
    /// Kept here because box runs feed the runner one step at a time with one cache.
    backup_config: Option<String>,
    /// Where the box really is, for walks whose box may refuse a planned apply.
    position: Position,
}

impl WalkCache {
    /// An empty cache.
    pub fn new() -> WalkCache {
        WalkCache::default()
    }

    /// Starts a walk (or its resumed rest) at the raw config `start`, so the steps after an
    /// apply the box refuses can be predicted from where the box is ([`Position`]).
    pub fn begin_at(&mut self, start: Config) {
        self.position = Position::at(start);
    }

    /// Records a step that ran outside [`run_walk_cached`] (a resumed step judged again).
    pub fn step_ran(&mut self, model: &Model, step: &Step) {
        self.position.ran(model, step, false);
    }

    /// Forgets the cached documents unless they were built on `baseline` (once per walk: a
    /// deep comparison per step would cost more than the lookup it guards).
    fn rebase(&mut self, baseline: &serde_json::Value) {
        if self.baseline.as_ref() != Some(baseline) {
            self.config_json.clear();
            self.baseline = Some(baseline.clone());
        }
    }

    /// config.json for `raw`; call [`WalkCache::rebase`] first.
    fn config_json(
        &mut self,
        baseline: &serde_json::Value,
        model: &Model,
        supplied: &Supplied,
        raw: &Config,
    ) -> Arc<serde_json::Value> {
        if let Some(doc) = self.config_json.get(raw) {
            return Arc::clone(doc);
        }
        let doc = Arc::new(config_json(baseline, model, supplied, raw));
        self.config_json.insert(raw.clone(), Arc::clone(&doc));
        doc
    }
}

/// Builds walk steps from raw configs applied one after the other from `start` (a raw
/// config): effective configs, changed axes and the model's prediction. Replays, the fuzzer
/// and the shrinker describe walks as configs; this turns them into what the runner executes.
pub fn steps_from(
    model: &Model,
    supplied: &Supplied,
    start: &Config,
    raws: impl IntoIterator<Item = Config>,
) -> Vec<Step> {
    steps_from_transitions(
        model,
        supplied,
        start,
        raws.into_iter().map(Transition::Apply),
    )
}

pub use crate::plan::steps_from_transitions;

/// How one step went, told to the [`Sink`] once its verdicts are in.
#[derive(Debug)]
pub struct StepReport<'a> {
    /// 0-based position in the walk.
    pub index: usize,
    pub step: &'a Step,
    /// The verdicts (all of them when the sink keeps passed ones, else the failures).
    pub verdicts: &'a Verdicts,
    pub ready: Readiness,
    /// Target-clock seconds for the whole step.
    pub seconds: f64,
    /// Wall-clock time the step took.
    pub wall: Duration,
}

impl StepReport<'_> {
    /// Whether every check of the step passed.
    pub fn passed(&self) -> bool {
        self.verdicts.failed == 0
    }
}

/// Where a run tells what happens.
pub trait Sink {
    /// Whether the sink wants journal events. When false the runner builds none, which is
    /// what makes the fast path fast.
    fn journaling(&self) -> bool;

    /// Whether passing verdicts are kept (and written) or only counted.
    fn keep_passed(&self) -> bool {
        self.journaling()
    }

    /// Records one event; only called when [`Sink::journaling`].
    fn event(&mut self, event: Event) -> std::io::Result<()>;

    /// Called after each step, for progress output.
    fn step_done(&mut self, _report: &StepReport<'_>) {}
}

impl Sink for JournalWriter {
    fn journaling(&self) -> bool {
        true
    }
    fn event(&mut self, event: Event) -> std::io::Result<()> {
        self.write(event)
    }
}

/// A sink that records nothing: the in-process fast path.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Sink for Quiet {
    fn journaling(&self) -> bool {
        false
    }
    fn event(&mut self, _event: Event) -> std::io::Result<()> {
        Ok(())
    }
}

/// A failed verdict and the step it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub step: usize,
    pub verdict: Verdict,
}

/// What a run amounted to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    pub steps_run: usize,
    pub steps_failed: usize,
    pub verdicts_passed: usize,
    pub verdicts_failed: usize,
    /// The first [`RunOptions::keep_failures`] failures, in order.
    pub failures: Vec<Failure>,
    /// Why the walk stopped early, if it did.
    pub stopped: Option<String>,
    /// Target-clock seconds of the whole walk.
    pub seconds: f64,
    /// Target-clock seconds to ready, per step run (a few bytes a step).
    pub ready_seconds: Vec<f64>,
}

impl RunOutcome {
    /// Whether every verdict passed.
    pub fn passed(&self) -> bool {
        self.verdicts_failed == 0
    }

    /// The process exit code: 0 when every verdict passed, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.passed() { 0 } else { 1 }
    }

    /// The first failure, if any.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }
}

/// Why a run could not finish (as opposed to finishing with failed verdicts).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("step {step}: {source}", step = .step.map_or("baseline".to_string(), |s| (s + 1).to_string()))]
    Target {
        step: Option<usize>,
        #[source]
        source: TargetError,
    },
    #[error("cannot write the journal: {0}; check the --out directory is writable and has space")]
    Journal(#[from] std::io::Error),
}

fn labels(model: &Model, config: &Config) -> crate::journal::Labels {
    model.labels(config)
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

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
    let (obs, _, waited, polls) = poll_until(target, policy.timeout, policy, |obs, now, quiet| {
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
    })
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

/// [`crate::target::poll_until`] with a readiness policy's pacing.
pub async fn poll_until<T: Target>(
    target: &mut T,
    timeout: Duration,
    policy: &ReadinessPolicy,
    holds: impl FnMut(&Observation, Duration, Option<bool>) -> bool,
) -> Result<(Observation, bool, Duration, u32), TargetError> {
    crate::target::poll_until(target, timeout, policy.first_poll, policy.max_poll, holds).await
}

/// Everything one step needs besides the target and the sink.
struct StepInput<'a> {
    model: &'a Model,
    supplied: &'a Supplied,
    baseline: &'a Baseline,
    index: usize,
    step: &'a Step,
    before: &'a Observation,
    options: &'a RunOptions,
}

/// Runs one step; returns the box's last observation (the next step's "before").
async fn run_step<T: Target, S: Sink>(
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
        sink.event(Event::Ready {
            step: index,
            reached: ready.reached,
            ended: ready.ended,
            seconds: ready.seconds,
            polls,
        })?;
        sink.event(Event::Observed {
            step: index,
            observation: after.clone(),
        })?;
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
        for v in &verdicts.list {
            sink.event(Event::Verdict {
                step: index,
                verdict: v.clone(),
            })?;
        }
        sink.event(Event::StepEnd {
            step: index,
            passed: verdicts.failed == 0,
            seconds: step_seconds,
        })?;
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
    if sink.journaling() {
        sink.event(Event::Verdict {
            step: index,
            verdict: verdict.clone(),
        })?;
        sink.event(Event::StepEnd {
            step: index,
            passed: false,
            seconds: seconds(after),
        })?;
    }
    let mut verdicts = Verdicts::new(true);
    verdicts.list.push(verdict.clone());
    verdicts.failed = 1;
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

/// The raw config a config.json describes: each axis's value whose JSON is at the axis's
/// path, the default where the key is absent or holds a value the model does not list.
pub fn config_of_json(model: &Model, supplied: &Supplied, doc: &serde_json::Value) -> Config {
    let mut c = model.default_config();
    for (i, axis) in model.axes.iter().enumerate() {
        let Some(found) = oracle::lookup(doc, &axis.path) else {
            continue;
        };
        if let Some(v) = axis
            .values
            .iter()
            .position(|v| &crate::model::fill_templates(&v.json, supplied) == found)
        {
            c.0[i] = v as u16;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_dotted_creates_and_replaces() {
        let mut doc = json!({"monero": {"mode": "local", "prune": true}, "x": 1});
        set_dotted(&mut doc, "monero.mode", json!("remote"));
        set_dotted(&mut doc, "monero.remote.host", json!("node.lan"));
        set_dotted(&mut doc, "x.y", json!(2));
        assert_eq!(
            doc,
            json!({"monero": {"mode": "remote", "prune": true, "remote": {"host": "node.lan"}}, "x": {"y": 2}})
        );
    }

    #[test]
    fn config_json_keeps_the_baselines_other_keys() {
        let m = crate::model::load_str(
            crate::model::BUILTIN_PITHEAD,
            std::path::Path::new("pithead.toml"),
        )
        .unwrap();
        let s = Supplied::default();
        let base = json!({"config_version": "2.0.0", "p2pool": {"wallet": "4abc", "pool": "main"}});
        let raw = m
            .config_from_labels(&m.default_config(), [("p2pool.pool", "nano")])
            .unwrap();
        let doc = config_json(&base, &m, &s, &raw);
        assert_eq!(doc["config_version"], "2.0.0");
        assert_eq!(doc["p2pool"]["wallet"], "4abc");
        assert_eq!(doc["p2pool"]["pool"], "nano");
        assert_eq!(doc["tari"]["mode"], "local");
    }

    /// With the sim's `next_change` hint, time-to-ready is the exact virtual millisecond the
    /// box became ready: not ready a millisecond before, ready then (a blind backoff would
    /// report the next poll after it).
    #[test]
    fn sim_time_to_ready_is_exact() {
        use crate::target::sim::SimTarget;
        let m = crate::model::load_str(
            crate::model::BUILTIN_PITHEAD,
            std::path::Path::new("pithead.toml"),
        )
        .unwrap();
        let s = Supplied::default();
        let d = m.default_config();
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

    #[test]
    fn steps_from_chains_predictions() {
        let m = crate::model::load_str(
            crate::model::BUILTIN_PITHEAD,
            std::path::Path::new("pithead.toml"),
        )
        .unwrap();
        let s = Supplied::default();
        let d = m.default_config();
        let a = m.config_from_labels(&d, [("p2pool.pool", "main")]).unwrap();
        let steps = steps_from(&m, &s, &d, [a.clone(), a, d.clone()]);
        assert_eq!(steps[0].prediction.recreated, ["p2pool"]);
        assert!(steps[1].prediction.is_noop());
        assert!(steps[1].changed.is_empty());
        assert_eq!(steps[2].changed, [m.axis_index("p2pool.pool").unwrap()]);
    }
}
