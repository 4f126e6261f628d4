//! A failure found on a box, shrunk on that box (issue #12): `canary run --target local
//! --shrink` on a fake box with `stale-caddy-scheme` switched on fails, shrinks on the box to
//! the catalogue's minimal length, confirms it, saves the regression (found on a local box),
//! restores the box; `canary replay --target local` of that file then fails the same way on a
//! box with the bug and passes on one without it.

#[path = "box_support/mod.rs"]
mod support;

use std::io::BufRead;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use canary::faults::Fault;
use canary::regress::Regression;
use support::cli::{self, canary, on_box, text};
use support::{FakeBox, Sshd};

#[test]
fn a_box_failure_shrinks_on_the_box_is_saved_and_replays_there() {
    shrinks_saves_and_replays(None);
}

#[test]
fn the_same_over_ssh() {
    let sshd = Sshd::start();
    shrinks_saves_and_replays(Some(&sshd));
}

fn shrinks_saves_and_replays(sshd: Option<&Sshd>) {
    let fault = Fault::StaleCaddyScheme;
    let faulty = FakeBox::setup_with_faults(&[fault.name()]);
    let before = std::fs::read(faulty.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let regressions = work.path().join("found-run");
    let args = shrink_args(&faulty, sshd, work.path(), "run");
    let o = canary(&args, work.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let minimal = fault.info().minimal_steps;
    assert!(
        t.contains(&format!("-> {minimal} steps")),
        "not shrunk to {minimal} steps:\n{t}"
    );
    assert!(t.contains("confirmed 2/2"), "{t}");
    // A bug of the box alone: the sim, bug-free, does not reproduce it, and says so.
    assert!(t.contains("the sim and the box disagree"), "{t}");
    assert!(t.contains("(shrunk on the box)"), "{t}");
    assert!(t.contains("shrink: box restored and verified"), "{t}");
    assert_eq!(
        std::fs::read(faulty.dir().join("config.json")).unwrap(),
        before
    );
    let files = canary::regress::files(&regressions).unwrap();
    assert_eq!(files.len(), 1, "{t}");
    let r = Regression::load(&files[0]).unwrap();
    assert_eq!(r.target, if sshd.is_some() { "ssh" } else { "local" });
    assert!(r.found_on_box());
    // Where it was found: the compose version the box answers with, when it has one.
    let manifest = r.box_manifest.clone().expect("a box manifest");
    let answers = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // Over SSH the box may see another Compose than this shell (its own PATH and plugins).
    if answers("docker", &["compose", "version"]) || answers("docker-compose", &["version"]) {
        assert!(
            manifest
                .compose
                .as_deref()
                .is_some_and(|c| c.starts_with("v1 ") || c.starts_with("v2 ")),
            "{manifest:?}"
        );
    }
    assert_eq!(r.steps.len(), minimal);
    assert_eq!(r.failing.check, "restarted");

    // Replayed on a box with the bug it fails the same way; on one without, it passes.
    let mut replay = on_box(&faulty, "replay", sshd);
    replay.push(files[0].display().to_string());
    let o = canary(&replay, work.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("still fails the same way"),
        "{}",
        text(&o)
    );
    let fixed = FakeBox::setup();
    let mut replay = on_box(&fixed, "replay", sshd);
    replay.push(files[0].display().to_string());
    let o = canary(&replay, work.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("passes"), "{}", text(&o));
}

/// Ctrl-C while the box shrinks: the candidate is dropped, nothing is saved, the box is
/// restored byte for byte, and canary exits as interrupted.
#[test]
fn ctrl_c_during_a_box_shrink_restores_the_box_and_saves_nothing() {
    let faulty = FakeBox::setup_with_faults(&[Fault::StaleCaddyScheme.name()]);
    let before = std::fs::read(faulty.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let regressions = work.path().join("found-run");
    let args = shrink_args(&faulty, None, work.path(), "run");
    let mut child = cli::spawn(&args, work.path());
    // Read stdout to its end on a thread (canary keeps printing), signalling at the shrink.
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in stdout.lines().map_while(Result::ok) {
            if line.starts_with("shrink: restarted") {
                let _ = tx.send(());
            }
            seen.push(line);
        }
        seen
    });
    if rx.recv_timeout(Duration::from_secs(120)).is_ok() {
        // A candidate or two under way.
        std::thread::sleep(Duration::from_millis(300));
        cli::interrupt(&child);
    }
    let o = child.wait_with_output().unwrap();
    let seen = reader.join().unwrap();
    let t = format!(
        "{}\n{}",
        seen.join("\n"),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        seen.iter().any(|l| l.starts_with("shrink: restarted")),
        "the shrink never started:\n{t}"
    );
    assert_eq!(o.status.code(), Some(130), "{t}");
    assert!(t.contains("shrink: stopped"), "{t}");
    assert!(t.contains("shrink: box restored and verified"), "{t}");
    assert!(
        canary::regress::files(&regressions).unwrap().is_empty(),
        "{t}"
    );
    assert_eq!(
        std::fs::read(faulty.dir().join("config.json")).unwrap(),
        before
    );
}

/// A failure the simulated stack reproduces (here: a model that wrongly says a
/// `dashboard.secure` change restarts nothing, so both the sim and the box "restart caddy
/// unexpectedly") is shrunk on the sim; the box only confirms the minimum: no box apply is
/// spent shrinking, only the confirmation runs (each a restore and its steps).
#[test]
fn a_failure_the_sim_reproduces_is_shrunk_there_and_only_confirmed_on_the_box() {
    let work = tempfile::tempdir().unwrap();
    let builtin = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("strategies/pithead.toml"),
    )
    .unwrap();
    let wrong = builtin.replace("restart_on = [\"DASHBOARD_SECURE\"]", "restart_on = []");
    assert_ne!(wrong, builtin, "the caddy restart line moved");
    let model = work.path().join("wrong.toml");
    std::fs::write(&model, wrong).unwrap();
    let fake = FakeBox::setup();
    let mut args = shrink_args(&fake, None, work.path(), "run");
    args.extend(["--model", model.to_str().unwrap()].map(String::from));
    let o = canary(&args, work.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("the simulated stack reproduces it"), "{t}");
    let line = t
        .lines()
        .find(|l| l.contains("(shrunk on the sim)"))
        .unwrap_or_else(|| panic!("not shrunk on the sim:\n{t}"));
    let applies: usize = line
        .split(" in ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no applies in {line}"));
    let minimal: usize = line
        .split("-> ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // Two confirmation runs, each one restore plus the minimal steps, and nothing else.
    assert!(applies <= 2 * (minimal + 1), "{line}");
    assert!(t.contains("confirmed 2/2"), "{t}");
}

/// The `shrink_candidate` lines of a run's journal: (steps, passed, failed_at, check).
fn candidates(run: &Path) -> Vec<(serde_json::Value, bool, Option<u64>, Option<String>)> {
    std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "shrink_candidate")
        .map(|e| {
            (
                e["steps"].clone(),
                e["passed"].as_bool().unwrap(),
                e["failed_at"].as_u64(),
                e["check"].as_str().map(String::from),
            )
        })
        .collect()
}

/// `canary run --shrink` on `fake` (seed 7), the run in `work/NAME`, regressions saved in
/// `work/found-NAME`.
fn shrink_args(fake: &FakeBox, sshd: Option<&Sshd>, work: &Path, name: &str) -> Vec<String> {
    let mut args = on_box(fake, "run", sshd);
    args.extend(
        [
            "--seed",
            "7",
            "--no-replay",
            "--shrink",
            "--regressions",
            work.join(format!("found-{name}")).to_str().unwrap(),
            "--out",
            work.join(name).to_str().unwrap(),
        ]
        .map(String::from),
    );
    args
}

/// Ctrl-C part-way through a box shrink, then `run --resume`: the box is restored at the
/// interruption, and the resumed shrink reaches the minimum an uninterrupted one reaches,
/// judging on the box only the candidates the interrupted part had not judged (each candidate
/// sequence appears once in the journal, and the two parts together judge exactly the
/// uninterrupted shrink's candidates).
#[test]
fn an_interrupted_box_shrink_resumes_without_judging_a_candidate_twice() {
    let fault = Fault::StaleCaddyScheme;
    let work = tempfile::tempdir().unwrap();

    // The uninterrupted shrink, for reference.
    let reference = FakeBox::setup_with_faults(&[fault.name()]);
    let o = canary(shrink_args(&reference, None, work.path(), "a"), work.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let want = candidates(&work.path().join("a"));
    assert!(want.len() >= 4, "too few candidates to interrupt: {want:?}");
    let found_a = canary::regress::files(&work.path().join("found-a")).unwrap();
    assert_eq!(found_a.len(), 1, "{}", text(&o));

    // The same shrink, interrupted once a few candidates are journaled.
    let faulty = FakeBox::setup_with_faults(&[fault.name()]);
    let before = std::fs::read(faulty.dir().join("config.json")).unwrap();
    let run = work.path().join("b");
    let child = cli::spawn(shrink_args(&faulty, None, work.path(), "b"), work.path());
    let judged_before = want.len() / 2;
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while std::time::Instant::now() < deadline
        && (!run.join("journal.jsonl").exists() || candidates(&run).len() < judged_before)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    cli::interrupt(&child);
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(130), "{t}");
    assert!(t.contains("shrink: stopped"), "{t}");
    assert!(t.contains("shrink: box restored and verified"), "{t}");
    assert_eq!(
        t.matches("received; stopping").count(),
        1,
        "the signal is announced once:\n{t}"
    );
    assert_eq!(
        std::fs::read(faulty.dir().join("config.json")).unwrap(),
        before
    );
    let interrupted = candidates(&run);
    assert!(
        interrupted.len() >= judged_before && interrupted.len() < want.len(),
        "interrupted after {} of {} candidates:\n{t}",
        interrupted.len(),
        want.len()
    );
    assert!(
        canary::regress::files(&work.path().join("found-b"))
            .unwrap()
            .is_empty()
    );

    // Resumed: the rest of the shrink, the same minimum, saved, the box restored.
    let mut args = on_box(&faulty, "run", None);
    args.extend(["--resume".to_string(), run.display().to_string()]);
    let o = canary(&args, work.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "resuming: {} candidates already judged",
            interrupted.len()
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("-> {} steps", fault.info().minimal_steps)),
        "{t}"
    );
    assert!(t.contains("shrink: box restored and verified"), "{t}");
    assert_eq!(
        std::fs::read(faulty.dir().join("config.json")).unwrap(),
        before
    );
    let found_b = canary::regress::files(&work.path().join("found-b")).unwrap();
    assert_eq!(found_b.len(), 1, "{t}");
    let (a, b) = (
        Regression::load(&found_a[0]).unwrap(),
        Regression::load(&found_b[0]).unwrap(),
    );
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.failing.check, b.failing.check);

    // Every candidate judged once, and exactly the uninterrupted shrink's.
    let got = candidates(&run);
    for (i, c) in got.iter().enumerate() {
        assert!(
            !got[..i].iter().any(|d| d.0 == c.0),
            "candidate {} ran on the box twice: {}",
            i + 1,
            c.0
        );
    }
    let key = |c: &(serde_json::Value, bool, Option<u64>, Option<String>)| {
        format!("{} {} {:?} {:?}", c.0, c.1, c.2, c.3)
    };
    let mut got: Vec<String> = got.iter().map(key).collect();
    let mut want: Vec<String> = want.iter().map(key).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // Nothing more to resume.
    let o = canary(&args, work.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already ended"), "{}", text(&o));
}
