//! `canary fuzz --target local` (issue #12): random sequences on a box, every case from the
//! box's baseline. Without a bug nothing is found and the box is put back; with
//! `stale-caddy-scheme` switched on in the fake box the failure is confirmed, shrunk on the box
//! to the catalogue's minimal length, saved as found on a local box, and its rerun line
//! reaches the box again.

#[path = "box_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Output;

use canary::faults::Fault;
use canary::regress::Regression;
use support::FakeBox;
use support::cli::{canary, on_box, text};

fn fuzz(fake: &FakeBox, work: &Path, extra: &[&str]) -> Output {
    let mut args = on_box(fake, "fuzz", None);
    args.extend(
        [
            "--seed",
            "3",
            "--no-replay",
            "--cases",
            "10",
            "--steps",
            "8",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|a| a.to_string()));
    canary(&args, work)
}

#[test]
fn fuzzing_a_box_without_a_bug_finds_nothing_and_puts_the_box_back() {
    let fake = FakeBox::setup();
    let before = std::fs::read(fake.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let o = fuzz(&fake, work.path(), &["--no-save"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("10 cases"), "{t}");
    assert!(t.contains("0 distinct failures"), "{t}");
    assert!(t.contains("restored and verified"), "{t}");
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        before
    );
}

#[test]
fn a_bug_of_the_box_is_shrunk_on_the_box_and_saved_as_found_there() {
    let fault = Fault::StaleCaddyScheme;
    let fake = FakeBox::setup_with_faults(&[fault.name()]);
    let before = std::fs::read(fake.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let regressions = work.path().join("found");
    let o = fuzz(
        &fake,
        work.path(),
        &["--regressions", regressions.to_str().unwrap()],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let minimal = fault.info().minimal_steps;
    assert!(
        t.contains(&format!("shrunk to {minimal} steps")),
        "not shrunk to {minimal} steps:\n{t}"
    );
    assert!(
        t.contains(&format!("--target local --dir {}", fake.dir().display())),
        "the rerun line does not reach the box:\n{t}"
    );
    assert!(t.contains("restored and verified"), "{t}");
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        before
    );
    let files = canary::regress::files(&regressions).unwrap();
    assert_eq!(files.len(), 1, "{t}");
    let r = Regression::load(&files[0]).unwrap();
    assert_eq!(r.target, "local");
    assert!(r.faults.is_empty(), "a box has no injected faults");
    assert_eq!(r.steps.len(), minimal);
}

#[test]
fn injected_faults_are_refused_on_a_box() {
    let fake = FakeBox::setup();
    let work = tempfile::tempdir().unwrap();
    let o = fuzz(&fake, work.path(), &["--fault", "stale-caddy-scheme"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--fault"), "{}", text(&o));
}
