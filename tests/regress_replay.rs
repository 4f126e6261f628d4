//! Saved regressions: written from a fuzz failure, replayed by steps and by seed, and clear
//! errors for corrupt or outdated files.

mod model_support;

#[path = "cli_support/mod.rs"]
mod cli;

use std::path::Path;

use canary::faults::Fault;
use canary::fuzz::{self, FuzzOptions};
use canary::model::{Config, Model, OpGroup, Supplied, Transition};
use canary::regress::{self, Expect, Regression, Replayed};
use canary::rng::Seed;
use model_support::pithead;

fn found(model: &Model, fault: Fault) -> Regression {
    let options = FuzzOptions {
        seed: Seed::from_u64(7),
        cases: 50,
        steps: 12,
        faults: vec![fault],
        ..FuzzOptions::default()
    };
    let report = fuzz::fuzz(model, &Supplied::default(), &options, &mut |_| {}).unwrap();
    Regression::from_failure(model, &report.failures[0], &[fault], &[], 12).unwrap()
}

#[test]
fn a_saved_regression_replays_the_same_failure_by_steps_and_by_seed() {
    let model = pithead();
    let r = found(&model, Fault::StaleCaddyScheme);
    assert_eq!(r.expect, Expect::Fail);
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.steps[1].labels().unwrap()["dashboard.secure"], "true");
    let dir = tempfile::tempdir().unwrap();
    let path = r.save(dir.path()).unwrap();
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("restarted-missing-")
    );
    assert_eq!(Regression::load(&path).unwrap(), r);
    for by_seed in [false, true] {
        let results =
            regress::replay_dir(dir.path(), &model, &Supplied::default(), by_seed).unwrap();
        assert_eq!(results.len(), 1);
        assert!(
            matches!(results[0].result, Ok(Replayed::StillFails { .. })),
            "{:?}",
            results[0].result
        );
        assert!(results[0].met());
    }
}

#[test]
fn without_its_fault_a_regression_passes_and_misses_a_fail_expectation() {
    let model = pithead();
    let mut r = found(&model, Fault::LeftoverProfileContainer);
    r.faults.clear();
    let dir = tempfile::tempdir().unwrap();
    let path = r.save(dir.path()).unwrap();
    let res = regress::replay_file(&path, &model, &Supplied::default(), false);
    assert_eq!(res.result.as_ref().unwrap(), &Replayed::Passes);
    assert!(!res.met());
    r.expect = Expect::Pass;
    let path = r.save(dir.path()).unwrap();
    assert!(regress::replay_file(&path, &model, &Supplied::default(), false).met());
}

fn error_of(model: &Model, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let r = found(model, Fault::TariRequiredIgnoresOff);
    let mut v = serde_json::to_value(&r).unwrap();
    edit(&mut v);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let res = regress::replay_file(&path, model, &Supplied::default(), false);
    let e = res
        .result
        .expect_err("the edited file must not replay")
        .to_string();
    assert!(e.contains("edited.json"), "{e}");
    e
}

#[test]
fn corrupt_and_outdated_files_name_the_file_and_the_problem() {
    let model = pithead();
    let e = error_of(&model, |v| {
        v["steps"][0] = serde_json::json!({"no.such.axis": "x"})
    });
    assert!(e.contains("unknown axis 'no.such.axis'"), "{e}");
    let e = error_of(&model, |v| {
        v["steps"][0] = serde_json::json!({"tari.mode": "sideways"})
    });
    assert!(e.contains("no value 'sideways'"), "{e}");
    let e = error_of(&model, |v| v["format"] = serde_json::json!(99));
    assert!(e.contains("format version 99"), "{e}");
    let e = error_of(&model, |v| {
        v["faults"] = serde_json::json!(["no-such-fault"])
    });
    assert!(e.contains("unknown fault"), "{e}");
    let e = error_of(&model, |v| {
        v.as_object_mut().unwrap().remove("failing");
    });
    assert!(e.contains("not a regression file"), "{e}");
}

#[test]
fn model_hash_drift_is_only_a_warning() {
    let model = pithead();
    let mut r = found(&model, Fault::TariRequiredIgnoresOff);
    r.model_hash = "0".repeat(64);
    let dir = tempfile::tempdir().unwrap();
    let path = r.save(dir.path()).unwrap();
    let res = regress::replay_file(&path, &model, &Supplied::default(), false);
    assert!(res.met(), "{:?}", res.result);
    assert_eq!(res.warnings.len(), 1);
    assert!(res.warnings[0].contains("model hash"));
}

#[test]
fn the_committed_regressions_meet_their_expectations() {
    let model = pithead();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let results = regress::replay_dir(&dir, &model, &Supplied::default(), false).unwrap();
    assert!(
        results.len() >= 3,
        "{} regressions committed",
        results.len()
    );
    for r in results {
        assert!(r.met(), "{}: {:?}", r.path.display(), r.result);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
}

/// Every committed file reads and writes back byte for byte: the format did not change.
#[test]
fn the_committed_files_read_and_write_back_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    for path in regress::files(&dir).unwrap() {
        let text = std::fs::read_to_string(&path).unwrap();
        let r = Regression::load(&path).unwrap();
        assert!(r.operations.is_empty());
        assert!(r.steps.iter().all(|s| s.operation().is_none()));
        assert_eq!(
            serde_json::to_string_pretty(&r).unwrap() + "\n",
            text,
            "{}",
            path.display()
        );
    }
}

fn transitions(model: &Model) -> Vec<Transition> {
    let set = |c: &mut Config, axis: &str, value: &str| {
        let a = model.axis_index(axis).unwrap();
        c.0[a] = model.axes[a].value_index(value).unwrap();
    };
    let op = |name: &str| Transition::Operate(model.operation_index(name).unwrap() as u16);
    let mut x = model.default_config();
    set(&mut x, "p2pool.pool", "main");
    let mut y = x.clone();
    set(&mut y, "tari.mode", "off");
    vec![
        Transition::Apply(x),
        op("backup"),
        Transition::Apply(y.clone()),
        op("restore"),
        Transition::Apply(y),
        op("node-down"),
    ]
}

#[test]
fn operation_steps_are_saved_by_name_and_resolve_back() {
    let model = pithead();
    let steps = transitions(&model);
    let saved = regress::saved_steps(&model, &model.default_config(), &steps);
    let json = serde_json::to_value(&saved).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"p2pool.pool": "main"},
            {"operation": "backup"},
            {"tari.mode": "off"},
            {"operation": "restore"},
            // After the restore the pool is main and tari local again: only tari changes.
            {"tari.mode": "off"},
            {"operation": "node-down"}
        ])
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut r = Regression::load(&regress::files(&dir).unwrap()[0]).unwrap();
    r.steps = saved;
    r.operations = vec!["lifecycle".into(), "faults".into()];
    r.failing.step = 5;
    let tmp = tempfile::tempdir().unwrap();
    let path = r.save(tmp.path()).unwrap();
    assert_eq!(Regression::load(&path).unwrap(), r);
    let res = regress::resolve(&path, &r, &model).unwrap();
    assert_eq!(res.steps, steps);
    assert_eq!(res.operations, OpGroup::ALL.to_vec());
}

#[test]
fn unknown_or_misplaced_operations_name_the_file_and_the_problem() {
    let model = pithead();
    let e = error_of(&model, |v| {
        v["steps"][0] = serde_json::json!({"operation": "node-dwn"})
    });
    assert!(
        e.contains("step 0: unknown operation 'node-dwn'") && e.contains("node-down"),
        "{e}"
    );
    let e = error_of(&model, |v| {
        v["steps"][0] = serde_json::json!({"operation": "restore"})
    });
    assert!(e.contains("step 0") && e.contains("needs a backup"), "{e}");
    let e = error_of(&model, |v| {
        v["steps"][0] = serde_json::json!({"operation": "restart", "tari.mode": "off"})
    });
    assert!(
        e.contains("holds its operation name and nothing else"),
        "{e}"
    );
    let e = error_of(&model, |v| v["operations"] = serde_json::json!(["chaos"]));
    assert!(e.contains("unknown operation group 'chaos'"), "{e}");
}

/// A regression found on a box (its faults are the fake's) replays on the sim fault-free and
/// says whether the sim reproduces it; files without a box manifest read as before.
#[test]
fn a_box_found_regression_replayed_on_the_sim_says_whether_the_sim_reproduces_it() {
    let model = pithead();
    let mut r = found(&model, Fault::StaleCaddyScheme);
    let sim_json = serde_json::to_value(&r).unwrap();
    assert!(sim_json.get("box_manifest").is_none(), "{sim_json}");
    r.target = "local".into();
    r.faults = vec!["a-fault-only-the-fake-has".into()];
    r.box_manifest = Some(regress::BoxManifest {
        pithead: Some("v1.2.3".into()),
        compose: Some("2.29.1".into()),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = r.save(dir.path()).unwrap();
    assert_eq!(Regression::load(&path).unwrap(), r);
    let res = regress::replay_file(&path, &model, &Supplied::default(), false);
    // The sim is bug-free: the box's bug does not reproduce there, and that is the finding.
    assert_eq!(res.result.as_ref().unwrap(), &Replayed::Passes);
    assert_eq!(res.sim_reproduces(), Some(false));
    assert!(res.met());
    assert!(
        res.warnings
            .iter()
            .any(|w| w.contains("the sim and the box disagree")),
        "{:?}",
        res.warnings
    );
    r.target = "mars".into();
    let path = r.save(dir.path()).unwrap();
    let e = regress::replay_file(&path, &model, &Supplied::default(), false)
        .result
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown target 'mars'"), "{e}");
}

/// With `--skip-value`, a saved regression that sets the dropped value cannot be replayed on
/// that box's version: it is left out, named, and not counted unmet (issue #13).
#[test]
fn regressions_that_set_a_dropped_value_are_left_out_not_unmet() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let regressions = root.join("regressions");
    let uses_off = regress::files(&regressions)
        .unwrap()
        .into_iter()
        .filter(|p| {
            Regression::load(p)
                .is_ok_and(|r| r.uses_any(&[("tari.mode".into(), "off".into())]).is_some())
        })
        .count();
    assert!(uses_off > 0, "no committed regression sets tari.mode=off");
    let run = |args: &[&str]| cli::outcome(args, root);
    let (code, out) = run(&["replay", "--skip-value", "tari.mode=off"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("{uses_off} left out for a dropped value")),
        "{out}"
    );
    assert!(!out.contains("UNMET"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = run(&[
        "run",
        "--seed",
        "1",
        "--skip-value",
        "tari.mode=off",
        "--max-steps",
        "1",
        "--out",
        dir.path().join("run").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("left out: "), "{out}");
    assert!(!out.contains("UNMET"), "{out}");
}

/// A failure found on a box has no generating seed: its file holds none (older files hold the
/// placeholder `"0"`, read the same), it replays by its steps, and `--by-seed` refuses it with
/// the reason instead of regenerating some other sequence from seed 0.
#[test]
fn a_box_found_regression_has_no_seed_and_by_seed_refuses_it() {
    let model = pithead();
    let sim = found(&model, Fault::StaleCaddyScheme);
    let mut v = serde_json::to_value(&sim).unwrap();
    v["target"] = "local".into();
    v["faults"] = serde_json::json!([]);
    v.as_object_mut().unwrap().remove("seed");
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.json");
    std::fs::write(&new, v.to_string()).unwrap();
    let r = Regression::load(&new).unwrap();
    assert_eq!((r.seed.as_deref(), r.generating_seed()), (None, None));
    assert!(!serde_json::to_string(&r).unwrap().contains("\"seed\""));
    v["seed"] = "0".into();
    let old = dir.path().join("old.json");
    std::fs::write(&old, v.to_string()).unwrap();
    assert_eq!(Regression::load(&old).unwrap().generating_seed(), None);
    for path in [&new, &old] {
        let by_steps = regress::replay_file(path, &model, &Supplied::default(), false);
        assert!(by_steps.result.is_ok(), "{:?}", by_steps.result);
        let by_seed = regress::replay_file(path, &model, &Supplied::default(), true);
        let e = by_seed.result.unwrap_err().to_string();
        assert!(
            e.contains("found on a box (local) and has no generating seed"),
            "{e}"
        );
    }
    // A sim-found file keeps its seed, "0" included.
    let mut zero = sim.clone();
    zero.seed = Some("0".into());
    assert_eq!(zero.generating_seed(), Some("0"));
}
