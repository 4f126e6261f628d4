//! Ctrl-C during a walk over SSH: the walk stops, the box behind a real sshd is restored.
//! (Its own test binary: the signal goes to the whole process.)

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::safety::{Snapshot, WalkEnd, guard};
use canary::signal::{Interrupt, Signals};
use canary::target::box_target::{BoxKind, BoxTarget};
use serde_json::json;
use support::*;

#[tokio::test]
async fn ctrl_c_during_an_ssh_walk_restores_the_box() {
    let sshd = Sshd::start();
    let b = ScriptedBox::new();
    let mut o = b.options(BoxKind::Ssh {
        host: "canary-test".into(),
        dir: b.dir_str(),
    });
    o.ssh = Some(sshd.ssh_options());
    let mut t = BoxTarget::open(o).await.unwrap();
    let original = std::fs::read(b.dir().join("config.json")).unwrap();
    let snap = Snapshot::take(&mut t).await.unwrap();
    let mut signals = Signals::install().unwrap();
    let opts = quick_restore(10);
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    });
    let mut steps = 0u32;
    let out = guard(
        &mut t,
        &snap,
        &mut signals,
        false,
        &opts,
        async |t: &mut BoxTarget| {
            for n in 0..500 {
                let pool = if n % 2 == 0 { "main" } else { "nano" };
                t.apply_config(&json!({"p2pool": {"pool": pool}, "n": n}))
                    .await
                    .unwrap();
                steps += 1;
            }
        },
    )
    .await;
    assert!(
        matches!(out.end, WalkEnd::Interrupted(Interrupt::CtrlC)),
        "{:?}",
        out.end
    );
    assert!(steps > 0 && steps < 500, "the walk ran {steps} steps");
    let report = out.restore.expect("restored").expect("reachable");
    assert!(report.is_clean(), "{:?}", report.differences);
    assert!(report.config_written);
    assert_eq!(
        std::fs::read(b.dir().join("config.json")).unwrap(),
        original
    );
    let calls = b.calls();
    assert!(
        calls.lines().filter(|l| l.starts_with("apply")).count() as u32 > steps,
        "re-applied"
    );
}
