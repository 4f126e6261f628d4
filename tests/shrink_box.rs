//! A failure found on a box, shrunk on that box (issue #12): `canary run --target local
//! --shrink` on a fake box with `stale-caddy-scheme` switched on fails, shrinks on the box to
//! the catalogue's minimal length, confirms it, saves the regression (found on a local box),
//! restores the box; `canary replay --target local` of that file then fails the same way on a
//! box with the bug and passes on one without it.

#[path = "box_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use canary::faults::Fault;
use canary::regress::Regression;
use support::FakeBox;

fn canary(args: &[String], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(args)
        .current_dir(cwd)
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

fn on(fake: &FakeBox, verb: &str) -> Vec<String> {
    vec![
        verb.into(),
        "--target".into(),
        "local".into(),
        "--dir".into(),
        fake.dir().display().to_string(),
        "--api-url".into(),
        format!("http://127.0.0.1:{}/api/state", fake.dashboard_port()),
        "--ready-timeout".into(),
        "30s".into(),
    ]
}

#[test]
fn a_box_failure_shrinks_on_the_box_is_saved_and_replays_there() {
    let fault = Fault::StaleCaddyScheme;
    let faulty = FakeBox::setup_with_faults(&[fault.name()]);
    let before = std::fs::read(faulty.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let regressions = work.path().join("found");
    let mut args = on(&faulty, "run");
    args.extend(
        [
            "--seed",
            "7",
            "--no-replay",
            "--shrink",
            "--regressions",
            regressions.to_str().unwrap(),
            "--out",
            work.path().join("run").to_str().unwrap(),
        ]
        .map(String::from),
    );
    let o = canary(&args, work.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let minimal = fault.info().minimal_steps;
    assert!(
        t.contains(&format!("-> {minimal} steps")),
        "not shrunk to {minimal} steps:\n{t}"
    );
    assert!(t.contains("confirmed 2/2"), "{t}");
    assert!(t.contains("shrink: box restored and verified"), "{t}");
    assert_eq!(
        std::fs::read(faulty.dir().join("config.json")).unwrap(),
        before
    );
    let files = canary::regress::files(&regressions).unwrap();
    assert_eq!(files.len(), 1, "{t}");
    let r = Regression::load(&files[0]).unwrap();
    assert_eq!(r.target, "local");
    assert!(r.found_on_box());
    assert_eq!(r.steps.len(), minimal);
    assert_eq!(r.failing.check, "restarted");

    // Replayed on a box with the bug it fails the same way; on one without, it passes.
    let mut replay = on(&faulty, "replay");
    replay.push(files[0].display().to_string());
    let o = canary(&replay, work.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("still fails the same way"),
        "{}",
        text(&o)
    );
    let fixed = FakeBox::setup();
    let mut replay = on(&fixed, "replay");
    replay.push(files[0].display().to_string());
    let o = canary(&replay, work.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("passes"), "{}", text(&o));
}
