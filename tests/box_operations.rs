//! Operations on a real fake box (`pithead-fake setup`, daemons as local processes): every
//! operation of the model once from the default box, each judged by the runner and the
//! oracle, and after each one the box as it was found (running containers, config.json,
//! secret fingerprint, nothing owed). The fake's dashboard runs its failover on short timers
//! (NODE_DOWN_AFTER_SEC=3, NODE_RECOVERY_AFTER_SEC=5), so the model's windows are scaled by
//! 1/30 (`--op-timescale`): 180 s → 6 s for the proxy to be rejected, 120 s → 4 s of health
//! before readmission. Also: the fake's operation faults are caught, and a failed walk is
//! rolled back to the safety backup.

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::journal::Event;
use canary::safety::{self, RestoreOptions, Snapshot};
use canary::signal::Signals;
use canary::target::Target;
use canary::target::box_target::{BoxTarget, KEPT_ENV};
use support::ops::*;

#[test]
fn the_timescale_scales_only_the_operation_windows() {
    let m = model();
    let s = m.with_operation_timescale(TIMESCALE);
    let i = m.operation_index("node-down").unwrap();
    let (a, b) = (&m.operations[i], &s.operations[i]);
    assert!((b.during.within - a.during.within / 30.0).abs() < 1e-9);
    let (ra, rb) = (a.readmit.as_ref().unwrap(), b.readmit.as_ref().unwrap());
    assert!((rb.stable - ra.stable / 30.0).abs() < 1e-9);
    assert_eq!(b.cost, a.cost, "prices are the planner's, not scaled");
    assert_eq!(s.axes, m.axes);
}

#[tokio::test]
async fn every_operation_passes_on_the_fake_box_and_leaves_it_as_found() {
    let fake = fast_box(&[]);
    let mut t = open_local(&fake).await;
    let token = std::fs::read_to_string(fake.dir().join(".env"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("PROXY_AUTH_TOKEN=").map(String::from))
        .unwrap();
    assert!(token.len() >= 16, "the fake box has a token");
    let (as_found, _) = found(&mut t).await;
    let m = model();
    let names: Vec<&str> = m.operations.iter().map(|o| o.name.as_str()).collect();
    assert!(names.len() >= 9, "{names:?}");
    let started = std::time::Instant::now();
    for (name, outcome, events) in operate(&mut t, &names).await {
        assert!(outcome.passed(), "{name}: {:?}", failed_checks(&outcome));
        assert!(t.owed().is_empty(), "{name} left {:?} owed", t.owed());
        let (now, _) = found(&mut t).await;
        assert_eq!(now, as_found, "{name} did not leave the box as found");
        // The token never leaves the box: not in any command output, observation or verdict.
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(&token), "{name}: the proxy token leaked");
        let actions = events
            .iter()
            .filter(|e| matches!(e, Event::Action { .. }))
            .count();
        assert!(actions >= 1, "{name} performed no action");
        let op = &m.operations[m.operation_index(&name).unwrap()];
        if !op.during.is_empty() {
            let v = verdict(&events, "op.during").unwrap_or_else(|| panic!("{name}: op.during"));
            assert!(v.passed, "{name}: {v:?}");
        }
        if op.readmit.is_some() {
            let v = verdict(&events, "op.readmit").unwrap_or_else(|| panic!("{name}: op.readmit"));
            assert!(v.passed, "{name}: {v:?}");
        }
        if op.refuses.is_some() {
            let v = verdict(&events, "op.refused").unwrap_or_else(|| panic!("{name}: op.refused"));
            assert!(v.passed, "{name}: {v:?}");
        }
    }
    assert!(!fake.dir().join(KEPT_ENV).exists(), "the side file is gone");
    eprintln!(
        "{} operations on the fake box in {:.1?}",
        names.len(),
        started.elapsed()
    );
}

/// The fault's operation fails the check named, and its recovery still leaves the box as found.
async fn caught(fault: &str, ops: &[&str], check: &str) {
    let fake = fast_box(&[fault]);
    let mut t = open_local(&fake).await;
    let (as_found, _) = found(&mut t).await;
    let results = operate(&mut t, ops).await;
    let (name, outcome, _) = results.last().unwrap();
    let failed = failed_checks(outcome);
    assert!(
        failed.iter().any(|f| f.starts_with(&format!("{check}:"))),
        "{fault}: {name} should fail {check}, failed {failed:?}"
    );
    assert!(t.owed().is_empty(), "{fault}: {:?} owed", t.owed());
    let (now, _) = found(&mut t).await;
    assert_eq!(now.fingerprint, as_found.fingerprint, "{fault}");
    assert_eq!(now.config_sha256, as_found.config_sha256, "{fault}");
}

#[tokio::test]
async fn a_premature_readmission_is_caught() {
    caught("premature-readmit", &["node-down"], "op.readmit").await;
}

#[tokio::test]
async fn an_up_that_accepts_an_empty_token_is_caught() {
    caught(
        "up-accepts-empty-token",
        &["empty-proxy-token"],
        "op.refused",
    )
    .await;
}

#[tokio::test]
async fn a_restart_of_tor_that_strands_monerod_is_caught() {
    caught("restart-tor-strands-monerod", &["restart-tor"], "restarted").await;
}

/// The safety net around `walk` on the fake box, the walk judged failed when it says so
/// (restored within 30 s, polled every 200 ms; no signals).
async fn guard_judged_by_bool<W: AsyncFnOnce(&mut BoxTarget) -> bool>(
    t: &mut BoxTarget,
    snap: &Snapshot,
    walk: W,
) -> safety::Guarded<bool> {
    let opts = RestoreOptions {
        ready_timeout: Duration::from_secs(30),
        poll: Duration::from_millis(200),
        ..RestoreOptions::default()
    };
    safety::guard_judged(
        t,
        snap,
        &mut Signals::none(),
        false,
        &opts,
        |failed: &bool| *failed,
        walk,
    )
    .await
}

/// A walk that fails after a destructive operation began (the token emptied, monerod
/// stopped, neither recovered): the safety net finishes the owed recovery, rolls the box back
/// to the safety backup (down, restore, up) and restores the snapshot; the box is as found.
#[tokio::test]
async fn a_failed_walk_is_rolled_back_to_the_safety_backup() {
    use canary::model::Action;
    let fake = fast_box(&[]);
    let mut t = open_local(&fake).await;
    let (as_found, _) = found(&mut t).await;
    let snap = Snapshot::take(&mut t).await.unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let out = guard_judged_by_bool(&mut t, &snap, async |t: &mut BoxTarget| {
        safety::take_backup(t, Some(run_dir.path())).await.unwrap();
        for a in [Action::EmptyProxyToken, Action::Stop("monerod".into())] {
            let r = t.act(&a).await.unwrap();
            assert_eq!(r.exit_code, 0, "{}: {}", a.command(), r.output);
        }
        true
    })
    .await;
    let archive = safety::load_backup(run_dir.path()).expect("the archive is recorded");
    assert!(fake.dir().join(&archive).exists(), "{archive}");
    assert_eq!(
        out.settled.len(),
        3,
        "token back, monerod started, up: {:?}",
        out.settled
    );
    let rollback = out.rollback.expect("rolled back").unwrap();
    assert!(rollback.is_clean(), "{rollback:?}");
    assert_eq!(rollback.commands.len(), 3);
    let restore = out.restore.unwrap().unwrap();
    assert!(restore.is_clean(), "{:?}", restore.differences);
    assert!(t.owed().is_empty());
    assert!(!fake.dir().join(KEPT_ENV).exists());
    let (now, _) = found(&mut t).await;
    assert_eq!(now, as_found);
}

/// A walk that passes is not rolled back, even with a safety backup taken.
#[tokio::test]
async fn a_passing_walk_is_not_rolled_back() {
    let fake = fast_box(&[]);
    let mut t = open_local(&fake).await;
    let snap = Snapshot::take(&mut t).await.unwrap();
    let out = guard_judged_by_bool(&mut t, &snap, async |t: &mut BoxTarget| {
        safety::take_backup(t, None).await.unwrap();
        false
    })
    .await;
    assert!(out.rollback.is_none());
    assert!(out.settled.is_empty(), "{:?}", out.settled);
    assert!(out.restore.unwrap().unwrap().is_clean());
    assert!(t.safety_archive().is_some());
}
