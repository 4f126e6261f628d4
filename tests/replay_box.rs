//! `canary replay --target local` (issue #12): a saved regression replayed on a box. On a fake
//! box with the bug switched on it fails the same way (met, exit 0); on one without it, it
//! passes, which misses the file's `expect = "fail"` (exit 1). Either way the box is put back
//! byte for byte.

#[path = "box_support/mod.rs"]
mod support;

use std::path::Path;

use support::cli::{canary, on_box, text};
use support::{FakeBox, Sshd};

/// Found with `stale-caddy-scheme`: dashboard.secure off then on again leaves caddy serving
/// the old scheme (caddy is not restarted).
const REGRESSION: &str = "regressions/restarted-missing-95b5c285.json";

/// `canary replay` of [`REGRESSION`] on `fake`, locally or (`sshd`) over SSH.
fn replay(fake: &FakeBox, sshd: Option<&Sshd>) -> (Option<i32>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = on_box(fake, "replay", sshd);
    args.push(root.join(REGRESSION).display().to_string());
    let o = canary(&args, root);
    (o.status.code(), text(&o))
}

#[test]
fn a_regression_fails_the_same_way_on_a_box_with_the_bug_and_passes_without_it() {
    fails_with_the_bug_passes_without(None);
}

#[test]
fn the_same_over_ssh() {
    let sshd = Sshd::start();
    fails_with_the_bug_passes_without(Some(&sshd));
}

fn fails_with_the_bug_passes_without(sshd: Option<&Sshd>) {
    let faulty = FakeBox::setup_with_faults(&["stale-caddy-scheme"]);
    let before = std::fs::read(faulty.dir().join("config.json")).unwrap();
    let (code, out) = replay(&faulty, sshd);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("still fails the same way at step 1"), "{out}");
    assert!(out.contains("restored and verified"), "{out}");
    assert_eq!(
        std::fs::read(faulty.dir().join("config.json")).unwrap(),
        before
    );

    let fixed = FakeBox::setup();
    let before = std::fs::read(fixed.dir().join("config.json")).unwrap();
    let (code, out) = replay(&fixed, sshd);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("UNMET"), "{out}");
    assert!(out.contains("passes"), "{out}");
    assert_eq!(
        std::fs::read(fixed.dir().join("config.json")).unwrap(),
        before
    );
}

/// A file that says it cannot be replayed on a kind of target (`replays_on`) is not run there:
/// the replay prints SKIPPED with the file's reason and counts it apart, never as met; on a
/// kind it names it replays as usual.
#[test]
fn a_file_not_replayable_on_this_target_kind_is_skipped_loudly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(REGRESSION)).unwrap()).unwrap();
    v["replays_on"] = serde_json::json!({"targets": ["sim"], "reason": "it would harm the box"});
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("sim-only.json");
    std::fs::write(&file, v.to_string()).unwrap();

    // The bug is on the box, so a replay there would fail the same way: it must not run.
    let faulty = FakeBox::setup_with_faults(&["stale-caddy-scheme"]);
    let mut args = on_box(&faulty, "replay", None);
    args.push(file.display().to_string());
    let o = canary(&args, work.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("SKIPPED")
            && t.contains("not replayable on local (only on sim): it would harm the box"),
        "{t}"
    );
    assert!(t.contains("0 met, 0 unmet, 0 unreadable, 1 SKIPPED"), "{t}");
    assert!(!t.contains("still fails"), "{t}");

    // On the sim it runs, with the fault the file was found with.
    let o = canary(["replay", file.to_str().unwrap()], work.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("still fails the same way"), "{t}");
    assert!(!t.contains("SKIPPED"), "{t}");
}
