//! The axis strategies from a Rust property test, as a user of the library writes one.

use canary::model::{self, Model, Supplied};
use canary::shrink::validate;
use canary::strategy;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn pithead() -> Model {
    model::load_str(model::BUILTIN_PITHEAD, std::path::Path::new("pithead.toml")).unwrap()
}

#[test]
fn generated_sequences_respect_constraints_and_gates() {
    let m = pithead();
    let s = Supplied::default();
    let seq = strategy::transition_sequence(&m, &s, 25).unwrap();
    proptest!(ProptestConfig::with_cases(64), |(steps in seq)| {
        prop_assert_eq!(steps.len(), 25);
        prop_assert!(validate(&m, &s, &steps).is_ok(), "{:?}", validate(&m, &s, &steps));
    });
}

#[test]
fn gated_values_appear_only_when_supplied() {
    let m = pithead();
    let subnet = m.axis_index("network.subnet").unwrap();
    let default = m.default_config().0[subnet];
    let moved = |s: &Supplied| {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        );
        let strat = strategy::transition_sequence(&m, s, 30).unwrap();
        (0..40).any(|_| {
            let steps = strat.new_tree(&mut runner).unwrap().current();
            steps.iter().any(|c| c.0[subnet] != default)
        })
    };
    assert!(!moved(&Supplied::default()));
    let mut s = Supplied::default();
    s.0.insert("subnet_cold_apply".into(), "yes".into());
    assert!(moved(&s));
}

#[test]
fn configs_are_valid() {
    let m = pithead();
    let s = Supplied::default();
    let strat = strategy::config(&m, &s).unwrap();
    proptest!(ProptestConfig::with_cases(128), |(c in strat)| {
        prop_assert!(canary::shrink::check_config(&m, &s, &c).is_ok());
    });
}
