//! Merging the runs of several shards into one report, and `canary report` on the command line.

mod run_files;
#[path = "fixtures/walk.rs"]
mod walk;

use std::process::Command;

use canary::report::merge_reports;
use run_files::rows;

fn two_shards() -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("run-a");
    let b = dir.path().join("run-b");
    walk::write_run(&a, &walk::shard_a());
    walk::write_run(&b, &walk::shard_b());
    (dir, vec![a, b])
}

#[test]
fn merging_two_shards_gives_the_union_of_coverage_steps_and_failures() {
    let (dir, runs) = two_shards();
    let out = dir.path().join("merged");
    let files = merge_reports(&runs, &out).unwrap();

    let cov = rows(&files.coverage_csv);
    let covered = |kind: &str| {
        cov.iter()
            .filter(|r| r["kind"] == kind && r["covered"] == "true")
            .count()
    };
    // Shard B makes the three pool transitions shard A leaves out.
    assert_eq!(covered("transition"), 10);
    // Only secure=false with pool=main is held by neither walk.
    assert_eq!(covered("tuple"), 15);
    let find = |goal: &str| cov.iter().find(|r| r["goal"] == goal).unwrap();
    let r = find("p2pool.pool: main -> nano");
    assert_eq!(
        (r["run"].as_str(), r["step"].as_str()),
        ("run-b", "0"),
        "covered by shard B's first step"
    );
    let r = find("p2pool.pool: main -> mini");
    assert_eq!((r["run"].as_str(), r["step"].as_str()), ("run-a", "0"));
    assert_eq!(
        find("dashboard.secure=false, p2pool.pool=main")["covered"],
        "false"
    );

    let steps = rows(&files.steps_csv);
    assert_eq!(steps.len(), 7);
    assert_eq!(steps.iter().filter(|r| r["run"] == "run-a").count(), 4);
    assert_eq!(steps.iter().filter(|r| r["run"] == "run-b").count(), 3);

    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.summary_json).unwrap()).unwrap();
    assert_eq!(s["counts"]["runs"], 2);
    assert_eq!(s["counts"]["steps"], 7);
    assert_eq!(s["runs"][1]["run_id"], "run-b");
    assert_eq!(s["runs"][1]["replay"], walk::shard_b().replay);
    assert_eq!(s["failures"].as_array().unwrap().len(), 1);
    assert_eq!(s["failures"][0]["run_id"], "run-a");
    assert_eq!(s["failures"][0]["replay"], walk::shard_a().replay);
    // A merged report has no single seed.
    assert!(s.get("seed").is_none());

    let xml = std::fs::read_to_string(&files.junit_xml).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert!(xml.contains("name=\"canary run-a\""));
    assert!(xml.contains("name=\"canary run-b\""));

    let html = std::fs::read_to_string(&files.report_html).unwrap();
    assert_eq!(html.matches("<svg class=\"walk\"").count(), 2);
    assert!(html.contains("data-covered=\"5\" data-required=\"6\""));
}

#[test]
fn shards_of_different_models_are_refused() {
    let (dir, runs) = two_shards();
    let journal = runs[1].join("journal.jsonl");
    let text = std::fs::read_to_string(&journal)
        .unwrap()
        .replace(walk::MODEL_HASH, &"0".repeat(64));
    std::fs::write(&journal, text).unwrap();
    let err = merge_reports(&runs, &dir.path().join("m")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("different models"), "{msg}");
    assert!(msg.contains("run-a") && msg.contains("run-b"), "{msg}");
}

fn canary(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .arg("report")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_rederives_one_run_in_place_and_merges_shards_beside_the_first() {
    let (dir, runs) = two_shards();
    let out = canary(&[runs[0].as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for f in [
        "steps.csv",
        "coverage.csv",
        "junit.xml",
        "summary.json",
        "report.html",
    ] {
        assert!(runs[0].join(f).is_file(), "{f} missing");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 failed verdicts"), "{stdout}");

    let out = canary(&[runs[0].as_os_str(), runs[1].as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let merged = dir.path().join("merged-run-a-run-b");
    assert!(merged.join("report.html").is_file());

    let chosen = dir.path().join("elsewhere");
    let out = canary(&[
        runs[0].as_os_str(),
        runs[1].as_os_str(),
        "--out".as_ref(),
        chosen.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(chosen.join("coverage.csv").is_file());
}

#[test]
fn cli_exits_2_with_a_clear_message_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = canary(&[missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such run directory"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = canary(&[empty.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("journal.jsonl") && err.contains("cannot open"),
        "{err}"
    );

    let run = dir.path().join("run-a");
    walk::write_run(&run, &walk::shard_a());
    let journal = run.join("journal.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[4] = "{\"seq\": 4, \"event\": \"verdict\", \"step\": ".into();
    std::fs::write(&journal, lines.join("\n") + "\n").unwrap();
    let out = canary(&[run.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("journal.jsonl:5:"), "{err}");
    assert!(!run.join("report.html").exists());
}

#[test]
fn the_journal_file_itself_may_be_named_instead_of_its_directory() {
    let (_dir, runs) = two_shards();
    let out = canary(&[runs[0].join("journal.jsonl").as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(runs[0].join("report.html").is_file());
}
