//! `canary run` with operations on the simulated stack, end to end: operations are on by
//! default there, an operation fault fails the run at its operation, `--operations none`
//! walks applies only (and misses it), and the reports show the operation steps.

use std::path::Path;
use std::process::{Command, Output};

fn canary(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .current_dir(dir)
        .env("CI", "1")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
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
