//! What the shrinker promises besides a small result: the same signature, only valid candidates
//! run, no sequence run twice, budgets respected, free trimming, flaky failures refused, and
//! generic steps (operations) handled like applies.

mod shrink_support;

use std::time::Duration;

use canary::model::{Config, Model, Supplied};
use canary::rng::Seed;
use canary::shrink::synthetic::{
    Fault, Rule, SyntheticOracle, Transition, decoy_signature, pithead_setting, random_config,
    target_signature,
};
use canary::shrink::{
    Confirmation, Failure, Oracle, Outcome, ShrinkOptions, Signature, Step, check_config, confirm,
    shrink, shrink_observed,
};
use shrink_support::shrink_with;

fn pithead() -> (Model, Supplied) {
    let s = pithead_setting(&Seed::from_u64(0), 1, false, 5).unwrap();
    (s.oracle.model, s.oracle.supplied)
}

#[test]
fn a_candidate_failing_with_another_signature_is_never_accepted() {
    let (model, supplied) = pithead();
    let base = model.default_config();
    let ax = |n: &str| model.axis_index(n).unwrap();
    let (xvb, secure, pool) = (ax("xvb.enabled"), ax("dashboard.secure"), ax("p2pool.pool"));
    let (main, mini, nano) = (0, 1, 2); // p2pool.pool values, in declaration order
    assert_eq!(base.0[pool], mini);
    // The decoy comes first: when both fire on one step, the decoy's signature is reported.
    let faults = vec![
        Fault {
            signature: decoy_signature(),
            rule: Rule::Transitions(vec![Transition {
                axis: pool,
                from: mini,
                to: nano,
            }]),
        },
        Fault {
            signature: target_signature(),
            rule: Rule::Transitions(vec![
                Transition {
                    axis: xvb,
                    from: 0,
                    to: 1,
                },
                Transition {
                    axis: secure,
                    from: 0,
                    to: 1,
                },
            ]),
        },
    ];
    let mut c0 = base.clone();
    c0.0[xvb] = 1;
    c0.0[pool] = main;
    let mut c1 = c0.clone();
    c1.0[pool] = nano;
    c1.0[secure] = 1;
    let mut oracle = SyntheticOracle::new(model.clone(), supplied.clone(), base, faults);
    let steps = vec![c0, c1];
    assert_eq!(
        oracle.evaluate(&steps).fails_with(&target_signature()),
        Some(1)
    );
    let failure = Failure {
        steps,
        signature: target_signature(),
        failed_at: 1,
    };
    let mut decoys = 0;
    let mut accepted_other = 0;
    let r = shrink_observed(
        &model,
        &supplied,
        &failure,
        &mut oracle,
        &ShrinkOptions::default(),
        &mut |e| {
            let outcome = match &e.settled {
                canary::shrink::Settled::Ran(o) | canary::shrink::Settled::Cached(o) => Some(o),
                _ => None,
            };
            if let Some(o) = outcome {
                if o.fails_with(&decoy_signature()).is_some() {
                    decoys += 1;
                }
                if e.accepted && o.fails_with(&target_signature()).is_none() {
                    accepted_other += 1;
                }
            }
        },
    );
    assert!(
        decoys > 0,
        "no candidate hit the decoy; the test proves nothing"
    );
    assert_eq!(accepted_other, 0);
    assert_eq!(
        oracle.evaluate(&r.minimal).fails_with(&target_signature()),
        Some(r.minimal.len() - 1)
    );
    assert_eq!(r.minimal.len(), 2);
    assert!(r.one_minimal);
}

#[test]
fn every_candidate_run_is_valid_and_none_runs_twice() {
    let mut refused = 0;
    for seed in 0..12 {
        let s = pithead_setting(
            &Seed::from_u64(seed),
            1 + (seed as usize % 3),
            seed % 2 == 0,
            40,
        )
        .unwrap();
        let (r, oracle) = shrink_with(&s, &s.failure, &ShrinkOptions::default());
        assert!(
            oracle.invalid.is_empty(),
            "seed {seed}: {:?}",
            oracle.invalid
        );
        assert_eq!(oracle.ran_twice(), None, "seed {seed}");
        assert_eq!(oracle.log.len(), r.runs);
        let executed: usize = oracle
            .log
            .iter()
            .map(|seq| oracle.evaluate(seq).applies())
            .sum();
        assert_eq!(
            executed, r.applies,
            "seed {seed}: applies are steps executed"
        );
        assert!(r.cache_hits > 0, "seed {seed}: the cache never answered");
        refused += r.invalid;
    }
    // Pithead's constraint (a view key needs a local node) does refuse some reverts.
    assert!(
        refused > 0,
        "no candidate was refused; validation went untested"
    );
}

#[test]
fn the_model_refuses_gated_values_and_broken_constraints() {
    let (model, _) = pithead();
    let nothing = Supplied::default();
    let mut c = model.default_config();
    assert!(check_config(&model, &nothing, &c).is_ok());
    c.0[model.axis_index("monero.mode").unwrap()] = 1; // remote: gated
    let err = check_config(&model, &nothing, &c).unwrap_err();
    assert!(err.contains("monero.mode=remote"), "{err}");
    let (_, all) = pithead();
    assert!(check_config(&model, &all, &c).is_ok());
    c.0[model.axis_index("monero.view_key").unwrap()] = 1; // set, with a remote node
    let err = check_config(&model, &all, &c).unwrap_err();
    assert!(err.contains("constraint"), "{err}");
    assert!(check_config(&model, &all, &Config(vec![0; 3])).is_err());
}

#[test]
fn the_apply_budget_is_never_exceeded() {
    let s = pithead_setting(&Seed::from_u64(3), 2, false, 50).unwrap();
    let unlimited = shrink_with(&s, &s.failure, &ShrinkOptions::default()).0;
    assert!(!unlimited.budget_exhausted);
    let u = unlimited.applies;
    assert!(u > 4, "{u}");
    for max in [0, u / 4, u / 2, u - 1] {
        let (r, oracle) = shrink_with(
            &s,
            &s.failure,
            &ShrinkOptions {
                max_applies: Some(max),
                ..ShrinkOptions::default()
            },
        );
        assert!(r.applies <= max, "budget {max}: spent {}", r.applies);
        assert!(r.budget_exhausted, "budget {max} of {u} was enough?");
        assert!(!r.one_minimal);
        // Whatever was reached is still a failing sequence with the signature.
        assert_eq!(
            oracle.evaluate(&r.minimal).fails_with(&target_signature()),
            Some(r.minimal.len() - 1)
        );
    }
}

#[test]
fn a_spent_time_budget_runs_nothing() {
    let s = pithead_setting(&Seed::from_u64(4), 2, false, 30).unwrap();
    let (r, oracle) = shrink_with(
        &s,
        &s.failure,
        &ShrinkOptions {
            max_time: Some(Duration::ZERO),
            ..ShrinkOptions::default()
        },
    );
    assert_eq!(r.runs, 0);
    assert!(oracle.log.is_empty());
    assert!(r.budget_exhausted);
    assert_eq!(r.minimal, s.failure.steps);
}

#[test]
fn steps_after_the_failure_are_trimmed_for_free() {
    let s = pithead_setting(&Seed::from_u64(5), 2, false, 20).unwrap();
    let mut rng = Seed::from_u64(5).rng("extra");
    let mut failure = s.failure.clone();
    for _ in 0..7 {
        failure
            .steps
            .push(random_config(&s.oracle.model, &s.oracle.supplied, &mut rng).unwrap());
    }
    let (r, oracle) = shrink_with(&s, &failure, &ShrinkOptions::default());
    let trim = r.passes.iter().find(|p| p.name == "trim").unwrap();
    assert_eq!(trim.steps_removed, 7);
    assert_eq!(trim.applies, 0);
    assert_eq!(r.progress[0].steps, 20);
    assert_eq!(r.progress[0].applies, 0);
    assert!(oracle.log.iter().all(|seq| seq.len() <= 20));
}

/// Fails like the synthetic oracle on odd runs, passes on even ones.
struct Flaky(SyntheticOracle, usize);

impl Oracle for Flaky {
    fn baseline(&self) -> &Config {
        &self.0.baseline
    }
    fn run(&mut self, steps: &[Config]) -> Outcome {
        self.1 += 1;
        if self.1.is_multiple_of(2) {
            Outcome::Pass {
                applies: steps.len(),
            }
        } else {
            self.0.run(steps)
        }
    }
}

#[test]
fn a_failure_that_does_not_reproduce_is_flaky() {
    let s = pithead_setting(&Seed::from_u64(6), 2, false, 15).unwrap();
    let sig = target_signature();
    match confirm(&s.failure.steps, &sig, &mut s.oracle.clone(), 3) {
        Confirmation::Reproduced { failure, applies } => {
            assert_eq!(failure.failed_at, 14);
            assert_eq!(applies, 45);
        }
        other => panic!("a deterministic failure was called flaky: {other:?}"),
    }
    match confirm(&s.failure.steps, &sig, &mut Flaky(s.oracle.clone(), 0), 3) {
        Confirmation::Flaky {
            reproduced,
            outcomes,
            ..
        } => {
            assert_eq!(reproduced, 2);
            assert_eq!(outcomes.len(), 3);
        }
        other => panic!("a flaky failure was confirmed: {other:?}"),
    }
    // Another signature than the one reported is not a reproduction either.
    let other = Signature::new("status_exit", "exit 1");
    assert!(matches!(
        confirm(&s.failure.steps, &other, &mut s.oracle.clone(), 2),
        Confirmation::Flaky { reproduced: 0, .. }
    ));
}

/// A step kind with an operation, as issue #7 will add: `Restart` leaves the config alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum OpStep {
    Apply(Config),
    Restart,
}

impl Step for OpStep {
    fn config(&self) -> Option<&Config> {
        match self {
            OpStep::Apply(c) => Some(c),
            OpStep::Restart => None,
        }
    }
    fn with_config(&self, config: Config) -> Self {
        OpStep::Apply(config)
    }
}

/// Fails when a restart follows a step that changed `axis` (a restart reusing old args).
struct RestartOracle {
    baseline: Config,
    axis: usize,
}

impl Oracle<OpStep> for RestartOracle {
    fn baseline(&self) -> &Config {
        &self.baseline
    }
    fn run(&mut self, steps: &[OpStep]) -> Outcome {
        let mut prev = self.baseline.clone();
        let mut dirty = false;
        for (i, s) in steps.iter().enumerate() {
            match s {
                OpStep::Apply(c) => {
                    dirty = c.0[self.axis] != prev.0[self.axis];
                    prev = c.clone();
                }
                OpStep::Restart if dirty => {
                    return Outcome::Fail {
                        signature: target_signature(),
                        failed_at: i,
                        applies: i + 1,
                    };
                }
                OpStep::Restart => {}
            }
        }
        Outcome::Pass {
            applies: steps.len(),
        }
    }
}

#[test]
fn operations_are_shrunk_like_applies() {
    let (model, supplied) = pithead();
    let axis = model.axis_index("p2pool.pool").unwrap();
    let base = model.default_config();
    let mut rng = Seed::from_u64(8).rng("ops");
    let mut steps = Vec::new();
    let mut oracle = RestartOracle {
        baseline: base,
        axis,
    };
    // A walk of applies and restarts that fails at its last step.
    loop {
        steps.push(if steps.len() % 3 == 2 {
            OpStep::Restart
        } else {
            OpStep::Apply(random_config(&model, &supplied, &mut rng).unwrap())
        });
        if let Outcome::Fail { failed_at, .. } = oracle.run(&steps) {
            steps.truncate(failed_at + 1);
            if steps.len() >= 6 {
                break;
            }
            steps.clear();
        }
    }
    let failure = Failure {
        failed_at: steps.len() - 1,
        steps,
        signature: target_signature(),
    };
    let r = shrink(
        &model,
        &supplied,
        &failure,
        &mut oracle,
        &ShrinkOptions::default(),
    );
    assert_eq!(r.minimal.len(), 2, "{:?}", r.minimal);
    assert_eq!(r.minimal[1], OpStep::Restart);
    let OpStep::Apply(c) = &r.minimal[0] else {
        panic!("{:?}", r.minimal)
    };
    let changed: Vec<usize> = (0..c.0.len())
        .filter(|&a| c.0[a] != oracle.baseline.0[a])
        .collect();
    assert_eq!(changed, vec![axis]);
    assert!(r.one_minimal);
}

#[test]
fn an_empty_failure_shrinks_to_itself_without_running() {
    let s = pithead_setting(&Seed::from_u64(9), 1, false, 5).unwrap();
    let failure = Failure {
        steps: Vec::new(),
        signature: target_signature(),
        failed_at: 0,
    };
    let (r, oracle) = shrink_with(&s, &failure, &ShrinkOptions::default());
    assert!(r.minimal.is_empty());
    assert_eq!(r.runs, 0);
    assert!(oracle.log.is_empty());
}
