//! The shrinker: reduces a failing transition sequence to a minimal one that still fails the
//! same way, spending as few **applies** as it can, because on a real box every apply costs
//! minutes.
//!
//! A sequence is a list of [`Step`]s run in order from the oracle's baseline config: config
//! applies, and operations of the model (restart, backup, restore, a fault), which cost like an
//! apply. The [`Oracle`] replays a candidate from the baseline and stops at the first failing
//! step, so a failing candidate costs `failed_at + 1` applies and a passing one costs its
//! length. The shrinker counts those applies, never runs a sequence twice (outcomes are
//! cached, and a cached failure answers every candidate sharing its prefix up to the failing
//! step), and re-validates every candidate against the model's constraints, gates and
//! operation preconditions before running it.
//!
//! The passes, in order, repeated until none makes progress (see [`shrinker`] for each one):
//! `trim` (drop everything after the first failing step, free); for a failure at an operation,
//! `class` (the operation alone, or after one apply of its state class from the baseline) and
//! `window` (the operation moved next to a window of the transitions before it, windows
//! shrinking geometrically); `suffix` (keep the shortest failing suffix, probing 1, 2, 4...
//! steps, the cheap candidates first), `prefix` (the same from the other end: the shortest
//! prefix that fails with the failing step), `delete` (right-to-left block deletion with
//! exponential probing); for a failure at an operation, `segment` (an apply dropped together
//! with the operations that ran on its config); `noop` (drop steps that change nothing),
//! `simplest` (reset whole axes to their default; skipped for a failure at an operation, where
//! `revert` alone is cheaper), `revert` (revert one axis of one step to the
//! value of the config in force before it) and `merge` (two applies as one, adjacent or with
//! only operations between them). A last `verify` pass proves the result 1-minimal: removing
//! any single step or reverting any single changed axis makes it pass, fail differently or
//! break the model. The operation passes never build a candidate for a walk of applies only.
//!
//! Operations are deleted and moved like applies; the value passes only touch applies. Two
//! things keep cuts through a walk with operations runnable: `suffix` and `prefix` try each cut
//! as it is and then *faithfully* (with the backup a kept restore needs, and an apply of the
//! config a kept operation ran on), and any candidate drops the operations it stranded before
//! its last step (a restore whose backup was cut). For walks of applies only, neither changes a
//! candidate.
//!
//! Before shrinking, [`confirm`] replays the original failure; a failure that does not
//! reproduce is reported as flaky and not shrunk.
//!
//! [`reference`] holds the classic shrinkers canary is measured against (benchmark only) and
//! [`synthetic`] the deterministic oracle the tests and the benchmark shrink against.

pub mod reference;
mod session;
mod shrinker;
pub mod synthetic;

use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use crate::model::{Config, Model, OpGroup, OpKind, Supplied, Transition};

pub use shrinker::{shrink, shrink_observed};

/// One step of a transition sequence: a config apply, or an operation of the model (restart,
/// backup, restore, a fault). The shrinker is generic over the step type: it deletes, moves and
/// merges any step, and simplifies the config of the steps that carry one.
pub trait Step: Clone + Eq + Hash + fmt::Debug {
    /// The raw config this step writes into config.json and applies, or `None` for a step that
    /// leaves config.json alone (an operation).
    fn config(&self) -> Option<&Config>;

    /// This step with its config replaced. Only called on steps whose [`Step::config`] is
    /// `Some`.
    fn with_config(&self, config: Config) -> Self;

    /// One step doing the work of `self` then `later` as a single apply, when that means
    /// something. Two config applies merge into the later one (configs are whole, so the later
    /// config already says everything); other pairs do not merge by default.
    fn merge(&self, later: &Self) -> Option<Self> {
        (self.config().is_some() && later.config().is_some()).then(|| later.clone())
    }

    /// Whether this step may run after `earlier`, for preconditions the model does not hold
    /// (a step type of a test). Config applies may follow anything; the preconditions of the
    /// model's operations ([`Step::operation`]) are checked by [`validate_from`].
    fn allowed_after(&self, _earlier: &[Self]) -> bool {
        true
    }

    /// The model operation this step performs (an index into
    /// [`Model::operations`](crate::model::Model::operations)), or `None` for an apply or a step
    /// the model does not know. Validation checks an operation's preconditions, and a restore
    /// puts the config of the last backup back in force.
    fn operation(&self) -> Option<usize> {
        None
    }
}

impl Step for Config {
    fn config(&self) -> Option<&Config> {
        Some(self)
    }
    fn with_config(&self, config: Config) -> Self {
        config
    }
}

/// Walks of applies and operations: applies merge into the later apply, operations never
/// merge (each is its own step on the box).
impl Step for Transition {
    fn config(&self) -> Option<&Config> {
        Transition::config(self)
    }
    fn with_config(&self, config: Config) -> Self {
        Transition::Apply(config)
    }
    fn operation(&self) -> Option<usize> {
        Transition::operation(self)
    }
}

/// The raw config in force before each step of `steps` run from `start`, and after the last
/// (so `steps.len() + 1` entries): an apply puts its config in force; an operation keeps it,
/// except a restore, which brings back the config in force at the last backup before it (what
/// [`run::steps_from_transitions`](crate::run::steps_from_transitions) executes). Operation
/// indices the model does not have change nothing here; [`validate_from`] refuses them.
pub fn configs_in_force<'a, S: Step>(
    model: &Model,
    start: &'a Config,
    steps: &'a [S],
) -> Vec<&'a Config> {
    let mut out = Vec::with_capacity(steps.len() + 1);
    let mut raw = start;
    let mut backup: Option<&Config> = None;
    out.push(raw);
    for s in steps {
        if let Some(c) = s.config() {
            raw = c;
        } else if let Some(op) = s.operation().and_then(|i| model.operations.get(i)) {
            if op.kind == OpKind::Backup {
                backup = Some(raw);
            }
            if op.changes_config()
                && let Some(b) = backup
            {
                raw = b;
            }
        }
        out.push(raw);
    }
    out
}

/// How a run failed: the failing check and the kind of observation that failed it. Two failures
/// are "the same" for the shrinker when their signatures are equal.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Signature {
    /// Stable check name (`containers`, `status_exit`, `recreated`, ...).
    pub check: String,
    /// The kind of observation (`missing`, `unexpected`, `exit 1`, ...), never a raw value that
    /// changes from run to run.
    pub kind: String,
}

impl Signature {
    /// A signature from its two parts.
    pub fn new(check: impl Into<String>, kind: impl Into<String>) -> Signature {
        Signature {
            check: check.into(),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.check, self.kind)
    }
}

/// What one replay of a sequence from the baseline gave.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every step passed; `applies` steps were executed (the sequence's length).
    Pass { applies: usize },
    /// The step at `failed_at` failed with `signature`; the run stopped there, so `applies`
    /// is `failed_at + 1`.
    Fail {
        signature: Signature,
        failed_at: usize,
        applies: usize,
    },
}

impl Outcome {
    /// Applies the run executed.
    pub fn applies(&self) -> usize {
        match self {
            Outcome::Pass { applies } | Outcome::Fail { applies, .. } => *applies,
        }
    }

    /// The failing step's index when the run failed with `signature`.
    pub fn fails_with(&self, signature: &Signature) -> Option<usize> {
        match self {
            Outcome::Fail {
                signature: s,
                failed_at,
                ..
            } if s == signature => Some(*failed_at),
            _ => None,
        }
    }
}

/// Runs candidate sequences. Each run starts from the baseline and applies the steps in order,
/// stopping at the first failing step; each step executed costs one apply.
pub trait Oracle<S: Step = Config> {
    /// The config every run starts from (the box's state before the first step).
    fn baseline(&self) -> &Config;
    /// Replays `steps` from the baseline.
    fn run(&mut self, steps: &[S]) -> Outcome;
}

/// A reproduced failure: the sequence, how it failed and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<S = Config> {
    /// The failing sequence; steps after `failed_at` may be present (the shrinker drops them).
    pub steps: Vec<S>,
    pub signature: Signature,
    /// Index of the first failing step.
    pub failed_at: usize,
}

/// Budgets and switches of one shrink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShrinkOptions {
    /// Stop before running a candidate that could take the total past this many applies (a
    /// candidate may cost up to its length).
    pub max_applies: Option<usize>,
    /// Stop running candidates once this much wall time has passed (the only nondeterministic
    /// input of a shrink; leave it `None` where results must repeat).
    pub max_time: Option<Duration>,
    /// Prove the result 1-minimal at the end (its candidates are mostly cached by then).
    pub verify: bool,
    /// Operation groups a candidate may perform. The shrinker only deletes and moves the
    /// operations of the failure it was given, so this matters for a failure from elsewhere
    /// (a hand-written sequence); the fuzzer passes the groups it generated with.
    pub operations: Vec<OpGroup>,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions {
            max_applies: None,
            max_time: None,
            verify: true,
            operations: OpGroup::ALL.to_vec(),
        }
    }
}

/// The shrinker's passes, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pass {
    /// Drop the steps after the first failing one (free: they never ran).
    Trim,
    /// For a failure at an operation: the operation alone, or after one apply of its state
    /// class (or of the whole config it ran on) from the baseline.
    Class,
    /// For a failure at an operation: the operation moved earlier, right after a window of the
    /// transitions before it (halving windows of the configs in force).
    Window,
    /// Keep only the shortest failing suffix, probing 1, 2, 4... steps.
    Suffix,
    /// Keep the shortest prefix that fails together with the failing step.
    Prefix,
    /// Right-to-left block deletion with exponential probing.
    Delete,
    /// For a failure at an operation: drop an apply together with the operations that ran on
    /// its config.
    Segment,
    /// Drop steps that change nothing relative to the previous config.
    Noop,
    /// Reset whole axes to their default value in every step.
    Simplest,
    /// Revert one axis of one step to its value in the previous step.
    Revert,
    /// Apply two applies as one: adjacent, or with only operations between them (the one
    /// apply then runs before those operations with the later config, or after them with the
    /// earlier one).
    Merge,
    /// The final 1-minimality check: every single deletion and single revert.
    Verify,
}

impl Pass {
    /// Every pass, in order.
    pub const ALL: [Pass; 12] = [
        Pass::Trim,
        Pass::Class,
        Pass::Window,
        Pass::Suffix,
        Pass::Prefix,
        Pass::Delete,
        Pass::Segment,
        Pass::Noop,
        Pass::Simplest,
        Pass::Revert,
        Pass::Merge,
        Pass::Verify,
    ];

    /// The pass's name in reports and journals.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Trim => "trim",
            Pass::Class => "class",
            Pass::Window => "window",
            Pass::Segment => "segment",
            Pass::Suffix => "suffix",
            Pass::Prefix => "prefix",
            Pass::Delete => "delete",
            Pass::Noop => "noop",
            Pass::Simplest => "simplest",
            Pass::Revert => "revert",
            Pass::Merge => "merge",
            Pass::Verify => "verify",
        }
    }
}

/// What one pass did over the whole shrink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassStat {
    pub name: &'static str,
    /// Valid candidates the pass built (run or answered by the cache).
    pub candidates: usize,
    /// Candidates refused by the model's constraints or gates (never run).
    pub invalid: usize,
    /// Candidates answered by the cache (no apply).
    pub cache_hits: usize,
    /// Candidates accepted (still failing the same way, and smaller).
    pub accepted: usize,
    /// Steps the accepted candidates removed.
    pub steps_removed: usize,
    /// Changed axes (an axis differing from the previous step) the accepted candidates removed.
    pub changes_removed: usize,
    /// Applies the pass's runs cost.
    pub applies: usize,
}

/// The shrink's state after an accepted candidate, for cost-to-reach figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Total applies spent when the candidate was accepted.
    pub applies: usize,
    /// Its length in steps.
    pub steps: usize,
    /// Its changed axes, summed over steps.
    pub changes: usize,
}

/// What a shrink found and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShrinkReport<S = Config> {
    /// The smallest sequence found that fails with the same signature (at its last step).
    pub minimal: Vec<S>,
    pub signature: Signature,
    /// Applies spent running candidates.
    pub applies: usize,
    /// Oracle runs (each costs its executed steps in applies).
    pub runs: usize,
    /// Valid candidates considered, run or answered by the cache.
    pub candidates: usize,
    /// Candidates answered by the cache.
    pub cache_hits: usize,
    /// Candidates refused by the model (never run).
    pub invalid: usize,
    /// Per pass, in [`Pass::ALL`] order.
    pub passes: Vec<PassStat>,
    /// The state after every accepted candidate, oldest first (the trimmed input first).
    pub progress: Vec<Progress>,
    /// Whether the final check proved the result 1-minimal.
    pub one_minimal: bool,
    /// Whether a budget stopped the shrink early.
    pub budget_exhausted: bool,
}

impl<S> ShrinkReport<S> {
    /// Applies spent before the result first got down to `steps` steps.
    pub fn applies_to_reach(&self, steps: usize) -> Option<usize> {
        self.progress
            .iter()
            .find(|p| p.steps <= steps)
            .map(|p| p.applies)
    }
}

/// How a candidate was settled, for observers (the journal's shrink lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Refused by the model; never run.
    Invalid { step: usize, reason: String },
    /// Not run: a budget is spent.
    OverBudget,
    /// Answered by the cache.
    Cached(Outcome),
    /// Run on the oracle.
    Ran(Outcome),
}

/// One candidate the shrinker considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateEvent<'a, S> {
    pub pass: Pass,
    pub steps: &'a [S],
    pub settled: Settled,
    /// Whether it became the new smallest failing sequence.
    pub accepted: bool,
}

/// Why a sequence may not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {reason}")]
pub struct Invalid {
    /// 0-based index of the offending step.
    pub step: usize,
    pub reason: String,
}

/// Checks a sequence run from the model's default config with every operation group enabled;
/// see [`validate_from`].
pub fn validate<S: Step>(model: &Model, supplied: &Supplied, steps: &[S]) -> Result<(), Invalid> {
    validate_from(
        model,
        supplied,
        &OpGroup::ALL,
        &model.default_config(),
        steps,
    )
}

/// Checks a sequence run from `start` against the model: every config has one known value per
/// axis, uses only values allowed with what was supplied (gates) and breaks no constraint;
/// every operation is one the model has, of an `enabled` group, allowed on the effective
/// config it runs on, and a restore comes after a backup; every other precondition
/// ([`Step::allowed_after`]) holds.
pub fn validate_from<S: Step>(
    model: &Model,
    supplied: &Supplied,
    enabled: &[OpGroup],
    start: &Config,
    steps: &[S],
) -> Result<(), Invalid> {
    let in_force = configs_in_force(model, start, steps);
    let mut backed_up = false;
    for (i, step) in steps.iter().enumerate() {
        let invalid = |reason: String| Invalid { step: i, reason };
        if let Some(c) = step.config() {
            check_config(model, supplied, c).map_err(invalid)?;
        }
        if let Some(o) = step.operation() {
            let op = model.operations.get(o).ok_or_else(|| {
                invalid(format!(
                    "the model has no operation #{o} (it has {})",
                    model.operations.len()
                ))
            })?;
            check_operation(model, op, enabled, in_force[i], backed_up).map_err(invalid)?;
            backed_up |= op.kind == OpKind::Backup;
        }
        if !step.allowed_after(&steps[..i]) {
            return Err(invalid(
                "its precondition does not hold after the earlier steps".into(),
            ));
        }
    }
    Ok(())
}

/// Checks one operation about to run on a box whose raw config is `raw`.
pub fn check_operation(
    model: &Model,
    op: &crate::model::Operation,
    enabled: &[OpGroup],
    raw: &Config,
    backed_up: bool,
) -> Result<(), String> {
    if !enabled.contains(&op.group) {
        return Err(format!(
            "operation '{}' is in group '{}', which is not enabled",
            op.name,
            op.group.name()
        ));
    }
    if !op.allowed_on(&model.effective(raw).0) {
        return Err(format!(
            "operation '{}' requires {}, which the config it runs on does not hold",
            op.name,
            op.requires_text.as_deref().unwrap_or("its precondition")
        ));
    }
    if op.needs_backup() && !backed_up {
        return Err(format!(
            "operation '{}' needs a backup earlier in the walk",
            op.name
        ));
    }
    Ok(())
}

/// Checks one raw config against the model's axes, gates and constraints.
pub fn check_config(model: &Model, supplied: &Supplied, c: &Config) -> Result<(), String> {
    if c.0.len() != model.axes.len() {
        return Err(format!(
            "config has {} values but the model has {} axes",
            c.0.len(),
            model.axes.len()
        ));
    }
    for (a, (&v, axis)) in c.0.iter().zip(&model.axes).enumerate() {
        if v as usize >= axis.values.len() {
            return Err(format!("axis '{}' has no value #{v}", axis.name));
        }
        if !model.value_allowed(a, v, supplied) {
            return Err(format!(
                "{}={} is gated and its prerequisites were not supplied",
                axis.name,
                model.label(a, v)
            ));
        }
    }
    if let Some(broken) = model.violation(&c.0) {
        return Err(format!("breaks constraint {}", broken.text));
    }
    Ok(())
}

/// The result of replaying a failure before shrinking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation<S = Config> {
    /// Every replay failed with the signature at the same step.
    Reproduced { failure: Failure<S>, applies: usize },
    /// At least one replay passed, failed differently or failed at another step: the failure
    /// is flaky and must not be shrunk (the shrinker assumes a deterministic box).
    Flaky {
        /// Replays that failed with the signature (at any step).
        reproduced: usize,
        /// Every replay's outcome, in order.
        outcomes: Vec<Outcome>,
        applies: usize,
    },
}

/// Replays `steps` `times` times (at least once) and says whether the failure with `signature`
/// reproduces every time at the same step.
pub fn confirm<S: Step, O: Oracle<S>>(
    steps: &[S],
    signature: &Signature,
    oracle: &mut O,
    times: usize,
) -> Confirmation<S> {
    let outcomes: Vec<Outcome> = (0..times.max(1)).map(|_| oracle.run(steps)).collect();
    let applies = outcomes.iter().map(Outcome::applies).sum();
    let at: Vec<Option<usize>> = outcomes.iter().map(|o| o.fails_with(signature)).collect();
    let reproduced = at.iter().filter(|a| a.is_some()).count();
    match at[0] {
        Some(failed_at) if at.iter().all(|a| *a == Some(failed_at)) => Confirmation::Reproduced {
            failure: Failure {
                steps: steps.to_vec(),
                signature: signature.clone(),
                failed_at,
            },
            applies,
        },
        _ => Confirmation::Flaky {
            reproduced,
            outcomes,
            applies,
        },
    }
}

/// Steps whose config differs from the config in force before them ([`configs_in_force`]:
/// the previous apply's, the baseline's for the first, the backup's after a restore), with the
/// changed axes, in step order. Steps without a config never change anything here.
pub fn changes<S: Step>(model: &Model, baseline: &Config, steps: &[S]) -> Vec<(usize, Vec<usize>)> {
    let in_force = configs_in_force(model, baseline, steps);
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if let Some(c) = s.config() {
            let prev = in_force[i];
            let changed: Vec<usize> = (0..c.0.len()).filter(|&a| c.0[a] != prev.0[a]).collect();
            out.push((i, changed));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BUILTIN_PITHEAD, load_str};

    fn pithead() -> (Model, Supplied) {
        let m = load_str(BUILTIN_PITHEAD, std::path::Path::new("p.toml")).unwrap();
        let s = Supplied(
            m.prerequisites
                .iter()
                .map(|p| (p.name.clone(), "yes".to_string()))
                .collect(),
        );
        (m, s)
    }

    fn op(m: &Model, name: &str) -> Transition {
        Transition::Operate(m.operation_index(name).unwrap() as u16)
    }

    /// The default config with `axis` set to `value`.
    fn with(m: &Model, axis: &str, value: &str) -> Config {
        let mut c = m.default_config();
        let a = m.axis_index(axis).unwrap();
        c.0[a] = m.axes[a].value_index(value).unwrap();
        c
    }

    #[test]
    fn a_restore_brings_back_the_config_in_force_at_the_last_backup() {
        let (m, _) = pithead();
        let base = m.default_config();
        let (x, y) = (
            with(&m, "p2pool.pool", "main"),
            with(&m, "p2pool.pool", "nano"),
        );
        let steps = vec![
            Transition::Apply(x.clone()),
            op(&m, "backup"),
            Transition::Apply(y.clone()),
            op(&m, "restart"),
            op(&m, "restore"),
            Transition::Apply(y.clone()),
        ];
        let in_force: Vec<Config> = configs_in_force(&m, &base, &steps)
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(in_force, [&base, &x, &x, &y, &y, &x, &y].map(Clone::clone));
        // The last apply changes the pool back from the restored config: not a no-op.
        let pool = m.axis_index("p2pool.pool").unwrap();
        assert_eq!(
            changes(&m, &base, &steps),
            vec![(0, vec![pool]), (2, vec![pool]), (5, vec![pool])]
        );
    }

    #[test]
    fn operations_are_checked_where_they_run() {
        let (m, s) = pithead();
        let base = m.default_config();
        let all = &OpGroup::ALL;
        let check = |enabled: &[OpGroup], steps: &[Transition]| {
            validate_from(&m, &s, enabled, &base, steps).map_err(|e| (e.step, e.reason))
        };
        let remote = Transition::Apply(with(&m, "monero.mode", "remote"));
        assert_eq!(check(all, &[op(&m, "node-down"), remote.clone()]), Ok(()));
        // node-down requires a local node.
        let e = check(all, &[remote.clone(), op(&m, "node-down")]).unwrap_err();
        assert_eq!(e.0, 1);
        assert!(
            e.1.contains("node-down") && e.1.contains("monero.mode"),
            "{e:?}"
        );
        // A restore needs a backup before it, and brings back a local node.
        let e = check(all, &[op(&m, "restore")]).unwrap_err();
        assert!(e.1.contains("needs a backup"), "{e:?}");
        assert_eq!(
            check(
                all,
                &[
                    op(&m, "backup"),
                    remote.clone(),
                    op(&m, "restore"),
                    op(&m, "node-down")
                ]
            ),
            Ok(())
        );
        // Only enabled groups.
        let e = check(&[OpGroup::Lifecycle], &[op(&m, "node-down")]).unwrap_err();
        assert!(e.1.contains("group 'faults'"), "{e:?}");
        assert_eq!(check(&[OpGroup::Lifecycle], &[op(&m, "restart")]), Ok(()));
        // An index the model does not have.
        let e = check(all, &[Transition::Operate(999)]).unwrap_err();
        assert!(e.1.contains("no operation #999"), "{e:?}");
        // Configs are still checked: a gated value without its prerequisite.
        let none = Supplied::default();
        assert!(validate_from(&m, &none, all, &base, &[remote]).is_err());
    }

    #[test]
    fn applies_merge_into_the_later_apply_and_operations_never_merge() {
        let (m, _) = pithead();
        let (x, y) = (
            Transition::Apply(with(&m, "p2pool.pool", "main")),
            Transition::Apply(with(&m, "tari.mode", "off")),
        );
        let r = op(&m, "restart");
        assert_eq!(x.merge(&y), Some(y.clone()));
        assert_eq!(x.merge(&r), None);
        assert_eq!(r.merge(&y), None);
        assert_eq!(r.merge(&r), None);
        assert_eq!(Step::operation(&r), m.operation_index("restart"));
        assert_eq!(Step::operation(&x), None);
    }
}
