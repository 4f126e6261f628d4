//! The operation-aware passes (issue #15): a failure at an operation after two transitions
//! shrinks to its breadth-first minimum, 1-minimal (checked independently of the shrinker); the
//! verdict cache answers exactly what the oracle would and only real runs count as applies;
//! walks of applies only never see the new passes.

use canary::model::{Config, OpGroup, Transition};
use canary::rng::Seed;
use canary::shrink::synthetic::{
    SyntheticOracle, pithead_operation_setting, pithead_setting, target_signature,
};
use canary::shrink::{
    Settled, ShrinkOptions, changes, configs_in_force, shrink, shrink_observed, validate_from,
};

/// Every single deletion and every single revert of a changed axis (to the config in force
/// before the step) breaks the model or no longer fails the same way.
fn assert_one_minimal(oracle: &SyntheticOracle<Transition>, seq: &[Transition]) {
    let (m, s, base) = (&oracle.model, &oracle.supplied, &oracle.baseline);
    let still_fails = |cand: &[Transition]| {
        validate_from(m, s, &OpGroup::ALL, base, cand).is_ok()
            && oracle
                .evaluate(cand)
                .fails_with(&target_signature())
                .is_some()
    };
    for i in 0..seq.len() {
        let mut cand = seq.to_vec();
        cand.remove(i);
        assert!(
            !still_fails(&cand),
            "deleting step {i} of {seq:?} still fails"
        );
    }
    let in_force = configs_in_force(m, base, seq);
    for (i, axes) in changes(m, base, seq) {
        for a in axes {
            let mut c: Config = seq[i].config().unwrap().clone();
            c.0[a] = in_force[i].0[a];
            let mut cand = seq.to_vec();
            cand[i] = Transition::Apply(c);
            assert!(
                !still_fails(&cand),
                "reverting axis {a} of step {i} still fails"
            );
        }
    }
}

#[test]
fn an_operation_after_two_transitions_shrinks_to_a_one_minimal_minimum() {
    let mut applies = Vec::new();
    let mut windows = 0;
    for seed in 0..12 {
        let s = pithead_operation_setting(&Seed::from_u64(seed), 2, 20, 50).unwrap();
        let mut o = s.oracle.clone();
        let r = shrink(
            &s.oracle.model,
            &s.oracle.supplied,
            &s.failure,
            &mut o,
            &ShrinkOptions::default(),
        );
        assert_eq!(
            r.minimal.len(),
            s.minimal_length,
            "seed {seed}: {:?}",
            r.minimal
        );
        assert_eq!(
            s.oracle
                .evaluate(&r.minimal)
                .fails_with(&target_signature()),
            Some(r.minimal.len() - 1)
        );
        assert!(r.one_minimal, "seed {seed}");
        assert_one_minimal(&s.oracle, &r.minimal);
        assert!(
            o.invalid.is_empty(),
            "seed {seed}: ran invalid {:?}",
            o.invalid
        );
        assert_eq!(o.ran_twice(), None, "seed {seed}");
        // Only real runs count: the applies are what the oracle executed.
        let ran: usize = o
            .log
            .iter()
            .map(|seq| s.oracle.evaluate(seq).applies())
            .sum();
        assert_eq!(r.applies, ran, "seed {seed}");
        let w = r.passes.iter().find(|p| p.name == "window").unwrap();
        windows += usize::from(w.accepted > 0);
        applies.push(r.applies);
    }
    // The window pass does the cutting on most walks (on all 12 when this was written).
    assert!(windows >= 9, "window accepted on {windows}/12: {applies:?}");
    // 94 when this was written (115 over seeds 0-49); the goal over 50 walks is 100.
    let mean = applies.iter().sum::<usize>() as f64 / applies.len() as f64;
    assert!(mean < 150.0, "mean {mean}: {applies:?}");
}

#[test]
fn the_cache_never_changes_a_verdict() {
    for seed in 0..8 {
        let s = pithead_operation_setting(&Seed::from_u64(seed), 2, 20, 50).unwrap();
        let mut o = s.oracle.clone();
        let mut cached = 0;
        let mut settled = 0;
        let r = shrink_observed(
            &s.oracle.model,
            &s.oracle.supplied,
            &s.failure,
            &mut o,
            &ShrinkOptions::default(),
            &mut |e| match &e.settled {
                Settled::Cached(out) | Settled::Ran(out) => {
                    settled += 1;
                    cached += usize::from(matches!(e.settled, Settled::Cached(_)));
                    assert_eq!(
                        *out,
                        s.oracle.evaluate(e.steps),
                        "seed {seed}: {:?}",
                        e.steps
                    );
                }
                _ => {}
            },
        );
        assert!(cached > 0, "seed {seed}: the cache answered nothing");
        assert_eq!(
            (r.cache_hits, r.candidates),
            (cached, settled),
            "seed {seed}"
        );
        assert_eq!(r.runs, o.log.len());
    }
}

#[test]
fn walks_of_applies_only_never_build_an_operation_pass_candidate() {
    for seed in 0..6 {
        let s = pithead_setting(&Seed::from_u64(seed), 2, false, 50).unwrap();
        let r = shrink(
            &s.oracle.model,
            &s.oracle.supplied,
            &s.failure,
            &mut s.oracle.clone(),
            &ShrinkOptions::default(),
        );
        for name in ["class", "window", "segment"] {
            let p = r.passes.iter().find(|p| p.name == name).unwrap();
            assert_eq!((p.candidates, p.invalid), (0, 0), "seed {seed}, {name}");
        }
        assert!(r.one_minimal);
    }
}
