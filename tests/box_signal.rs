//! A real SIGTERM in the middle of a walk: the walk stops at its next await point and the box
//! is restored before the guard returns. (Its own test binary: the signal goes to the whole
//! process.)

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::safety::{Snapshot, WalkEnd, guard};
use canary::signal::{Interrupt, Signals};
use canary::target::Target;
use canary::target::box_target::BoxTarget;
use serde_json::json;
use support::*;

#[tokio::test]
async fn sigterm_during_a_walk_restores_the_box() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let original = std::fs::read(b.dir().join("config.json")).unwrap();
    let snap = Snapshot::take(&mut t).await.unwrap();
    let mut signals = Signals::install().unwrap();
    let opts = quick_restore(5);
    let steps_done = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = steps_done.clone();
    // Send the signal while the walk is between steps.
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    });
    let out = guard(
        &mut t,
        &snap,
        &mut signals,
        false,
        &opts,
        async |t: &mut BoxTarget| {
            for pool in ["main", "nano", "mini", "main", "nano", "mini"]
                .iter()
                .cycle()
                .take(200)
            {
                t.write_config(&json!({"p2pool": {"pool": pool}}))
                    .await
                    .unwrap();
                t.apply().await.unwrap();
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        },
    )
    .await;
    assert!(
        matches!(out.end, WalkEnd::Interrupted(Interrupt::Term)),
        "{:?}",
        out.end
    );
    let done = steps_done.load(std::sync::atomic::Ordering::SeqCst);
    assert!(done > 0 && done < 200, "the walk ran {done} steps");
    let report = out.restore.expect("restored").expect("reachable");
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_eq!(
        std::fs::read(b.dir().join("config.json")).unwrap(),
        original
    );
    assert_eq!(signals.received(), Some(Interrupt::Term));
}
