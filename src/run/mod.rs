//! The step runner: executes a walk on a [`Target`](crate::target::Target), one `pithead apply -y` per step, and has
//! the [`oracle`](crate::oracle) judge the box after each.
//!
//! A step: write config.json (the baseline's JSON with the step's keys set) → apply → poll
//! [`Target::observe`](crate::target::Target::observe) until the readiness predicate holds or its timeout passes on the
//! target's clock (never a fixed sleep) → a second apply that must be a no-op → observe →
//! verdicts. What happens is told to a [`Sink`]: the journal for `canary run`, or nothing at
//! all for the fuzzer's in-process fast path ([`check_walk`]), which keeps only the failures.
//!
//! Memory stays flat however long the walk: the runner holds the baseline, the previous
//! observation and the current step's verdicts, and streams everything else to the sink.
//!
//! By concern: `step.rs` runs one step, `walk.rs` a walk of them, `sink.rs` is where they
//! are told and what they amount to, `config_doc.rs` the config.json documents they write;
//! the options and the walk's steps are here.
//!
//! The seams for what comes next: box targets (fake box, SSH, mini-stack) are more
//! [`Target`](crate::target::Target)s; replaying a regression is [`run_walk`] over its saved steps ([`steps_from`]);
//! lifecycle operations become more step kinds judged by the same [`oracle::judge`].

pub mod box_fuzz;
pub mod box_replay;
pub mod box_run;
pub mod box_session;
pub mod box_shrink;
pub mod broken;
pub mod check;
mod config_doc;
pub mod console;
pub mod manifest;
mod operation;
mod position;
pub mod progress;
pub mod redacting;
pub mod resume;
mod saved;
pub mod session;
pub mod shrink_after;
pub mod shrink_journal;
mod sink;
mod step;
mod walk;

pub use config_doc::{Baseline, WalkCache, config_json, config_of_json, set_dotted, snapshot};
pub use position::Position;
pub use sink::{Failure, Quiet, RunError, RunOutcome, Sink, StepReport};
pub use step::wait_settled;
pub use walk::{check_walk, end_walk, run_walk, run_walk_cached};

/// Exit code when every verdict passed.
pub const EXIT_OK: i32 = 0;
/// Exit code when any verdict failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for usage, model or target errors (a run that could not finish).
pub const EXIT_USAGE: i32 = 2;
pub use saved::{SavedPlanError, SavedWalk, walk_from_plan_json};

use std::time::Duration;

use crate::model::{Config, Model, Supplied, Transition};
use crate::oracle;
use crate::plan::Step;

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

fn labels(model: &Model, config: &Config) -> crate::journal::Labels {
    model.labels(config)
}

/// The built-in model, for the unit tests.
#[cfg(test)]
pub(crate) fn test_pithead() -> Model {
    crate::model::load_str(
        crate::model::BUILTIN_PITHEAD,
        std::path::Path::new("pithead.toml"),
    )
    .unwrap()
}

/// The built-in model, no prerequisites supplied, and its default config: where most unit
/// tests of a walk start.
#[cfg(test)]
pub(crate) fn test_start() -> (Model, Supplied, Config) {
    let m = test_pithead();
    let d = m.default_config();
    (m, Supplied::default(), d)
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_from_chains_predictions() {
        let (m, s, d) = crate::run::test_start();
        let a = m.config_from_labels(&d, [("p2pool.pool", "main")]).unwrap();
        let steps = steps_from(&m, &s, &d, [a.clone(), a, d.clone()]);
        assert_eq!(steps[0].prediction.recreated, ["p2pool"]);
        assert!(steps[1].prediction.is_noop());
        assert!(steps[1].changed.is_empty());
        assert_eq!(steps[2].changed, [m.axis_index("p2pool.pool").unwrap()]);
    }
}
