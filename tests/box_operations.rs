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

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use canary::journal::Event;
use canary::model::{BUILTIN_PITHEAD, Model, Supplied, Transition, load_str};
use canary::run::{
    Baseline, ReadinessPolicy, RunOptions, RunOutcome, Sink, WalkCache, run_walk_cached, snapshot,
    steps_from_transitions,
};
use canary::safety::{self, RestoreOptions, Snapshot};
use canary::signal::Signals;
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions, KEPT_ENV};
use canary::target::{Observation, Target};
use support::{FakeBox, fake_binary};

/// The fake dashboard's failover timers, and the factor the model's windows are scaled by.
const DOWN: &str = "NODE_DOWN_AFTER_SEC=3";
const RECOVERY: &str = "NODE_RECOVERY_AFTER_SEC=5";
const TIMESCALE: f64 = 1.0 / 30.0;

fn fast_box(faults: &[&str]) -> FakeBox {
    let bin = fake_binary();
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(&bin);
    cmd.arg("setup")
        .arg(tmp.path())
        .args(["--dashboard-port", "0", "--daemon-env", DOWN])
        .args(["--daemon-env", RECOVERY]);
    if !faults.is_empty() {
        cmd.args(["--faults", &faults.join(",")]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    FakeBox { bin, tmp }
}

async fn open(fake: &FakeBox) -> BoxTarget {
    let mut o = BoxTargetOptions::new(BoxKind::Local {
        dir: fake.dir().to_str().unwrap().into(),
    });
    o.api_url = format!("http://127.0.0.1:{}/api/state", fake.dashboard_port());
    o.command_timeout = Duration::from_secs(30);
    o.apply_timeout = Duration::from_secs(60);
    let mut t = BoxTarget::open(o).await.unwrap();
    t.wait_ready(Duration::from_secs(30), Duration::from_millis(100))
        .await
        .unwrap();
    t
}

fn model() -> Model {
    load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap()
}

fn options() -> RunOptions {
    RunOptions {
        readiness: ReadinessPolicy {
            timeout: Duration::from_secs(30),
            first_poll: Duration::from_millis(100),
            max_poll: Duration::from_millis(500),
        },
        ..RunOptions::default()
    }
}

/// Keeps every event of a step.
#[derive(Default)]
struct Collect(Vec<Event>);

impl Sink for Collect {
    fn journaling(&self) -> bool {
        true
    }
    fn event(&mut self, event: Event) -> std::io::Result<()> {
        self.0.push(event);
        Ok(())
    }
}

/// What "the box as found" means here.
#[derive(Debug, PartialEq)]
struct Found {
    running: BTreeSet<String>,
    config_sha256: String,
    fingerprint: String,
}

async fn found(t: &mut BoxTarget) -> (Found, Observation) {
    let obs = t.observe().await.unwrap();
    let raw = t.read_config_raw().await.unwrap().unwrap();
    let f = Found {
        running: obs
            .containers
            .iter()
            .filter(|c| c.state == "running")
            .map(|c| c.name.clone())
            .collect(),
        config_sha256: safety::sha256_hex(&raw),
        fingerprint: obs.secret_fingerprint.clone(),
    };
    (f, obs)
}

/// Runs the operations named, one step each from the default box, the way the box walk does
/// (one runner call per step, one cache for the walk). Returns each step's outcome and events.
async fn operate(t: &mut BoxTarget, names: &[&str]) -> Vec<(String, RunOutcome, Vec<Event>)> {
    let m = model().with_operation_timescale(TIMESCALE);
    let supplied = Supplied::default();
    let ops = names
        .iter()
        .map(|n| Transition::Operate(m.operation_index(n).unwrap() as u16));
    let steps = steps_from_transitions(&m, &supplied, &m.default_config(), ops);
    let base = snapshot(t).await.unwrap();
    let mut before = base.observation.clone();
    let mut cache = WalkCache::new();
    let mut out = Vec::new();
    for (name, step) in names.iter().zip(&steps) {
        let b = Baseline {
            config: base.config.clone(),
            observation: Observation {
                secret_fingerprint: base.observation.secret_fingerprint.clone(),
                ..before.clone()
            },
        };
        let mut sink = Collect::default();
        let o = run_walk_cached(
            t,
            &m,
            &supplied,
            &b,
            std::slice::from_ref(step),
            &options(),
            &mut sink,
            &mut cache,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        before = t.observe().await.unwrap();
        out.push((name.to_string(), o, sink.0));
    }
    out
}

fn failed_checks(o: &RunOutcome) -> Vec<String> {
    o.failures
        .iter()
        .map(|f| format!("{}: {}", f.verdict.check, f.verdict.message))
        .collect()
}

fn verdict<'a>(events: &'a [Event], check: &str) -> Option<&'a canary::journal::Verdict> {
    events.iter().find_map(|e| match e {
        Event::Verdict { verdict, .. } if verdict.check == check => Some(verdict),
        _ => None,
    })
}

#[tokio::test]
async fn every_operation_passes_on_the_fake_box_and_leaves_it_as_found() {
    let fake = fast_box(&[]);
    let mut t = open(&fake).await;
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
    let mut t = open(&fake).await;
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

/// A walk that fails after a destructive operation began (the token emptied, monerod
/// stopped, neither recovered): the safety net finishes the owed recovery, rolls the box back
/// to the safety backup (down, restore, up) and restores the snapshot; the box is as found.
#[tokio::test]
async fn a_failed_walk_is_rolled_back_to_the_safety_backup() {
    use canary::model::Action;
    let fake = fast_box(&[]);
    let mut t = open(&fake).await;
    let (as_found, _) = found(&mut t).await;
    let snap = Snapshot::take(&mut t).await.unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let opts = RestoreOptions {
        ready_timeout: Duration::from_secs(30),
        poll: Duration::from_millis(200),
    };
    let mut signals = Signals::none();
    let out = safety::guard_judged(
        &mut t,
        &snap,
        &mut signals,
        false,
        &opts,
        |failed: &bool| *failed,
        async |t: &mut BoxTarget| {
            safety::take_backup(t, Some(run_dir.path())).await.unwrap();
            for a in [Action::EmptyProxyToken, Action::Stop("monerod".into())] {
                let r = t.act(&a).await.unwrap();
                assert_eq!(r.exit_code, 0, "{}: {}", a.command(), r.output);
            }
            true
        },
    )
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
    let mut t = open(&fake).await;
    let snap = Snapshot::take(&mut t).await.unwrap();
    let opts = RestoreOptions {
        ready_timeout: Duration::from_secs(30),
        poll: Duration::from_millis(200),
    };
    let mut signals = Signals::none();
    let out = safety::guard_judged(
        &mut t,
        &snap,
        &mut signals,
        false,
        &opts,
        |failed: &bool| *failed,
        async |t: &mut BoxTarget| {
            safety::take_backup(t, None).await.unwrap();
            false
        },
    )
    .await;
    assert!(out.rollback.is_none());
    assert!(out.settled.is_empty(), "{:?}", out.settled);
    assert!(out.restore.unwrap().unwrap().is_clean());
    assert!(t.safety_archive().is_some());
}
