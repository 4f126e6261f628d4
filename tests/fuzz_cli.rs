//! `canary fuzz` and `canary replay` end to end: exit codes, the seed and replay lines, saved
//! files.

#[path = "cli_support/mod.rs"]
mod cli;

use cli::streams as canary;

#[test]
fn no_fault_no_failure_exits_0() {
    let (code, out, _) = canary(&[
        "fuzz",
        "--seed",
        "3",
        "--cases",
        "5",
        "--steps",
        "5",
        "--no-save",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 cases, 25 steps"), "{out}");
}

#[test]
fn a_fault_is_found_shrunk_saved_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let regs = dir.path().join("regs");
    let (code, out, err) = canary(&[
        "fuzz",
        "--seed",
        "3",
        "--cases",
        "30",
        "--steps",
        "10",
        "--fault",
        "stale-caddy-scheme",
        "--regressions",
        regs.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL case"), "{out}");
    assert!(out.contains("shrunk to 2 steps"), "{out}");
    assert!(out.contains("replay: canary replay"), "{out}");
    assert!(out.contains("--seed 3 "), "{out}");
    let (code, out, err) = canary(&["replay", regs.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("still fails the same way"), "{out}");
    let (code, out, _) = canary(&["replay", "--by-seed", regs.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_corrupt_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let (code, _, err) = canary(&["replay", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("broken.json"), "{err}");
}

#[test]
fn an_unknown_fault_is_a_usage_error() {
    let (code, _, err) = canary(&["fuzz", "--fault", "nope", "--cases", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown fault 'nope'"), "{err}");
}

#[test]
fn a_regression_that_fails_differently_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let file = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["failing"]["check"] = serde_json::json!("status_exit");
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, v.to_string()).unwrap();
    let (code, out, _) = canary(&["replay", edited.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("UNMET") && out.contains("fails differently"),
        "{out}"
    );
}

#[test]
fn an_unknown_operation_group_is_a_usage_error() {
    let (code, _, err) = canary(&["fuzz", "--operations", "lifecycle,chaos", "--cases", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown operation group 'chaos'"), "{err}");
}

#[test]
fn without_operations_the_sequences_and_the_rerun_line_are_config_only() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = canary(&[
        "fuzz",
        "--seed",
        "3",
        "--cases",
        "30",
        "--steps",
        "10",
        "--operations",
        "none",
        "--fault",
        "stale-caddy-scheme",
        "--regressions",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("operations none"), "{out}");
    assert!(!out.contains("operation "), "{out}");
    assert!(out.contains("--operations none"), "{out}");
    let saved = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(saved, 1);
}

#[test]
fn an_operation_fault_is_found_saved_with_its_operation_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let regs = dir.path().join("regs");
    // Operations are on by default on the simulated stack.
    let (code, out, err) = canary(&[
        "fuzz",
        "--seed",
        "2026",
        "--cases",
        "50",
        "--fault",
        "up-accepts-empty-token",
        "--regressions",
        regs.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("operations lifecycle,faults"), "{out}");
    assert!(out.contains("shrunk to 1 steps"), "{out}");
    assert!(out.contains("step 0: operation empty-proxy-token"), "{out}");
    assert!(out.contains("--operations lifecycle,faults"), "{out}");
    let file = std::fs::read_dir(&regs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        saved["steps"],
        serde_json::json!([{"operation": "empty-proxy-token"}])
    );
    assert_eq!(
        saved["operations"],
        serde_json::json!(["lifecycle", "faults"])
    );
    for extra in [None, Some("--by-seed")] {
        let mut args = vec!["replay"];
        args.extend(extra);
        args.push(regs.to_str().unwrap());
        let (code, out, err) = canary(&args);
        assert_eq!(code, 0, "{extra:?}: {out}{err}");
        assert!(out.contains("still fails the same way"), "{out}");
    }
}
