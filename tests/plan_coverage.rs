//! Every coverage figure a plan claims, checked by a naive counter that shares no code with the
//! planner: it enumerates every raw config the model allows, renders each to its effective
//! config, and counts tuples and value changes by brute force.

mod model_support;

use std::collections::BTreeSet;
use std::path::Path;

use canary::model::{BUILTIN_PITHEAD, Config, Model, Supplied, load_str, pict::load_pict_str};
use canary::plan::{Plan, PlanOptions, plan};
use canary::rng::Seed;
use model_support::{all_supplies, pithead};

/// Every distinct effective config reachable from a valid raw config using allowed values.
fn effective_space(model: &Model, supplied: &Supplied) -> Vec<Vec<u16>> {
    let sizes: Vec<usize> = model.axes.iter().map(|a| a.values.len()).collect();
    let mut out = BTreeSet::new();
    let mut raw = vec![0u16; sizes.len()];
    loop {
        let allowed = raw
            .iter()
            .enumerate()
            .all(|(a, &v)| model.value_allowed(a, v, supplied));
        if allowed && model.violation(&raw).is_none() {
            out.insert(model.effective(&Config(raw.clone())).0);
        }
        // Odometer increment.
        let mut i = 0;
        loop {
            if i == raw.len() {
                return out.into_iter().collect();
            }
            raw[i] += 1;
            if (raw[i] as usize) < sizes[i] {
                break;
            }
            raw[i] = 0;
            i += 1;
        }
    }
}

fn subsets(k: usize, t: usize) -> Vec<Vec<usize>> {
    if t == 0 {
        return vec![vec![]];
    }
    if k < t {
        return vec![];
    }
    let mut out = subsets(k - 1, t);
    for mut s in subsets(k - 1, t - 1) {
        s.push(k - 1);
        out.push(s);
    }
    out
}

/// Candidate tuples over allowed values: every t-subset of axes times every value choice.
fn candidate_tuples(model: &Model, supplied: &Supplied, t: usize) -> Vec<Vec<(usize, u16)>> {
    let allowed: Vec<Vec<u16>> = (0..model.axes.len())
        .map(|a| {
            (0..model.axes[a].values.len() as u16)
                .filter(|&v| model.value_allowed(a, v, supplied))
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for axes in subsets(model.axes.len(), t.min(model.axes.len())) {
        let mut partial: Vec<Vec<(usize, u16)>> = vec![vec![]];
        for &a in &axes {
            partial = partial
                .into_iter()
                .flat_map(|p| {
                    allowed[a].iter().map(move |&v| {
                        let mut q = p.clone();
                        q.push((a, v));
                        q
                    })
                })
                .collect();
        }
        out.extend(partial);
    }
    out
}

fn holds(config: &[u16], tuple: &[(usize, u16)]) -> bool {
    tuple.iter().all(|&(a, v)| config[a] == v)
}

/// Checks a plan against the brute-force counts; returns (feasible tuples, value changes).
fn verify(model: &Model, supplied: &Supplied, plan: &Plan, t: usize, transitions: bool) {
    let space = effective_space(model, supplied);
    let candidates = candidate_tuples(model, supplied, t);
    let feasible: Vec<&Vec<(usize, u16)>> = candidates
        .iter()
        .filter(|tu| space.iter().any(|c| holds(c, tu)))
        .collect();
    let infeasible = candidates.len() - feasible.len();
    let baseline_eff = model.effective(&plan.baseline).0;

    // Walks: closed, valid, no no-op applies, effective configs as rendered.
    for walk in &plan.walks {
        if walk.steps.is_empty() {
            continue;
        }
        assert_eq!(
            walk.steps.last().unwrap().config,
            plan.baseline,
            "walk must end at the baseline"
        );
        let mut prev = baseline_eff.clone();
        for step in &walk.steps {
            assert!(
                model.violation(&step.config.0).is_none(),
                "step breaks a constraint"
            );
            for (a, &v) in step.config.0.iter().enumerate() {
                assert!(
                    model.value_allowed(a, v, supplied),
                    "step uses a gated value"
                );
            }
            assert_eq!(model.effective(&step.config), step.effective);
            assert_ne!(step.effective.0, prev, "a no-op apply");
            let changed: Vec<usize> = (0..prev.len())
                .filter(|&a| prev[a] != step.effective.0[a])
                .collect();
            assert_eq!(changed, step.changed);
            prev = step.effective.0.clone();
        }
    }
    let steps: Vec<(&Vec<u16>, &Vec<u16>)> = plan
        .walks
        .iter()
        .flat_map(|w| {
            let mut prev = &baseline_eff;
            w.steps.iter().map(move |s| {
                let pair = (prev, &s.effective.0);
                prev = &s.effective.0;
                pair
            })
        })
        .collect();

    // Tuples.
    let covered = feasible
        .iter()
        .filter(|tu| steps.iter().any(|(_, c)| holds(c, tu)))
        .count();
    let c = &plan.coverage;
    assert_eq!(c.tuples_total, feasible.len(), "claimed tuple total");
    assert_eq!(c.tuples_covered, covered, "claimed tuples covered");
    assert_eq!(covered, feasible.len(), "every feasible tuple is covered");
    assert_eq!(c.infeasible.len(), infeasible, "claimed infeasible count");
    for tu in &c.infeasible {
        assert!(
            !space.iter().any(|cfg| holds(cfg, tu)),
            "an infeasible tuple is feasible"
        );
    }
    // Each goal's first step really is the first to hold it.
    for g in &c.tuples {
        let first = g.first.expect("covered goal has a first step");
        let walk = &plan.walks[first.walk];
        assert!(holds(&walk.steps[first.step].effective.0, &g.cells));
        assert!(
            !walk.steps[..first.step]
                .iter()
                .any(|s| holds(&s.effective.0, &g.cells))
        );
    }

    // Value changes.
    let mut goals = 0;
    let mut hit = 0;
    if transitions {
        for (a, axis) in model.axes.iter().enumerate() {
            let values: Vec<u16> = (0..axis.values.len() as u16)
                .filter(|&v| space.iter().any(|cfg| cfg[a] == v))
                .collect();
            for &x in &values {
                for &y in &values {
                    if x == y {
                        continue;
                    }
                    goals += 1;
                    if steps.iter().any(|(p, n)| p[a] == x && n[a] == y) {
                        hit += 1;
                    }
                }
            }
        }
    }
    assert_eq!(c.transitions_total, goals, "claimed value change total");
    assert_eq!(c.transitions_covered, hit, "claimed value changes covered");
    assert_eq!(hit, goals, "every value change is made");
    assert_eq!(
        c.applies,
        plan.walks.iter().map(|w| w.steps.len()).sum::<usize>()
    );
    let cost: f64 = plan
        .walks
        .iter()
        .flat_map(|w| &w.steps)
        .map(|s| s.prediction.cost)
        .sum();
    assert!((c.cost - cost).abs() < 1e-6);
    assert!(c.applies >= c.lower_bound || plan.walks.len() > 1);
}

fn options(strength: usize, supplied: &Supplied) -> PlanOptions {
    PlanOptions {
        strength,
        supplied: supplied.clone(),
        ..PlanOptions::default()
    }
}

#[test]
fn pithead_default_supplies_strengths_1_to_4() {
    let m = pithead();
    let s = Supplied::default();
    for t in 1..=4 {
        let p = plan(&m, &options(t, &s)).unwrap();
        verify(&m, &s, &p, t, true);
        assert_eq!(
            p.skipped.len(),
            5,
            "five gated values are skipped without supplies"
        );
    }
}

#[test]
fn pithead_all_supplies_strengths_1_to_3() {
    // Strength 4 runs on the default supplies above; with every value allowed it takes
    // minutes in an unoptimised test build.
    let m = pithead();
    let s = all_supplies();
    for t in 1..=3 {
        let p = plan(&m, &options(t, &s)).unwrap();
        verify(&m, &s, &p, t, true);
        assert!(p.skipped.is_empty());
    }
}

#[test]
fn pithead_all_supplies_pairs_and_changes_within_ten_applies() {
    let m = pithead();
    let s = all_supplies();
    let p = plan(&m, &options(2, &s)).unwrap();
    verify(&m, &s, &p, 2, true);
    assert_eq!(p.coverage.lower_bound, 9, "p2pool.pool x tari.mode");
    assert!(
        p.coverage.applies <= 10,
        "took {} applies",
        p.coverage.applies
    );
}

#[test]
fn pithead_without_transitions_covers_pairs_only() {
    let m = pithead();
    let s = all_supplies();
    let o = PlanOptions {
        transitions: Some(false),
        ..options(2, &s)
    };
    let p = plan(&m, &o).unwrap();
    assert!(!p.transitions);
    verify(&m, &s, &p, 2, false);
}

#[test]
fn pithead_shards_are_closed_walks_whose_union_covers() {
    let m = pithead();
    for s in [Supplied::default(), all_supplies()] {
        for shards in [2, 3] {
            let o = PlanOptions {
                shards,
                ..options(2, &s)
            };
            let p = plan(&m, &o).unwrap();
            assert_eq!(p.walks.len(), shards);
            assert!(p.walks.iter().all(|w| !w.steps.is_empty()));
            verify(&m, &s, &p, 2, true);
        }
    }
}

#[test]
fn a_different_baseline_is_where_the_walk_starts_and_ends() {
    let m = pithead();
    let s = all_supplies();
    let base = m
        .config_from_labels(
            &m.default_config(),
            [("p2pool.pool", "nano"), ("tari.mode", "off")],
        )
        .unwrap();
    let o = PlanOptions {
        baseline: Some(base.clone()),
        seed: Seed::from_u64(3),
        ..options(2, &s)
    };
    let p = plan(&m, &o).unwrap();
    assert_eq!(p.baseline, base);
    verify(&m, &s, &p, 2, true);
}

const PICT_OS: &str = "\
Type:          Primary, Logical, Single, Span, Stripe, Mirror, RAID-5
Size:          10, 100, 500, 1000, 5000, 10000, 40000
Format method: quick, slow
File system:   FAT, FAT32, NTFS
Cluster size:  512, 1024, 2048, 4096, 8192, 16384, 32768, 65536
Compression:   on, off

IF [File system] = \"FAT\"   THEN [Size] <= 4096;
IF [File system] = \"FAT32\" THEN [Size] <= 32000;
";

const PICT_SMALL: &str = "\
A: a1, a2, a3
B: b1, b2
C: c1, c2, c3
D: d1, d2

IF [A] = \"a1\" THEN [B] <> \"b2\";
IF [C] = \"c3\" THEN [D] = \"d1\" ELSE [D] <> \"d1\";
";

#[test]
fn pict_models_are_covered() {
    for (name, text, strengths) in [
        ("os.txt", PICT_OS, &[2][..]),
        ("small.txt", PICT_SMALL, &[2, 3][..]),
    ] {
        let m = load_pict_str(text, Path::new(name)).unwrap();
        let s = Supplied::default();
        for &t in strengths {
            for transitions in [false, true] {
                let o = PlanOptions {
                    transitions: Some(transitions),
                    ..options(t, &s)
                };
                let p = plan(&m, &o).unwrap();
                verify(&m, &s, &p, t, transitions);
            }
        }
    }
}

// Mixed strength: a sub-model (`[[submodel]]`, PICT's `{ A, B, C } @ 3`) is planned at its own
// strength and pairs elsewhere, checked by the same naive counter.

/// The node/pool axes at strength 3, pairs elsewhere (the README's example).
const SUB_MODEL: &str = r#"
[[submodel]]
axes = ["monero.mode", "p2pool.pool", "tari.mode"]
strength = 3
"#;

/// Every tuple over `t` of `axes` (indices), every value choice.
fn tuples(model: &Model, axes: &[usize], t: usize) -> Vec<Vec<(usize, u16)>> {
    let mut sets: Vec<Vec<usize>> = vec![vec![]];
    for &a in axes {
        let more: Vec<Vec<usize>> = sets
            .iter()
            .filter(|s| s.len() < t)
            .map(|s| {
                let mut s = s.clone();
                s.push(a);
                s
            })
            .collect();
        sets.extend(more);
    }
    let mut out = Vec::new();
    for mut set in sets.into_iter().filter(|s| s.len() == t) {
        set.sort_unstable();
        let mut partial: Vec<Vec<(usize, u16)>> = vec![vec![]];
        for &a in &set {
            partial = partial
                .into_iter()
                .flat_map(|p| {
                    (0..model.axes[a].values.len() as u16).map(move |v| {
                        let mut q = p.clone();
                        q.push((a, v));
                        q
                    })
                })
                .collect();
        }
        out.extend(partial);
    }
    out
}

/// Asserts every feasible pair and every feasible sub-model tuple is held by some step, and
/// that the plan's tuple total counts exactly those.
fn verify_sub_model(model: &Model, supplied: &Supplied, plan: &Plan, sub: &[usize], s: usize) {
    let space = effective_space(model, supplied);
    let holds = |c: &[u16], tu: &[(usize, u16)]| tu.iter().all(|&(a, v)| c[a] == v);
    let all: Vec<usize> = (0..model.axes.len()).collect();
    let steps: Vec<&Vec<u16>> = plan
        .walks
        .iter()
        .flat_map(|w| w.steps.iter().map(|st| &st.effective.0))
        .collect();
    let mut feasible = 0;
    for (axes, t) in [(&all[..], 2), (sub, s)] {
        for tu in tuples(model, axes, t) {
            if !space.iter().any(|c| holds(c, &tu)) {
                continue;
            }
            feasible += 1;
            assert!(
                steps.iter().any(|c| holds(c, &tu)),
                "feasible tuple {tu:?} is not covered"
            );
        }
    }
    assert_eq!(plan.coverage.tuples_total, feasible);
    assert_eq!(plan.coverage.tuples_covered, feasible);
}

#[test]
fn pithead_node_and_pool_triples_with_pairs_elsewhere() {
    let text = format!("{BUILTIN_PITHEAD}{SUB_MODEL}");
    let model = load_str(&text, Path::new("pithead.toml")).unwrap();
    let index = |n: &str| model.axes.iter().position(|a| a.name == n).unwrap();
    let sub = [
        index("monero.mode"),
        index("p2pool.pool"),
        index("tari.mode"),
    ];
    assert_eq!(model.sub_models.len(), 1);
    let supplied = all_supplies();
    let options = PlanOptions {
        strength: 2,
        transitions: Some(false),
        supplied: supplied.clone(),
        ..PlanOptions::default()
    };
    let mixed = plan(&model, &options).unwrap();
    verify_sub_model(&model, &supplied, &mixed, &sub, 3);
    // 2 × 3 × 3 = 18 node/pool triples need 18 applies; triples everywhere need more.
    let triples = plan(
        &model,
        &PlanOptions {
            strength: 3,
            ..options.clone()
        },
    )
    .unwrap();
    eprintln!(
        "sub-model: {} applies (lower bound {}); triples everywhere: {} applies",
        mixed.coverage.applies, mixed.coverage.lower_bound, triples.coverage.applies
    );
    assert!(mixed.coverage.applies >= 18);
    assert!(
        mixed.coverage.applies < triples.coverage.applies,
        "{} applies with the sub-model, {} with triples everywhere",
        mixed.coverage.applies,
        triples.coverage.applies
    );
}

#[test]
fn pict_sub_model_is_covered() {
    let text = "A: 1, 2, 3\nB: x, y\nC: p, q, r\nD: on, off\nE: 1, 2\n{ A, C, D } @ 3\n\
                IF [A] = 1 THEN [D] = \"off\";\n";
    let model = load_pict_str(text, Path::new("sub.txt")).unwrap();
    let supplied = Supplied::default();
    let p = plan(
        &model,
        &PlanOptions {
            strength: 2,
            transitions: Some(false),
            ..PlanOptions::default()
        },
    )
    .unwrap();
    verify_sub_model(&model, &supplied, &p, &[0, 2, 3], 3);
}

#[test]
fn a_sub_model_naming_an_unknown_axis_is_an_error_with_its_line() {
    let text = format!(
        "{BUILTIN_PITHEAD}\n[[submodel]]\naxes = [\"monero.mode\", \"nope\"]\nstrength = 2\n"
    );
    let e = load_str(&text, Path::new("pithead.toml"))
        .unwrap_err()
        .to_string();
    let line = text.lines().position(|l| l == "[[submodel]]").unwrap() + 1;
    assert!(
        e.contains(&format!("pithead.toml:{line}")) && e.contains("unknown axis 'nope'"),
        "{e}"
    );
}
