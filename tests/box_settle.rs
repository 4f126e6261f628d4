//! Readiness apart from correctness on the fake box (issue #16.1): a healthy but wrong box is
//! judged as soon as it has settled, not after `--ready-timeout`; a box whose sync is still
//! moving is waited on past the settle window and passes; a stalled one settles and fails.

#[path = "box_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use canary::journal::{Event, read_journal};
use canary::model::BUILTIN_PITHEAD;
use canary::oracle::WaitEnd;
use support::{FakeBox, fake_binary};

fn setup(args: &[&str]) -> FakeBox {
    let bin = fake_binary();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(&bin)
        .arg("setup")
        .arg(tmp.path())
        .args(["--dashboard-port", "0"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    FakeBox { bin, tmp }
}

fn run(fake: &FakeBox, out: &Path, extra: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(["run", "--target", "local", "--dir"])
        .arg(fake.dir())
        .args(["--seed", "1", "--no-replay", "--api-url"])
        .arg(format!(
            "http://127.0.0.1:{}/api/state",
            fake.dashboard_port()
        ))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (o, started.elapsed())
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// (step, ended, seconds) of every readiness wait of the run.
fn waits(out: &Path) -> Vec<(usize, WaitEnd, f64)> {
    read_journal(&out.join("journal.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Ready {
                step,
                ended,
                seconds,
                ..
            } => Some((step, ended, seconds)),
            _ => None,
        })
        .collect()
}

/// The built-in model without slow fields: only visible progress may hold a wait.
fn model_without_slow_fields(dir: &Path) -> PathBuf {
    let text = BUILTIN_PITHEAD.replace(
        "slow = [\"sync.monero.state\", \"sync.tari.state\"]",
        "slow = []",
    );
    assert_ne!(text, BUILTIN_PITHEAD, "the model lists its slow fields");
    let p = dir.join("no-slow.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_healthy_but_wrong_box_fails_in_seconds_not_at_the_timeout() {
    let fake = setup(&["--faults", "stale-mini-flag"]);
    let out = tempfile::tempdir().unwrap();
    // The default --ready-timeout (10 min) stays: the wrong box must not cost it.
    let (o, took) = run(&fake, out.path(), &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(took < Duration::from_secs(30), "took {took:?}\n{t}");
    assert!(t.contains("FAIL step 3 api.pool.type"), "{t}");
    let settled: Vec<_> = waits(out.path())
        .into_iter()
        .filter(|(_, e, _)| *e == WaitEnd::Settled)
        .collect();
    assert!(!settled.is_empty(), "the wrong step's wait ended settled");
    assert!(
        settled.iter().all(|(_, _, s)| *s >= 5.0 && *s < 20.0),
        "{settled:?}"
    );
    // The box is put back after the failure.
    let st = Command::new(fake.dir().join("pithead"))
        .arg("status")
        .current_dir(fake.dir())
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn a_box_still_syncing_is_waited_on_past_the_settle_window_and_passes() {
    // monerod boots 100 000 blocks behind and climbs 7 000 a second: ~14 s of moving sync,
    // well past the 5 s settle window.
    let fake = setup(&[
        "--daemon-env",
        "FAKE_MONEROD_MODE=syncing",
        "--daemon-env",
        "FAKE_SYNC_BLOCKS_PER_SEC=7000",
    ]);
    let out = tempfile::tempdir().unwrap();
    let model = model_without_slow_fields(out.path());
    let (o, _) = run(
        &fake,
        &out.path().join("run"),
        &["--model", model.to_str().unwrap(), "--max-steps", "1"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let w = waits(&out.path().join("run"));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].1, WaitEnd::Ready, "{w:?}");
    assert!(w[0].2 > 6.0, "the sync outlasted the settle window: {w:?}");
}

#[test]
fn a_stalled_sync_settles_and_is_judged() {
    // Boots behind and never moves: nothing is progressing, so the box is judged wrong at the
    // end of the settle window.
    let fake = setup(&[
        "--daemon-env",
        "FAKE_MONEROD_MODE=syncing",
        "--daemon-env",
        "FAKE_SYNC_BLOCKS_PER_SEC=0",
    ]);
    let out = tempfile::tempdir().unwrap();
    let model = model_without_slow_fields(out.path());
    let (o, took) = run(
        &fake,
        &out.path().join("run"),
        &["--model", model.to_str().unwrap(), "--max-steps", "1"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("api.sync.monero.state"), "{t}");
    assert!(took < Duration::from_secs(30), "took {took:?}\n{t}");
    let w = waits(&out.path().join("run"));
    assert_eq!(w[0].1, WaitEnd::Settled, "{w:?}");
}
