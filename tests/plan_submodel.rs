//! Mixed strength: a model's sub-model (`[[submodel]]`, PICT's `{ A, B, C } @ 3`) is planned at
//! its own strength and pairs elsewhere. Checked by a naive counter that shares no code with
//! the planner: every raw config the model allows, rendered to its effective config, decides
//! which tuples are feasible, and the plan's steps must hold every one of them.

use std::path::Path;

use canary::model::{BUILTIN_PITHEAD, Config, Model, Supplied, load_str, pict::load_pict_str};
use canary::plan::{Plan, PlanOptions, plan};

/// The node/pool axes at strength 3, pairs elsewhere (the README's example).
const SUB_MODEL: &str = r#"
[[submodel]]
axes = ["monero.mode", "p2pool.pool", "tari.mode"]
strength = 3
"#;

fn all_supplies() -> Supplied {
    Supplied(
        [
            ("remote_monero_host", "node.lan"),
            ("remote_tari_host", "tari.lan"),
            ("full_data_dir", "/srv/full"),
            ("monero_view_key", &"ab".repeat(32)),
            ("subnet_cold_apply", "yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
}

/// Every distinct effective config of a valid raw config using allowed values.
fn effective_space(model: &Model, supplied: &Supplied) -> Vec<Vec<u16>> {
    let sizes: Vec<usize> = model.axes.iter().map(|a| a.values.len()).collect();
    let mut out = std::collections::BTreeSet::new();
    let mut raw = vec![0u16; sizes.len()];
    loop {
        let allowed = raw
            .iter()
            .enumerate()
            .all(|(a, &v)| model.value_allowed(a, v, supplied));
        if allowed && model.violation(&raw).is_none() {
            out.insert(model.effective(&Config(raw.clone())).0);
        }
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
fn verify(model: &Model, supplied: &Supplied, plan: &Plan, sub: &[usize], s: usize) {
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
    verify(&model, &supplied, &mixed, &sub, 3);
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
    verify(&model, &supplied, &p, &[0, 2, 3], 3);
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
