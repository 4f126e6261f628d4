//! The axis strategies from a Rust property test, as a user of the library writes one.

mod model_support;

use canary::model::{Model, Supplied};
use canary::shrink::validate;
use canary::strategy;
use model_support::pithead;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

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

/// sha256 of the sequences seeds 0..40 generate (30 steps each, every prerequisite supplied so
/// the gated values move too), as JSON.
fn sequences_digest(m: &Model) -> String {
    use sha2::{Digest, Sha256};
    let s = Supplied(
        m.prerequisites
            .iter()
            .map(|p| (p.name.clone(), "yes".to_string()))
            .collect(),
    );
    let mut h = Sha256::new();
    for i in 0..40 {
        let seq = strategy::sequence_from_seed(m, &s, &canary::rng::Seed::from_u64(i), 30).unwrap();
        h.update(serde_json::to_string(&seq).unwrap().as_bytes());
    }
    hex::encode(h.finalize())
}

/// The committed regressions (`--by-seed`) and the fuzz tests' seeds rely on the generator
/// drawing the same sequences for the same seed. The digest was taken from the generator
/// before operations could be mixed in; a change to it must be deliberate.
#[test]
fn config_sequences_are_what_they_were_for_the_same_seed() {
    assert_eq!(
        sequences_digest(&pithead()),
        "d3fbfa6e43f22738f4ad1441a4501174304375c1274fd8d623585c84538e4ff2"
    );
}

#[test]
fn mixed_sequences_perform_only_enabled_operations_where_allowed() {
    use canary::model::OpGroup;
    let m = pithead();
    let s = Supplied(
        m.prerequisites
            .iter()
            .map(|p| (p.name.clone(), "yes".to_string()))
            .collect(),
    );
    let start = m.default_config();
    for groups in [vec![OpGroup::Faults], OpGroup::ALL.to_vec()] {
        let strat = strategy::mixed_sequence(&m, &s, &groups, 25).unwrap();
        proptest!(ProptestConfig::with_cases(64), |(steps in strat)| {
            prop_assert_eq!(steps.len(), 25);
            let valid = canary::shrink::validate_from(&m, &s, &groups, &start, &steps);
            prop_assert!(valid.is_ok(), "{:?}", valid);
        });
    }
}
