//! The benchmark's reference shrinkers are honest: their results still fail the same way, they
//! delete steps only, and their apply counts are the steps their runs executed.

use canary::rng::Seed;
use canary::shrink::reference::{ddmin, hypothesis_blocks, proptest_one_at_a_time};
use canary::shrink::synthetic::{pithead_setting, target_signature};

#[test]
fn references_return_failing_subsequences_and_count_applies_honestly() {
    for seed in 0..6 {
        let s = pithead_setting(&Seed::from_u64(seed), 2, seed % 2 == 1, 30).unwrap();
        let (m, sup, f) = (&s.oracle.model, &s.oracle.supplied, &s.failure);
        for which in 0..3 {
            let mut oracle = s.oracle.clone();
            let r = match which {
                0 => proptest_one_at_a_time(m, sup, f, &mut oracle, None),
                1 => ddmin(m, sup, f, &mut oracle, None),
                _ => hypothesis_blocks(m, sup, f, &mut oracle, None),
            };
            assert!(
                oracle
                    .evaluate(&r.minimal)
                    .fails_with(&target_signature())
                    .is_some(),
                "{}: seed {seed}",
                r.name
            );
            assert!(r.minimal.len() >= s.minimal_length);
            // A subsequence of the input, in order.
            let mut it = f.steps.iter();
            assert!(r.minimal.iter().all(|c| it.any(|x| x == c)), "{}", r.name);
            let executed: usize = oracle
                .log
                .iter()
                .map(|q| oracle.evaluate(q).applies())
                .sum();
            assert_eq!(executed, r.applies, "{}", r.name);
            assert!(oracle.invalid.is_empty());
            if which > 0 {
                assert!(oracle.ran_twice().is_none(), "{} reran a sequence", r.name);
            }
        }
    }
}

#[test]
fn references_respect_the_apply_budget() {
    let s = pithead_setting(&Seed::from_u64(2), 2, false, 50).unwrap();
    let (m, sup, f) = (&s.oracle.model, &s.oracle.supplied, &s.failure);
    let p = proptest_one_at_a_time(m, sup, f, &mut s.oracle.clone(), Some(100));
    let d = ddmin(m, sup, f, &mut s.oracle.clone(), Some(60));
    let h = hypothesis_blocks(m, sup, f, &mut s.oracle.clone(), Some(80));
    assert!(p.applies <= 100 && p.budget_exhausted);
    assert!(d.applies <= 60 && d.budget_exhausted);
    assert!(h.applies <= 80 && h.budget_exhausted);
}
