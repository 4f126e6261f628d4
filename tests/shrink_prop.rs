//! Property: for random failing walks of a random synthetic failure, the shrunk sequence still
//! fails with the same signature at its last step, is no longer than the input, and no shorter
//! than the failure's breadth-first minimum. Seeded, so every run draws the same cases.

use canary::rng::Seed;
use canary::shrink::synthetic::{pithead_setting, target_signature};
use canary::shrink::{ShrinkOptions, shrink};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

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
        let mut oracle = s.oracle.clone();
        let r = shrink(
            &s.oracle.model,
            &s.oracle.supplied,
            &s.failure,
            &mut oracle,
            &ShrinkOptions::default(),
        );
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
