//! The fuzzer: runs random transition sequences ([`strategy`](crate::strategy)) on the
//! in-process fast path ([`run::run_walk_cached`], the
//! cached form of [`run::check_walk`]), and turns every new failure into a minimal,
//! confirmed reproduction ([`shrink`](crate::shrink)) ready to be saved as a regression.
//!
//! Case `i` of a run with seed `S` is generated from [`strategy::case_seed`]`(S, i)`, and that
//! case seed also seeds the simulated box, so a case reproduces alone from its own seed.
//! Failures are deduplicated by [`Signature`]: a failure whose signature was already found is
//! counted, not confirmed or shrunk again.
//!
//! Sequences mix config applies with the model's operations of the enabled groups
//! ([`FuzzOptions::operations`]); an operation step is run, counted, shrunk and saved like an
//! apply, and its `op.*` verdicts are failures like any other.
//!
//! The target is the simulated stack today ([`SimOracle`]); box targets will be more
//! [`Oracle`]s built by the same [`fuzz`] loop.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::faults::Fault;
use crate::journal::Verdict;
use crate::model::{Config, Model, OpGroup, Supplied, Transition};
use crate::rng::Seed;
use crate::run::{self, RunOptions};
use crate::shrink::{self, Confirmation, Oracle, Outcome, ShrinkOptions, ShrinkReport, Signature};
use crate::strategy::{self, Generator, NoValue};
use crate::target::sim::SimTarget;

/// The signature of a failed verdict: its check, and a kind of observation that stays the
/// same from run to run (`missing`/`unexpected` for lists, `exit N` for exit codes,
/// `mismatch` otherwise), never a raw value that depends on the config.
pub fn signature_of(v: &Verdict) -> Signature {
    use serde_json::Value;
    let kind = match (&v.observed, &v.expected) {
        (Value::Array(o), Value::Array(e)) => {
            let missing = e.iter().any(|x| !o.contains(x));
            let extra = o.iter().any(|x| !e.contains(x));
            match (missing, extra) {
                (true, false) => "missing".to_string(),
                (false, true) => "unexpected".to_string(),
                _ => "mismatch".to_string(),
            }
        }
        (Value::Number(n), _) if v.check.ends_with("_exit") => format!("exit {n}"),
        _ => "mismatch".to_string(),
    };
    Signature::new(v.check.clone(), kind)
}

/// The failure a failing run reports: the first, unless its step also failed `want`, so the
/// order of checks within a step does not change how a candidate is judged.
pub fn reported_failure<'f>(
    failures: &'f [run::Failure],
    want: Option<&Signature>,
) -> Option<&'f run::Failure> {
    let first = failures.first()?;
    want.and_then(|w| {
        failures
            .iter()
            .filter(|f| f.step == first.step)
            .find(|f| &signature_of(&f.verdict) == w)
    })
    .or(Some(first))
}

/// What the fuzz loop needs of where it runs its cases: the shrinker's [`Oracle`], plus a
/// fresh seed per case, the signature a candidate should report when its failing step fails
/// several, and the failing verdict of the last failing run.
pub trait CaseOracle: Oracle<Transition> {
    /// A new case begins with its own seed (the sim seeds its box with it; a box has none).
    fn begin_case(&mut self, case_seed: Seed);
    /// The signature to report when the failing step fails it among others.
    fn set_want(&mut self, want: Option<Signature>);
    /// The failing verdict of the last failing run, with its step.
    fn last_failure(&self) -> Option<&(usize, Verdict)>;
    /// Why no further case can run (a box that failed a command, a signal), if so.
    fn stopped(&self) -> Option<String> {
        None
    }
}

impl CaseOracle for SimOracle<'_> {
    fn begin_case(&mut self, case_seed: Seed) {
        self.set_seed(case_seed);
    }
    fn set_want(&mut self, want: Option<Signature>) {
        self.want = want;
    }
    fn last_failure(&self) -> Option<&(usize, Verdict)> {
        self.last_failure.as_ref()
    }
}

/// Replays sequences of transitions (applies and operations, through
/// [`run::steps_from_transitions`]) on a fresh simulated box each time (the sim with its
/// faults, seeded with the case seed), stopping at the first failing step. Implements the
/// shrinker's [`Oracle`] for [`Transition`]s, and for plain configs as applies.
pub struct SimOracle<'m> {
    model: &'m Model,
    supplied: &'m Supplied,
    seed: Seed,
    faults: Vec<Fault>,
    baseline: Config,
    runtime: tokio::runtime::Runtime,
    options: RunOptions,
    /// Expectations and config.json documents kept across runs: every run starts from the
    /// same baseline, so what one run computed for a config holds for the next.
    cache: run::WalkCache,
    /// When set, a failing step that fails this signature among others reports it, so the
    /// order of checks within a step does not change how a candidate is judged.
    pub want: Option<Signature>,
    /// Runs made.
    pub runs: usize,
    /// Steps applied over all runs.
    pub applies: usize,
    /// The failing verdict of the last failing run, with its step.
    pub last_failure: Option<(usize, Verdict)>,
}

impl<'m> SimOracle<'m> {
    /// An oracle on the simulated stack with `faults`, boxes seeded with `seed`.
    pub fn new(
        model: &'m Model,
        supplied: &'m Supplied,
        seed: Seed,
        faults: &[Fault],
    ) -> std::io::Result<SimOracle<'m>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        Ok(SimOracle {
            model,
            supplied,
            seed,
            faults: faults.to_vec(),
            baseline: model.default_config(),
            runtime,
            options: RunOptions {
                fail_fast: true,
                keep_failures: 64,
                ..RunOptions::default()
            },
            cache: run::WalkCache::new(),
            want: None,
            runs: 0,
            applies: 0,
            last_failure: None,
        })
    }

    /// Changes the seed of the boxes of later runs.
    pub fn set_seed(&mut self, seed: Seed) {
        self.seed = seed;
    }
}

impl Oracle<Config> for SimOracle<'_> {
    fn baseline(&self) -> &Config {
        &self.baseline
    }

    fn run(&mut self, steps: &[Config]) -> Outcome {
        let steps: Vec<Transition> = steps.iter().cloned().map(Transition::Apply).collect();
        Oracle::<Transition>::run(self, &steps)
    }
}

impl Oracle<Transition> for SimOracle<'_> {
    fn baseline(&self) -> &Config {
        &self.baseline
    }

    fn run(&mut self, steps: &[Transition]) -> Outcome {
        self.runs += 1;
        let mut target = SimTarget::new(self.seed, &self.faults);
        let planned = run::steps_from_transitions(
            self.model,
            self.supplied,
            &self.baseline,
            steps.iter().cloned(),
        );
        let (model, supplied, options, cache) =
            (self.model, self.supplied, &self.options, &mut self.cache);
        let result = self.runtime.block_on(async {
            let baseline = run::snapshot(&mut target)
                .await
                .map_err(|source| run::RunError::Target { step: None, source })?;
            run::run_walk_cached(
                &mut target,
                model,
                supplied,
                &baseline,
                &planned,
                options,
                &mut run::Quiet,
                cache,
            )
            .await
        });
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                // The simulated box does not fail its commands; if it ever does, that is a
                // failure of its own kind at the step it named.
                let failed_at = match &e {
                    run::RunError::Target { step, .. } => step.unwrap_or(0),
                    run::RunError::Journal(_) => 0,
                };
                self.applies += failed_at + 1;
                self.last_failure = None;
                return Outcome::Fail {
                    signature: Signature::new("target", "error"),
                    failed_at,
                    applies: failed_at + 1,
                };
            }
        };
        self.applies += out.steps_run;
        let Some(first) = out.failures.first() else {
            return Outcome::Pass {
                applies: out.steps_run,
            };
        };
        let at = first.step;
        let chosen = reported_failure(&out.failures, self.want.as_ref()).unwrap_or(first);
        self.last_failure = Some((at, chosen.verdict.clone()));
        Outcome::Fail {
            signature: signature_of(&chosen.verdict),
            failed_at: at,
            applies: at + 1,
        }
    }
}

/// What a fuzz run does.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub seed: Seed,
    /// Sequences to run.
    pub cases: usize,
    /// Steps per sequence.
    pub steps: usize,
    pub faults: Vec<Fault>,
    /// Operation groups mixed into the sequences (none: applies only, the sequences the
    /// fuzzer drew before operations existed).
    pub operations: Vec<OpGroup>,
    /// Collect every distinct failure instead of stopping at the first.
    pub keep_going: bool,
    /// Stop starting cases after this much wall time; a shrink running then stops too (its
    /// smallest failure so far is reported).
    pub time_budget: Option<Duration>,
    /// Budgets of each shrink.
    pub shrink: ShrinkOptions,
    /// Replays of a failure before shrinking it (each must fail the same way at the same
    /// step).
    pub confirm_runs: usize,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            seed: Seed::from_u64(0),
            cases: 100,
            steps: 20,
            faults: Vec::new(),
            operations: Vec::new(),
            keep_going: false,
            time_budget: None,
            shrink: ShrinkOptions::default(),
            confirm_runs: 2,
        }
    }
}

/// How a found failure ended.
#[derive(Debug, Clone)]
pub enum Found {
    /// It reproduced and was shrunk.
    Shrunk {
        report: Box<ShrinkReport<Transition>>,
        /// The minimal sequence's failing verdict (observed and expected values).
        verdict: Verdict,
    },
    /// It did not reproduce the same way on replay: reported, not shrunk.
    Flaky {
        reproduced: usize,
        outcomes: Vec<Outcome>,
    },
}

/// One distinct failure the fuzzer found.
#[derive(Debug, Clone)]
pub struct FuzzFailure {
    /// Index of the case that found it.
    pub case: usize,
    /// The case's own seed (generates its sequence and seeds its box).
    pub case_seed: Seed,
    pub signature: Signature,
    /// The generated sequence, as run (steps after the failing one never ran).
    pub sequence: Vec<Transition>,
    /// The first failing step of the generated sequence.
    pub failed_at: usize,
    /// The failing verdict as first seen.
    pub verdict: Verdict,
    pub found: Found,
}

impl FuzzFailure {
    /// The minimal sequence when it was shrunk.
    pub fn minimal(&self) -> Option<&[Transition]> {
        match &self.found {
            Found::Shrunk { report, .. } => Some(&report.minimal),
            Found::Flaky { .. } => None,
        }
    }
}

/// What a fuzz run amounted to.
#[derive(Debug, Clone, Default)]
pub struct FuzzReport {
    pub cases_run: usize,
    /// Steps applied by the cases (shrinking and confirming excluded).
    pub steps_run: usize,
    /// Distinct failures, in the order found.
    pub failures: Vec<FuzzFailure>,
    /// Failing cases whose signature had already been found.
    pub duplicates: usize,
    /// Whether the time budget stopped the run before all cases ran.
    pub out_of_time: bool,
    /// Wall time spent running cases (shrinking excluded).
    pub case_time: Duration,
    /// Why the run stopped before its cases were done (a box error, a signal).
    pub stopped: Option<String>,
}

/// What the fuzzer tells its caller as it goes.
#[derive(Debug)]
pub enum FuzzEvent<'a> {
    /// A case finished without a new failure.
    CaseDone { case: usize, failed: bool },
    /// A new failure was found, confirmed or not, and shrunk if it reproduced.
    Failure(&'a FuzzFailure),
}

/// Why a fuzz run could not start.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error(transparent)]
    NoValue(#[from] NoValue),
    #[error("cannot start the simulated target's runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Runs the fuzz cases on the simulated stack; see the module docs.
pub fn fuzz(
    model: &Model,
    supplied: &Supplied,
    options: &FuzzOptions,
    on_event: &mut dyn FnMut(FuzzEvent<'_>),
) -> Result<FuzzReport, FuzzError> {
    let mut oracle = SimOracle::new(model, supplied, options.seed, &options.faults)?;
    fuzz_on(model, supplied, options, &mut oracle, on_event)
}

/// Runs the fuzz cases through `oracle` (the simulated stack, or a box session), each case
/// from the oracle's baseline; see the module docs.
pub fn fuzz_on<O: CaseOracle>(
    model: &Model,
    supplied: &Supplied,
    options: &FuzzOptions,
    oracle: &mut O,
    on_event: &mut dyn FnMut(FuzzEvent<'_>),
) -> Result<FuzzReport, FuzzError> {
    let generator = Generator::new(model, supplied)?.with_operations(&options.operations);
    let shrink_options = ShrinkOptions {
        operations: options.operations.clone(),
        ..options.shrink.clone()
    };
    let start = oracle.baseline().clone();
    let oracle = &mut *oracle;
    let mut report = FuzzReport::default();
    let mut seen: BTreeSet<Signature> = BTreeSet::new();
    let began = Instant::now();
    for case in 0..options.cases {
        if options.time_budget.is_some_and(|b| began.elapsed() >= b) {
            report.out_of_time = true;
            break;
        }
        let case_seed = strategy::case_seed(&options.seed, case as u64);
        let sequence =
            generator.transitions(&mut case_seed.rng("fuzz.case"), &start, options.steps);
        oracle.begin_case(case_seed);
        oracle.set_want(None);
        let t = Instant::now();
        let outcome = oracle.run(&sequence);
        if let Some(why) = oracle.stopped() {
            report.stopped = Some(why);
            break;
        }
        report.case_time += t.elapsed();
        report.cases_run += 1;
        report.steps_run += outcome.applies();
        let Outcome::Fail {
            signature,
            failed_at,
            ..
        } = outcome
        else {
            on_event(FuzzEvent::CaseDone {
                case,
                failed: false,
            });
            continue;
        };
        if !seen.insert(signature.clone()) {
            report.duplicates += 1;
            on_event(FuzzEvent::CaseDone { case, failed: true });
            continue;
        }
        let verdict = oracle
            .last_failure()
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| target_error_verdict(&signature));
        oracle.set_want(Some(signature.clone()));
        let found = match shrink::confirm(&sequence, &signature, oracle, options.confirm_runs) {
            Confirmation::Flaky {
                reproduced,
                outcomes,
                ..
            } => Found::Flaky {
                reproduced,
                outcomes,
            },
            Confirmation::Reproduced { failure, .. } => {
                let left = options
                    .time_budget
                    .map(|b| b.saturating_sub(began.elapsed()));
                let shrunk = shrink::shrink(
                    model,
                    supplied,
                    &failure,
                    oracle,
                    &within(&shrink_options, left),
                );
                // Replay the minimal sequence once more for its observed/expected values.
                oracle.run(&shrunk.minimal);
                let verdict = oracle
                    .last_failure()
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| target_error_verdict(&signature));
                Found::Shrunk {
                    report: Box::new(shrunk),
                    verdict,
                }
            }
        };
        if let Some(why) = oracle.stopped() {
            // Stopped while confirming or shrinking: what was found is not trustworthy.
            report.stopped = Some(why);
            break;
        }
        report.failures.push(FuzzFailure {
            case,
            case_seed,
            signature,
            sequence,
            failed_at,
            verdict,
            found,
        });
        on_event(FuzzEvent::Failure(
            report.failures.last().expect("just pushed"),
        ));
        if !options.keep_going {
            break;
        }
    }
    Ok(report)
}

/// The shrink budgets capped by what is left of the run's time budget.
fn within(shrink: &ShrinkOptions, left: Option<Duration>) -> ShrinkOptions {
    let max_time = match (shrink.max_time, left) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    ShrinkOptions {
        max_time,
        ..shrink.clone()
    }
}

fn target_error_verdict(signature: &Signature) -> Verdict {
    Verdict {
        check: signature.check.clone(),
        passed: false,
        observed: serde_json::Value::String(signature.kind.clone()),
        expected: serde_json::Value::Null,
        message: "the target failed a command".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verdict(check: &str, observed: serde_json::Value, expected: serde_json::Value) -> Verdict {
        Verdict {
            check: check.into(),
            passed: false,
            observed,
            expected,
            message: String::new(),
        }
    }

    #[test]
    fn signatures_name_the_kind_not_the_values() {
        let s = |c, o, e| signature_of(&verdict(c, o, e)).to_string();
        assert_eq!(
            s("containers.running", json!(["a"]), json!(["a", "b"])),
            "containers.running (missing)"
        );
        assert_eq!(
            s("containers.absent", json!(["a", "x"]), json!(["a"])),
            "containers.absent (unexpected)"
        );
        assert_eq!(
            s("recreated", json!(["a"]), json!(["b"])),
            "recreated (mismatch)"
        );
        assert_eq!(s("status_exit", json!(1), json!(0)), "status_exit (exit 1)");
        // Values that depend on the config never enter the signature.
        assert_eq!(
            signature_of(&verdict("env.X", json!("a"), json!("b"))),
            signature_of(&verdict("env.X", json!("c"), json!("d")))
        );
    }

    /// The same fuzz run twice on the Pithead model, for the tests that it repeats.
    fn run_twice(options: FuzzOptions) -> (FuzzReport, FuzzReport) {
        let m = crate::run::test_pithead();
        let s = Supplied::default();
        let a = fuzz(&m, &s, &options, &mut |_| {}).unwrap();
        let b = fuzz(&m, &s, &options, &mut |_| {}).unwrap();
        (a, b)
    }

    #[test]
    fn a_fuzz_run_repeats_from_its_seed() {
        let (a, b) = run_twice(FuzzOptions {
            seed: Seed::from_u64(5),
            cases: 10,
            steps: 10,
            faults: vec![Fault::RenamedLeftoverContainer],
            keep_going: true,
            ..FuzzOptions::default()
        });
        assert_eq!(a.steps_run, b.steps_run);
        assert_eq!(a.failures.len(), b.failures.len());
        assert!(!a.failures.is_empty());
        for (x, y) in a.failures.iter().zip(&b.failures) {
            assert_eq!(x.case_seed, y.case_seed);
            assert_eq!(x.minimal(), y.minimal());
        }
        // A duplicate signature is counted, not shrunk again.
        let sigs: BTreeSet<_> = a.failures.iter().map(|f| &f.signature).collect();
        assert_eq!(sigs.len(), a.failures.len());
    }

    #[test]
    fn a_fuzz_run_with_operations_repeats_from_its_seed() {
        let (a, b) = run_twice(FuzzOptions {
            seed: Seed::from_u64(11),
            cases: 8,
            steps: 12,
            faults: vec![Fault::RestartRevertsArgs],
            operations: OpGroup::ALL.to_vec(),
            keep_going: true,
            ..FuzzOptions::default()
        });
        assert_eq!(a.steps_run, b.steps_run);
        assert!(!a.failures.is_empty());
        for (x, y) in a.failures.iter().zip(&b.failures) {
            assert_eq!(x.sequence, y.sequence);
            assert_eq!(x.minimal(), y.minimal());
        }
        // The walks mixed operations in.
        assert!(
            a.failures
                .iter()
                .any(|f| f.sequence.iter().any(|t| t.operation().is_some()))
        );
    }

    #[test]
    fn a_shrink_gets_at_most_what_is_left_of_the_time_budget() {
        let secs = Duration::from_secs;
        let own = |t: Option<u64>| ShrinkOptions {
            max_time: t.map(secs),
            ..ShrinkOptions::default()
        };
        assert_eq!(within(&own(None), Some(secs(3))).max_time, Some(secs(3)));
        assert_eq!(within(&own(Some(5)), Some(secs(3))).max_time, Some(secs(3)));
        assert_eq!(within(&own(Some(2)), Some(secs(3))).max_time, Some(secs(2)));
        assert_eq!(within(&own(Some(2)), None).max_time, Some(secs(2)));
        assert_eq!(within(&own(None), None).max_time, None);
    }

    #[test]
    fn a_spent_time_budget_starts_no_case() {
        let m = crate::run::test_pithead();
        let options = FuzzOptions {
            cases: 5,
            time_budget: Some(Duration::ZERO),
            ..FuzzOptions::default()
        };
        let r = fuzz(&m, &Supplied::default(), &options, &mut |_| {}).unwrap();
        assert!(r.out_of_time);
        assert_eq!(r.cases_run, 0);
    }
}
