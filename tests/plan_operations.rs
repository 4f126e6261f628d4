//! Operations in plans: every enabled operation runs in every state class it names, only
//! where it may run, a restore only after a backup; config coverage is what it is without
//! operations; the goals a plan claims are recounted here from its steps alone.

mod model_support;

use std::collections::BTreeSet;
use std::path::Path;

use canary::model::{BUILTIN_PITHEAD, Model, OpGroup, OpKind, Supplied, load_str};
use canary::plan::{Plan, PlanOptions, plan};
use canary::rng::Seed;
use model_support::pithead;

fn remote_supplied() -> Supplied {
    Supplied(
        [
            ("remote_monero_host", "node.lan"),
            ("remote_tari_host", "tari.lan"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
}

fn planned(model: &Model, supplied: &Supplied, groups: &[OpGroup], seed: u64) -> Plan {
    plan(
        model,
        &PlanOptions {
            seed: Seed::from_u64(seed),
            supplied: supplied.clone(),
            operations: groups.to_vec(),
            ..PlanOptions::default()
        },
    )
    .unwrap()
}

/// (operation, class values) pairs the steps of `p` meet, counted from the steps alone.
fn met(model: &Model, p: &Plan) -> BTreeSet<(usize, Vec<u16>)> {
    let mut out = BTreeSet::new();
    for w in &p.walks {
        for s in &w.steps {
            if let Some(o) = s.op {
                let class = model.operations[o]
                    .classes
                    .iter()
                    .map(|&a| s.effective.0[a])
                    .collect();
                out.insert((o, class));
            }
        }
    }
    out
}

#[test]
fn every_operation_in_every_class_where_it_may_run() {
    let model = pithead();
    let all = [OpGroup::Lifecycle, OpGroup::Faults];
    for supplied in [Supplied::default(), remote_supplied()] {
        for seed in 0..4 {
            let p = planned(&model, &supplied, &all, seed);
            let c = &p.coverage;
            assert_eq!(c.operations_covered, c.operations_total, "seed {seed}");
            assert!(c.operations_infeasible.is_empty(), "seed {seed}");
            // The expected goals, enumerated here: each operation × each combination of the
            // planned values of its class axes that some step could be in under `requires`.
            let mut want = BTreeSet::new();
            for (i, op) in model.operations.iter().enumerate() {
                let mut classes: Vec<Vec<u16>> = vec![vec![]];
                for &a in &op.classes {
                    classes = classes
                        .into_iter()
                        .flat_map(|c| {
                            p.axes[a].iter().map(move |&v| {
                                let mut c = c.clone();
                                c.push(v);
                                c
                            })
                        })
                        .collect();
                }
                for class in classes {
                    // node ops require monero local: a class with monero remote cannot hold.
                    let mut probe = model.default_config();
                    for (&a, &v) in op.classes.iter().zip(&class) {
                        probe.0[a] = v;
                    }
                    if op.allowed_on(&probe.0) {
                        want.insert((i, class));
                    }
                }
            }
            assert_eq!(met(&model, &p), want, "seed {seed}");
            assert_eq!(c.operations_total, want.len());

            // Where they run.
            let mut backed_up = false;
            for w in &p.walks {
                for s in &w.steps {
                    let Some(o) = s.op else { continue };
                    let op = &model.operations[o];
                    assert!(op.allowed_on(&s.effective.0) || op.kind == OpKind::Restore);
                    backed_up |= op.kind == OpKind::Backup;
                    if op.kind == OpKind::Restore {
                        assert!(backed_up, "seed {seed}: a restore before any backup");
                    }
                }
            }
        }
    }
}

/// Adding operations takes nothing from config coverage: the same tuples and value changes
/// are covered, and no apply is lost.
#[test]
fn operations_keep_config_coverage() {
    let model = pithead();
    for supplied in [Supplied::default(), remote_supplied()] {
        for seed in 0..4 {
            let plain = planned(&model, &supplied, &[], seed);
            let with = planned(
                &model,
                &supplied,
                &[OpGroup::Lifecycle, OpGroup::Faults],
                seed,
            );
            let (a, b) = (&plain.coverage, &with.coverage);
            assert_eq!(a.tuples_covered, a.tuples_total);
            assert_eq!(b.tuples_covered, b.tuples_total);
            assert_eq!(a.tuples_total, b.tuples_total);
            assert_eq!(b.transitions_covered, b.transitions_total, "seed {seed}");
            assert_eq!(a.transitions_total, b.transitions_total);
            assert!(b.applies >= a.applies);
            assert_eq!(plain.coverage.operations_total, 0);
            assert!(plain.walks[0].steps.iter().all(|s| s.op.is_none()));
            // Every apply of the plain walk is still there, in order.
            let applies: Vec<_> = with.walks[0]
                .steps
                .iter()
                .filter(|s| s.op.is_none())
                .map(|s| &s.config)
                .collect();
            let mut it = applies.iter();
            for s in &plain.walks[0].steps {
                assert!(
                    it.any(|c| **c == s.config),
                    "seed {seed}: lost an apply of the plain walk"
                );
            }
        }
    }
}

#[test]
fn only_the_asked_groups() {
    let model = pithead();
    let p = planned(&model, &Supplied::default(), &[OpGroup::Lifecycle], 1);
    for s in &p.walks[0].steps {
        if let Some(o) = s.op {
            assert_eq!(model.operations[o].group, OpGroup::Lifecycle);
        }
    }
    assert!(p.coverage.operations_total > 0);
}

/// A plan with operations survives its JSON: the runner's `--plan FILE` reads back the same
/// steps.
#[test]
fn saved_plans_keep_their_operations() {
    let model = pithead();
    let s = Supplied::default();
    let p = planned(&model, &s, &[OpGroup::Lifecycle, OpGroup::Faults], 2);
    let json = p.to_json(&model, &s);
    let back = canary::run::walk_from_plan_json(&model, &s, &json).unwrap();
    assert_eq!(
        back.steps,
        p.walks[0]
            .steps
            .iter()
            .map(|st| {
                let mut st = st.clone();
                st.new_tuples = 0;
                st.new_transitions = 0;
                st
            })
            .collect::<Vec<_>>()
    );

    // A restore moved before every backup is refused with the step named.
    let mut bad = json.clone();
    let walk = bad["walk"].as_array_mut().unwrap();
    let r = walk
        .iter()
        .position(|st| st["operation"] == "restore")
        .unwrap();
    let restore = walk.remove(r);
    walk.insert(0, restore);
    let e = canary::run::walk_from_plan_json(&model, &s, &bad).unwrap_err();
    assert!(
        e.0.contains("walk step 1") && e.0.contains("needs a backup"),
        "{e}"
    );

    let mut bad = json;
    bad["walk"][0] = serde_json::json!({"step": 1, "operation": "reboot-the-moon"});
    let e = canary::run::walk_from_plan_json(&model, &s, &bad).unwrap_err();
    assert!(e.0.contains("unknown operation"), "{e}");
}

/// An operation whose class no allowed config can hold is reported, not planned.
#[test]
fn infeasible_classes_are_reported() {
    let text = format!(
        "{BUILTIN_PITHEAD}\n[[operation]]\nname = \"remote-restart\"\nkind = \"restart\"\n\
         group = \"lifecycle\"\nrequires = '[monero.mode] = \"remote\"'\nclasses = [\"tari.mode\"]\n"
    );
    let model = load_str(&text, Path::new("x.toml")).unwrap();
    // Without a remote host, monero.mode=remote is gated: no class of remote-restart can hold.
    let p = planned(&model, &Supplied::default(), &[OpGroup::Lifecycle], 0);
    let i = model.operation_index("remote-restart").unwrap();
    let infeasible: Vec<_> = p
        .coverage
        .operations_infeasible
        .iter()
        .filter(|g| g.operation == i)
        .collect();
    assert_eq!(infeasible.len(), 2, "tari local and off");
    assert!(p.walks[0].steps.iter().all(|s| s.op != Some(i)));
}
