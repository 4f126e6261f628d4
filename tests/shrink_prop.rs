//! Property: for random failing walks of a random synthetic failure, the shrunk sequence still
//! fails with the same signature at its last step, is no longer than the input, and no shorter
//! than the failure's breadth-first minimum. Seeded, so every run draws the same cases.

mod shrink_support;

use canary::rng::Seed;
use canary::shrink::ShrinkOptions;
use canary::shrink::synthetic::{pithead_setting, target_signature};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use shrink_support::shrink_with;

proptest! {
    #![proptest_config(Config {
        cases: 24,
        rng_seed: RngSeed::Fixed(4),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn shrunk_walks_fail_the_same_way_and_are_no_longer(
        seed in any::<u64>(),
        transitions in 1usize..=3,
        decoy in any::<bool>(),
        len in 4usize..40,
    ) {
        let Some(s) = pithead_setting(&Seed::from_u64(seed), transitions, decoy, len) else {
            return Ok(());
        };
        let (r, oracle) = shrink_with(&s, &s.failure, &ShrinkOptions::default());
        prop_assert!(r.minimal.len() <= s.failure.steps.len());
        prop_assert!(r.minimal.len() >= s.minimal_length);
        prop_assert_eq!(
            oracle.evaluate(&r.minimal).fails_with(&target_signature()),
            Some(r.minimal.len() - 1)
        );
        prop_assert!(r.one_minimal);
        prop_assert!(oracle.invalid.is_empty());
        prop_assert!(oracle.ran_twice().is_none());
    }
}
