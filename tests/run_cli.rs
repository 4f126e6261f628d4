//! `canary run` end to end on the simulated stack: exit codes, the seed and the replay line,
//! the run directory and the `latest` link; operations, on by default there, walked and
//! reported, and an operation fault failing the run at its operation.

#[path = "cli_support/mod.rs"]
mod cli;
mod run_files;

use std::path::Path;
use std::process::{Command, Output};

use canary::journal::{Event, read_journal};
use cli::text;
use run_files::rows;

fn canary(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .current_dir(dir)
        .env("CI", "1")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_clean_run_on_the_sim_passes_and_writes_its_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = canary(dir.path(), &["run", "--seed", "7", "--max-steps", "5"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let seed = canary::rng::Seed::from_u64(7).to_string();
    assert!(out.contains(&format!("seed {seed}")), "{out}");
    assert!(out.contains("PASSED"), "{out}");
    let latest = dir.path().join("reports/latest");
    let target = std::fs::read_link(&latest).unwrap();
    // The run id ends in the seed's first 4 bytes, hex.
    let hex = hex::encode(&canary::rng::Seed::from_u64(7).0[..4]);
    assert!(target.to_string_lossy().ends_with(&hex), "{target:?}");
    let entries = read_journal(&latest.join("journal.jsonl")).unwrap();
    assert!(
        matches!(&entries[0].event, Event::Manifest { seed: s, target, .. } if *s == seed && target == "sim")
    );
    assert!(matches!(entries[1].event, Event::Plan { .. }));
    assert!(matches!(
        entries.last().unwrap().event,
        Event::RunEnd {
            passed: true,
            steps: 5,
            exit_code: 0,
            ..
        }
    ));
}

#[test]
fn a_fault_fails_the_run_and_prints_the_seed_and_the_replay_line() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let o = canary(
        dir.path(),
        &[
            "run",
            "--seed",
            "3",
            "--fault",
            "rotated-proxy-token",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let seed = canary::rng::Seed::from_u64(3).to_string();
    let replay =
        format!("replay: canary run --seed {seed} --target sim --fault rotated-proxy-token");
    assert!(out.contains(&replay), "{out}");
    assert!(out.contains("FAIL step"), "{out}");
    assert!(out.contains("secret_fingerprint"), "{out}");
    assert!(
        !dir.path().join("reports").exists(),
        "--out must not touch reports/"
    );

    // The replay line reproduces the same failures.
    let again = dir.path().join("again");
    let o2 = canary(
        dir.path(),
        &[
            "run",
            "--seed",
            &seed,
            "--target",
            "sim",
            "--fault",
            "rotated-proxy-token",
            "--out",
            again.to_str().unwrap(),
        ],
    );
    assert_eq!(o2.status.code(), Some(1));
    assert_eq!(
        journal_without_wall_clock(&out_dir.join("journal.jsonl")),
        journal_without_wall_clock(&again.join("journal.jsonl"))
    );
}

/// The journal minus the wall-clock fields and the run id (the time of the run).
fn journal_without_wall_clock(path: &Path) -> Vec<serde_json::Value> {
    run_files::without(path, &["run_id"])
}

#[test]
fn usage_and_model_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["run", "--fault", "no-such-fault"], "no-such-fault"),
        (vec!["run", "--seed", "xyz"], "seed"),
        (vec!["run", "--plan", "missing.json"], "missing.json"),
        (vec!["run", "--model", "missing.toml"], "missing.toml"),
        (vec!["run", "--strength", "9"], "strength"),
    ] {
        let o = canary(dir.path(), &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}");
        assert!(out.to_lowercase().contains(says), "{args:?}: {out}");
    }
}

/// A run directory's journal is its only record: `--out` onto one is refused, untouched.
#[test]
fn out_onto_an_existing_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["run", "--seed", "7", "--max-steps", "2", "--out", "r"];
    let o = canary(dir.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let journal = dir.path().join("r/journal.jsonl");
    let before = std::fs::read(&journal).unwrap();
    let o = canary(dir.path(), &args);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("--resume r") && out.contains("another --out"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        before,
        "the journal was replaced"
    );
}

#[test]
fn a_saved_plan_runs_as_saved() {
    let dir = tempfile::tempdir().unwrap();
    let model =
        canary::model::load_str(canary::model::BUILTIN_PITHEAD, Path::new("p.toml")).unwrap();
    let plan = serde_json::json!({
        "model_hash": model.hash,
        "walk": [
            {"config": {"p2pool.pool": "main"}},
            {"config": {"p2pool.pool": "main", "dashboard.secure": false}},
            {"config": {}},
        ],
    });
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    let o = canary(
        dir.path(),
        &["run", "--seed", "1", "--plan", "plan.json", "--out", "r"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let steps = read_journal(&dir.path().join("r/journal.jsonl"))
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, Event::StepStart { .. }))
        .count();
    assert_eq!(steps, 3);
}

#[test]
fn the_default_sim_run_walks_every_operation_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = canary(dir.path(), &["run", "--seed", "3", "--out", "run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run = dir.path().join("run");
    let steps = rows(&run.join("steps.csv"));
    let ops: Vec<&str> = steps
        .iter()
        .map(|r| r["does"].as_str())
        .filter(|d| *d != "apply")
        .collect();
    for op in [
        "restart",
        "restart-tor",
        "down-up",
        "backup",
        "restore",
        "node-down",
        "node-frozen",
        "node-missing",
        "empty-proxy-token",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    // The node outage showed within its window, and the report says how long it took.
    let down = steps.iter().find(|r| r["does"] == "node-down").unwrap();
    assert_eq!(down["fault_reached"], "true");
    let t: f64 = down["time_to_fault_s"].parse().unwrap();
    assert!((1.0..=180.0).contains(&t), "{t}");
    let coverage = rows(&run.join("coverage.csv"));
    let op_goals: Vec<_> = coverage
        .iter()
        .filter(|r| r["kind"] == "operation")
        .collect();
    assert!(op_goals.len() >= 9);
    assert!(op_goals.iter().all(|r| r["covered"] == "true"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["coverage"]["operations"]["ratio"], 1.0);
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert!(junit.contains("operation node-down"));
}

#[test]
fn an_operation_fault_fails_at_its_operation_and_only_with_operations() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["run", "--seed", "3", "--fault", "premature-readmit"];
    let o = canary(dir.path(), &[&args[..], &["--out", "with"]].concat());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let failed: Vec<_> = rows(&dir.path().join("with/steps.csv"))
        .into_iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed.iter().all(|r| r["does"] == "node-down"),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .all(|r| r["failed_checks"].contains("op.readmit"))
    );
    // The replay line carries nothing that would change the walk silently.
    assert!(out.contains("replay: canary run --seed"), "{out}");

    let o = canary(
        dir.path(),
        &[&args[..], &["--operations", "none", "--out", "without"]].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = canary(dir.path(), &["run", "--operations", "sometimes"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown operation group 'sometimes'"));
}

/// A model whose constraints leave only the default config: the console once said coverage
/// 100% and PASSED while summary.json said 0/91 tuples (the walk has nothing to apply). The
/// console now prints summary.json's own figures, and what the constraints rule out is
/// reported as infeasible, never as covered.
#[test]
fn a_model_pinned_to_its_default_reports_the_same_coverage_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let model =
        canary::model::load_str(canary::model::BUILTIN_PITHEAD, Path::new("p.toml")).unwrap();
    let default = model.labels(&model.default_config());
    let mut text_model = canary::model::BUILTIN_PITHEAD.to_string();
    for (axis, value) in &default {
        text_model.push_str(&format!(
            "\n[[constraint]]\nrule = '[{axis}] = \"{value}\"'\nwhy = \"pinned\"\n"
        ));
    }
    std::fs::write(dir.path().join("pinned.toml"), text_model).unwrap();
    let o = canary(
        dir.path(),
        &["run", "--model", "pinned.toml", "--out", "pinned"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("pinned/summary.json")).unwrap(),
    )
    .unwrap();
    let t = &s["coverage"]["tuples"];
    let x = &s["coverage"]["transitions"];
    assert_eq!(t["required"], 91, "{s:#}");
    assert_eq!(t["covered"], 0, "no apply is planned, none is covered");
    assert_eq!(x["required"], 0, "no value change is reachable: {s:#}");
    assert!(t["infeasible"].as_u64().unwrap() > 0);
    assert!(x["infeasible"].as_u64().unwrap() > 0);
    let line = format!(
        "coverage: {}/{} 2-way tuples, {}/{} value changes; infeasible under the constraints \
         (not goals, not covered): {} tuples, {} value changes",
        t["covered"], t["required"], x["covered"], x["required"], t["infeasible"], x["infeasible"]
    );
    assert!(out.contains(&line), "{line}\n{out}");
    assert!(!out.contains("coverage 100%"), "{out}");
}
