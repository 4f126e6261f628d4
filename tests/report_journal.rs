//! Reading journals defensively: unknown events and fields are ignored, optional fields may be
//! missing, a torn last line is forgiven, and anything else that is broken is an error that
//! names the file and the line.

use std::path::{Path, PathBuf};

use canary::report::{GoalSource, Report, ReportError, RunStatus, StepStatus};

fn handwritten() -> (tempfile::TempDir, PathBuf) {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/handwritten/journal.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("hand");
    std::fs::create_dir(&run).unwrap();
    std::fs::copy(src, run.join("journal.jsonl")).unwrap();
    (dir, run)
}

#[test]
fn a_hand_written_journal_with_unknown_events_missing_fields_and_a_torn_end_is_read() {
    let (_dir, run) = handwritten();
    let report = Report::read(std::slice::from_ref(&run)).unwrap();
    let r = &report.runs[0];
    assert_eq!(r.id(), "hand-1");
    assert_eq!(r.manifest.under_test["version"], "3");
    assert!(r.manifest.faults.is_empty());
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.steps[0].status(), StepStatus::Passed);
    assert_eq!(r.steps[1].status(), StepStatus::Unfinished);
    assert_eq!(r.steps[1].apply_exit, Some(1));
    assert!(r.run_end.is_none());
    assert!(
        r.warnings.iter().any(|w| w.contains("line 11 is torn")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("future_candidate")),
        "{:?}",
        r.warnings
    );

    // Goals listed by the plan are used as they are (numbers as labels).
    let cov = &report.coverage;
    assert_eq!(cov.goals.tuples_from, GoalSource::Plan);
    assert_eq!(cov.goals.transitions_from, GoalSource::Plan);
    assert_eq!(cov.goals.tuples.len(), 4);
    assert_eq!(cov.tuples_covered(), 2);
    // No baseline in the plan: the first step's changes are unknown, the second's count.
    assert_eq!(cov.transitions_covered(), 2);

    let files = report.write(&run).unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.summary_json).unwrap()).unwrap();
    assert_eq!(s["runs"][0]["finished"], false);
    assert_eq!(s["failures"][0]["check"], "step");
    assert_eq!(s["failures"][0]["step"], 1);
    assert_eq!(s["warnings"].as_array().unwrap().len(), 2);
    let xml = std::fs::read_to_string(&files.junit_xml).unwrap();
    assert!(xml.contains("the step did not finish"), "{xml}");
    assert!(!xml.contains('\u{1b}'), "control characters reach the XML");
    let html = std::fs::read_to_string(&files.report_html).unwrap();
    assert!(html.contains("compose failed"));
    assert!(html.contains("did not finish (no run_end line)"));
}

fn corrupt(lines: &[&str]) -> ReportError {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    Report::read(&[dir.path().to_path_buf()]).unwrap_err()
}

#[test]
fn a_corrupt_line_is_an_error_with_file_and_line() {
    let manifest = r#"{"seq":0,"event":"manifest","run_id":"x"}"#;
    for (bad, says) in [
        ("not json at all", "not JSON"),
        (r#"{"seq":1,"ts":"t"}"#, "no `event` field"),
        (
            r#"{"seq":1,"event":"verdict","step":0,"passed":"yes","check":"c"}"#,
            "bad `verdict`",
        ),
        (
            r#"{"seq":1,"event":"plan","plan":{"axes":["a"]}}"#,
            "`axes` is not an object",
        ),
    ] {
        let err = corrupt(&[manifest, bad, manifest]);
        let msg = err.to_string();
        assert!(matches!(err, ReportError::Corrupt { line: 2, .. }), "{msg}");
        assert!(
            msg.contains("journal.jsonl:2:") && msg.contains(says),
            "{msg}"
        );
    }
}

#[test]
fn an_empty_journal_and_a_missing_one_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = Report::read(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(matches!(err, ReportError::NoJournal { .. }), "{err}");
    std::fs::write(dir.path().join("journal.jsonl"), "\n\n").unwrap();
    let err = Report::read(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(matches!(err, ReportError::EmptyJournal { .. }), "{err}");
}

#[test]
fn a_step_run_again_after_a_resume_replaces_the_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"seq":0,"event":"step_start","step":0,"effective":{"a":"x"},"changed":["a"]}"#,
        r#"{"seq":1,"event":"verdict","step":0,"check":"c","passed":false,"observed":1,"expected":2}"#,
        r#"{"seq":2,"event":"step_start","step":0,"effective":{"a":"x"},"changed":["a"]}"#,
        r#"{"seq":3,"event":"verdict","step":0,"check":"c","passed":true,"observed":2,"expected":2}"#,
        r#"{"seq":4,"event":"step_end","step":0,"passed":true,"seconds":1}"#,
    ];
    std::fs::write(dir.path().join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    let report = Report::read(&[dir.path().to_path_buf()]).unwrap();
    let r = &report.runs[0];
    assert_eq!(r.steps.len(), 1);
    assert_eq!(r.steps[0].status(), StepStatus::Passed);
    assert_eq!(r.verdicts_failed(), 0);
    assert!(r.warnings.iter().any(|w| w.contains("no manifest")));
}

/// A journal of a run that stopped after `done` of 8 planned steps, without a `run_end` line.
fn unfinished(done: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("stopped");
    std::fs::create_dir(&run).unwrap();
    let walk: Vec<String> = (0..8)
        .map(|i| format!(r#"{{"config":{{"a":"{}"}}}}"#, ["x", "y"][i % 2]))
        .collect();
    let mut lines = vec![
        r#"{"seq":0,"event":"manifest","run_id":"stopped-1","model":"tiny","replay":"canary run --seed 1"}"#.to_string(),
        format!(
            r#"{{"seq":1,"event":"plan","plan":{{"axes":{{"a":["x","y"]}},"walk":[{}],"skipped":[],"coverage":{{"strength":1}}}}}}"#,
            walk.join(",")
        ),
    ];
    for step in 0..done {
        let value = ["y", "x"][step % 2];
        lines.push(format!(
            r#"{{"event":"step_start","step":{step},"effective":{{"a":"{value}"}},"changed":["a"]}}"#
        ));
        lines.push(format!(
            r#"{{"event":"verdict","step":{step},"check":"c","passed":true,"observed":1,"expected":1}}"#
        ));
        lines.push(format!(
            r#"{{"event":"step_end","step":{step},"passed":true,"seconds":1}}"#
        ));
    }
    std::fs::write(run.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    (dir, run)
}

#[test]
fn a_run_that_never_finished_is_incomplete_in_every_report_never_passed() {
    for done in [0, 3] {
        let (_dir, run) = unfinished(done);
        let report = Report::read(std::slice::from_ref(&run)).unwrap();
        assert_eq!(report.runs[0].status(), RunStatus::Incomplete);
        let files = report.write(&run).unwrap();

        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&files.summary_json).unwrap()).unwrap();
        assert_eq!(s["passed"], false, "{done} of 8: {s:#}");
        assert_eq!(s["status"], "incomplete");
        let r = &s["runs"][0];
        assert_eq!(r["passed"], false);
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["finished"], false);
        assert_eq!(r["steps_done"], done);
        assert_eq!(r["planned_steps"], 8);
        let f = &s["failures"][0];
        assert_eq!(f["check"], "run");
        assert_eq!(f["observed"], "incomplete");
        let want = format!("{done} of 8 planned steps done");
        assert!(f["message"].as_str().unwrap().contains(&want), "{f}");

        let xml = std::fs::read_to_string(&files.junit_xml).unwrap();
        assert!(!xml.contains(r#"failures="0""#), "{xml}");
        assert!(xml.contains(r#"type="incomplete""#), "{xml}");
        assert!(xml.contains(&want), "{xml}");

        let html = std::fs::read_to_string(&files.report_html).unwrap();
        assert!(html.contains(">INCOMPLETE</span>"), "badge");
        assert!(
            !html.contains("PASSED"),
            "an unfinished run is never PASSED"
        );
        assert!(html.contains(&want));
    }
}
