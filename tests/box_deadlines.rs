//! Every box command has a deadline (issues #16.2, #17.2): a `pithead apply` that never
//! returns is the step's `deadline.apply` verdict within `--apply-timeout`, with artifacts, and
//! the box is restored (config.json and .env byte for byte); a second Ctrl-C stops waiting for
//! a hung restore and says what is left undone, naming the real command.

#[path = "box_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::FakeBox;

/// A `pithead` wrapper that counts applies and, from apply number `from` on (to `to`), hangs
/// after the real apply has changed the box (the sleeper's pid is kept to be killed).
fn hanging_pithead(fake: &FakeBox, from: u32, to: u32) -> &'static str {
    let text = format!(
        "#!/bin/sh\nif [ \"$1\" = apply ]; then\n  n=$(( $(cat applies 2>/dev/null || echo 0) + 1 ))\n  \
         echo $n > applies\n  ./pithead \"$@\"; rc=$?\n  \
         if [ $n -ge {from} ] && [ $n -le {to} ]; then sleep 300 & echo $! >> sleepers; wait; fi\n  \
         exit $rc\nfi\nexec ./pithead \"$@\"\n"
    );
    support::write_exec(&fake.dir().join("hang"), &text);
    "./hang"
}

/// Kills the sleepers a hung apply left behind.
struct Sleepers<'a>(&'a Path);

impl Drop for Sleepers<'_> {
    fn drop(&mut self) {
        let pids = std::fs::read_to_string(self.0.join("sleepers")).unwrap_or_default();
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").arg(pid).status();
        }
    }
}

fn canary(fake: &FakeBox, pithead: &str, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_canary"));
    c.args(["run", "--target", "local", "--dir"])
        .arg(fake.dir())
        .args([
            "--pithead",
            pithead,
            "--seed",
            "7",
            "--no-replay",
            "--api-url",
        ])
        .arg(format!(
            "http://127.0.0.1:{}/api/state",
            fake.dashboard_port()
        ))
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn applies(fake: &FakeBox) -> u32 {
    std::fs::read_to_string(fake.dir().join("applies"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_hung_apply_is_a_deadline_verdict_and_the_box_is_restored() {
    let fake = FakeBox::setup();
    let _sleepers = Sleepers(fake.dir());
    let config = std::fs::read(fake.dir().join("config.json")).unwrap();
    let env = std::fs::read(fake.dir().join(".env")).unwrap();
    // Apply 3 is step 2's (step 1 applies, then applies again to prove it idempotent).
    let pithead = hanging_pithead(&fake, 3, 3);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = canary(&fake, pithead, out.path(), &["--apply-timeout", "5s"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(took < Duration::from_secs(45), "took {took:?}\n{t}");
    assert!(t.contains("FAIL step 2 deadline.apply"), "{t}");
    assert!(
        t.contains("`./hang apply -y` did not return within 5s"),
        "{t}"
    );
    assert!(!t.contains("`sh`"), "{t}");
    assert!(t.contains("box restored and verified"), "{t}");
    assert!(out.path().join("artifacts/step-1/status.txt").exists());
    assert_eq!(applies(&fake), 4, "the restore applied once more");
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        config
    );
    assert_eq!(
        std::fs::read(fake.dir().join(".env")).unwrap(),
        env,
        ".env is back too"
    );
    let journal = std::fs::read_to_string(out.path().join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"check\":\"deadline.apply\",\"passed\":false"),
        "{journal}"
    );
}

#[test]
fn a_second_ctrl_c_stops_waiting_for_a_hung_restore_and_says_what_is_left() {
    let fake = FakeBox::setup();
    let _sleepers = Sleepers(fake.dir());
    // Every apply from step 2's on hangs, the restore's too.
    let pithead = hanging_pithead(&fake, 3, 99);
    let out = tempfile::tempdir().unwrap();
    let child = canary(&fake, pithead, out.path(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for = |n: u32| {
        let t0 = Instant::now();
        while applies(&fake) < n {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "apply {n} never came"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(3);
    std::thread::sleep(Duration::from_millis(500));
    let int = || {
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
    };
    assert!(int().success());
    // The walk is dropped and the restore's apply starts, and hangs.
    wait_for(4);
    std::thread::sleep(Duration::from_millis(500));
    let second = Instant::now();
    assert!(int().success());
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert!(
        second.elapsed() < Duration::from_secs(10),
        "{:?}\n{t}",
        second.elapsed()
    );
    assert_eq!(o.status.code(), Some(130), "{t}");
    assert!(t.contains("stopped waiting for the restore"), "{t}");
    assert!(t.contains("config.json is back as it was (done)"), "{t}");
    assert!(
        t.contains(&format!(
            "run `cd {} && ./hang apply -y`",
            fake.dir().display()
        )),
        "{t}"
    );
}

/// A restore that hangs too is abandoned at `--restore-timeout`, without any signal: the run
/// ends with exit 2 within both deadlines and says what is left undone (#16.2).
#[test]
fn a_hung_restore_is_abandoned_at_its_deadline_and_says_what_is_left() {
    let fake = FakeBox::setup();
    let _sleepers = Sleepers(fake.dir());
    // Step 2's apply and every later one hang, the restore's too.
    let pithead = hanging_pithead(&fake, 3, 99);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = canary(
        &fake,
        pithead,
        out.path(),
        // The restore's deadline is shorter than one apply's, so it is the one that passes.
        &["--apply-timeout", "4s", "--restore-timeout", "2s"],
    )
    .output()
    .unwrap();
    let t = text(&o);
    // Two steps and the deadlines, with room for a loaded machine; not the 15-minute default.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}\n{t}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("deadline.apply"), "{t}");
    assert!(t.contains("deadline.restore"), "{t}");
    assert!(
        t.contains(&format!(
            "run `cd {} && ./hang apply -y`",
            fake.dir().display()
        )),
        "{t}"
    );
}
