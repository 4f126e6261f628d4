//! The shrinker's results: the known minimal length, 1-minimality checked independently of the
//! shrinker, and the cost target of issue #4 on the benchmark setting.

mod shrink_support;

use canary::model::Config;
use canary::rng::Seed;
use canary::shrink::synthetic::{
    Fault, Rule, Setting, SyntheticOracle, Transition, pithead_setting, target_signature,
};
use canary::shrink::{Failure, Oracle, ShrinkOptions, changes, shrink, validate};
use shrink_support::shrink_with;

/// Every single deletion and every single revert of a changed axis of `seq` either breaks the
/// model or no longer fails with the signature: checked with the oracle's pure evaluation.
fn assert_one_minimal(oracle: &SyntheticOracle, seq: &[Config]) {
    let sig = target_signature();
    let still_fails = |cand: &[Config]| {
        validate(&oracle.model, &oracle.supplied, cand).is_ok()
            && oracle.evaluate(cand).fails_with(&sig).is_some()
    };
    for i in 0..seq.len() {
        let mut cand = seq.to_vec();
        cand.remove(i);
        assert!(
            !still_fails(&cand),
            "deleting step {i} of {seq:?} still fails"
        );
    }
    for (i, axes) in changes(&oracle.model, &oracle.baseline, seq) {
        let prev = if i == 0 {
            oracle.baseline.clone()
        } else {
            seq[i - 1].clone()
        };
        for a in axes {
            let mut cand = seq.to_vec();
            cand[i].0[a] = prev.0[a];
            assert!(
                !still_fails(&cand),
                "reverting axis {a} of step {i} of {seq:?} still fails"
            );
        }
    }
}

fn shrink_setting(s: &Setting) -> (canary::shrink::ShrinkReport, SyntheticOracle) {
    shrink_with(s, &s.failure, &ShrinkOptions::default())
}

#[test]
fn reaches_the_known_minimal_length_for_one_two_and_three_transitions() {
    for transitions in 1..=3 {
        for seed in 0..8 {
            let s = pithead_setting(&Seed::from_u64(seed), transitions, false, 30)
                .expect("the setting has a failing walk");
            assert_eq!(s.minimal_length, transitions);
            let (r, oracle) = shrink_setting(&s);
            assert_eq!(r.minimal.len(), transitions, "seed {seed}: {:?}", r.minimal);
            assert!(r.one_minimal, "seed {seed}: not proven 1-minimal");
            assert!(!r.budget_exhausted);
            assert_eq!(
                oracle.evaluate(&r.minimal).fails_with(&target_signature()),
                Some(transitions - 1)
            );
            assert_one_minimal(&oracle, &r.minimal);
        }
    }
}

#[test]
fn simplifies_values_down_to_the_needed_changes() {
    // With the default config as baseline, the minimal sequence for k transitions changes
    // exactly one axis per step: the domain passes remove every other change.
    for seed in 0..8 {
        let s = pithead_setting(&Seed::from_u64(seed), 2, false, 50).unwrap();
        let (r, _) = shrink_setting(&s);
        let changed: Vec<usize> = changes(&s.oracle.model, &s.oracle.baseline, &r.minimal)
            .iter()
            .map(|(_, axes)| axes.len())
            .collect();
        assert_eq!(changed, vec![1, 1], "seed {seed}: {:?}", r.minimal);
        let simplest = r.passes.iter().find(|p| p.name == "simplest").unwrap();
        assert!(simplest.changes_removed > 0, "seed {seed}: {simplest:?}");
    }
}

#[test]
fn meets_the_cost_target_on_the_issue_setting() {
    // Issue #4: a 50-step walk whose failure needs 2 specific transitions shrinks to the
    // minimal sequence in at most 150 applies.
    for seed in 0..20 {
        let s = pithead_setting(&Seed::from_u64(seed), 2, false, 50).unwrap();
        let (r, _) = shrink_setting(&s);
        assert_eq!(r.minimal.len(), 2);
        let reached = r.applies_to_reach(2).unwrap();
        assert!(reached <= 150, "seed {seed}: {reached} applies");
        assert!(
            r.applies <= 150,
            "seed {seed}: {} applies in all",
            r.applies
        );
    }
}

#[test]
fn other_rule_kinds_shrink_to_their_breadth_first_minimum() {
    let base = pithead_setting(&Seed::from_u64(1), 1, false, 10).unwrap();
    let model = base.oracle.model.clone();
    let pool = model.axis_index("p2pool.pool").unwrap();
    let tari = model.axis_index("tari.mode").unwrap();
    let xvb = model.axis_index("xvb.enabled").unwrap();
    let rules = [
        Rule::NthChange { axis: pool, n: 3 },
        Rule::Reaches(vec![(pool, 2), (tari, 2)]),
        Rule::Transitions(vec![
            Transition {
                axis: xvb,
                from: 0,
                to: 1,
            },
            Transition {
                axis: xvb,
                from: 1,
                to: 0,
            },
        ]),
    ];
    for (k, rule) in rules.into_iter().enumerate() {
        let oracle = SyntheticOracle::new(
            model.clone(),
            base.oracle.supplied.clone(),
            base.oracle.baseline.clone(),
            vec![Fault {
                signature: target_signature(),
                rule,
            }],
        );
        let min = oracle.faults[0]
            .rule
            .minimal_length(&oracle.model, &oracle.supplied, &oracle.baseline)
            .unwrap();
        let mut rng = Seed::from_u64(k as u64).rng("test-walk");
        let steps = canary::shrink::synthetic::random_failing_walk(&oracle, 0, 25, &mut rng)
            .expect("a failing walk");
        let failure = Failure {
            failed_at: steps.len() - 1,
            steps,
            signature: target_signature(),
        };
        let mut run = oracle.clone();
        let r = shrink(
            &oracle.model,
            &oracle.supplied,
            &failure,
            &mut run,
            &ShrinkOptions::default(),
        );
        assert_eq!(r.minimal.len(), min, "rule {k}: {:?}", r.minimal);
        assert!(r.one_minimal);
        assert_one_minimal(&oracle, &r.minimal);
        assert_eq!(run.baseline(), &oracle.baseline);
    }
}
