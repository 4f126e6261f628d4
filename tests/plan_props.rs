//! Property tests over random small models: plans are complete, valid under the constraints,
//! closed (every walk starts and ends at the baseline) and deterministic.

use std::path::Path;

use canary::model::{Config, Model, Supplied, pict::load_pict_str};
use canary::plan::{PlanOptions, plan};
use canary::rng::Seed;
use proptest::prelude::*;

/// A random model as PICT text: 2 to 5 axes of 1 to 3 values, up to 3 constraints of the
/// `IF [A] = "x" THEN [B] <> "y"` form.
fn model_text() -> impl Strategy<Value = String> {
    (2usize..=5)
        .prop_flat_map(|k| {
            (
                proptest::collection::vec(1usize..=3, k),
                proptest::collection::vec((0..k, 0usize..3, 0..k, 0usize..3), 0..=3),
            )
        })
        .prop_map(|(sizes, rules)| {
            let mut text = String::new();
            for (i, n) in sizes.iter().enumerate() {
                let vals: Vec<String> = (0..*n).map(|v| format!("v{v}")).collect();
                text.push_str(&format!("A{i}: {}\n", vals.join(", ")));
            }
            text.push('\n');
            for (a, x, b, y) in rules {
                if a == b || x >= sizes[a] || y >= sizes[b] {
                    continue;
                }
                text.push_str(&format!("IF [A{a}] = \"v{x}\" THEN [A{b}] <> \"v{y}\";\n"));
            }
            text
        })
}

fn all_configs(model: &Model) -> Vec<Vec<u16>> {
    let mut out: Vec<Vec<u16>> = vec![vec![]];
    for a in &model.axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                (0..a.values.len() as u16).map(move |v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect();
    }
    out.into_iter()
        .filter(|c| model.violation(c).is_none())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_complete_valid_closed_and_deterministic(
        text in model_text(),
        strength in 1usize..=3,
        transitions in any::<bool>(),
        shards in 1usize..=2,
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
    ) {
        // The loader refuses models whose constraints contradict each other.
        let model = load_pict_str(&text, Path::new("random.txt"));
        prop_assume!(model.is_ok());
        let model = model.unwrap();
        let valid = all_configs(&model);
        prop_assume!(!valid.is_empty());
        if valid.len() == 1 {
            // Nothing to change: the plan is empty (coverage counts applies, and there are
            // none to make).
            let p = plan(&model, &PlanOptions { baseline: Some(Config(valid[0].clone())), ..PlanOptions::default() }).unwrap();
            prop_assert_eq!(p.coverage.applies, 0);
            return Ok(());
        }
        let baseline = Config(valid[pick.index(valid.len())].clone());
        let options = PlanOptions {
            strength,
            transitions: Some(transitions),
            seed: Seed::from_u64(seed),
            shards,
            baseline: Some(baseline.clone()),
            supplied: Supplied::default(),
            ..PlanOptions::default()
        };
        let p = plan(&model, &options).unwrap();

        // Deterministic: the same seed gives the same plan.
        prop_assert_eq!(&p, &plan(&model, &options).unwrap());

        // Closed and valid.
        prop_assert_eq!(p.walks.len(), shards);
        for w in &p.walks {
            if let Some(last) = w.steps.last() {
                prop_assert_eq!(&last.config, &baseline);
            }
            let mut prev = baseline.clone();
            for s in &w.steps {
                prop_assert!(model.violation(&s.config.0).is_none());
                prop_assert_ne!(&s.config, &prev, "no-op apply");
                prev = s.config.clone();
            }
        }

        // Complete: every t-tuple some valid config holds is held by some step (PICT models
        // have no normalisations, so raw and effective configs agree).
        let t = strength.min(model.axes.len());
        let visited: Vec<&Vec<u16>> = p.walks.iter().flat_map(|w| &w.steps).map(|s| &s.config.0).collect();
        let k = model.axes.len();
        let mut feasible = 0;
        for mask in 0u32..(1 << k) {
            if mask.count_ones() as usize != t {
                continue;
            }
            let axes: Vec<usize> = (0..k).filter(|a| mask & (1 << a) != 0).collect();
            let mut seen = std::collections::BTreeSet::new();
            for c in &valid {
                seen.insert(axes.iter().map(|&a| c[a]).collect::<Vec<_>>());
            }
            for tuple in &seen {
                feasible += 1;
                let covered = visited.iter().any(|c| axes.iter().zip(tuple).all(|(&a, &v)| c[a] == v))
                    // The baseline is visited by every walk's last step; a plan with no steps
                    // sits at the baseline.
                    || axes.iter().zip(tuple).all(|(&a, &v)| baseline.0[a] == v);
                prop_assert!(covered, "tuple {:?}={:?} not covered", axes, tuple);
            }
        }
        prop_assert_eq!(p.coverage.tuples_total, feasible);
        prop_assert_eq!(p.coverage.tuples_covered, feasible);

        // Value changes.
        if transitions {
            for a in 0..k {
                let values: std::collections::BTreeSet<u16> = valid.iter().map(|c| c[a]).collect();
                for &x in &values {
                    for &y in &values {
                        if x == y { continue; }
                        let made = p.walks.iter().any(|w| {
                            let mut prev = &baseline.0;
                            w.steps.iter().any(|s| {
                                let hit = prev[a] == x && s.config.0[a] == y;
                                prev = &s.config.0;
                                hit
                            })
                        });
                        prop_assert!(made, "change {}: {} -> {} not made", a, x, y);
                    }
                }
            }
        } else {
            prop_assert_eq!(p.coverage.transitions_total, 0);
        }
    }
}
