//! Shared parts of the operation tests: a fake box whose dashboard runs its failover on short
//! timers, the model with its windows scaled to match, and a step-at-a-time runner like the
//! box walk's, keeping every event.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use canary::journal::Event;
use canary::model::{BUILTIN_PITHEAD, Config, Model, Supplied, Transition, load_str};
use canary::run::{
    Baseline, ReadinessPolicy, RunOptions, RunOutcome, Sink, WalkCache, run_walk_cached, snapshot,
    steps_from_transitions,
};
use canary::safety;
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions};
use canary::target::{Observation, Target};

use super::FakeBox;

/// The fake dashboard's failover timers, and the factor the model's windows are scaled by.
pub const DOWN: &str = "NODE_DOWN_AFTER_SEC=3";
pub const RECOVERY: &str = "NODE_RECOVERY_AFTER_SEC=5";
pub const TIMESCALE: f64 = 1.0 / 30.0;

pub fn fast_box(faults: &[&str]) -> FakeBox {
    FakeBox::setup_with(faults, &["--daemon-env", DOWN, "--daemon-env", RECOVERY])
}

pub async fn open_local(fake: &FakeBox) -> BoxTarget {
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

pub fn model() -> Model {
    load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap()
}

pub fn options() -> RunOptions {
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
pub struct Collect(pub Vec<Event>);

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
pub struct Found {
    pub running: BTreeSet<String>,
    pub config_sha256: String,
    pub fingerprint: String,
}

pub async fn found(t: &mut BoxTarget) -> (Found, Observation) {
    let obs = t.observe().await.unwrap();
    let raw = t.read_config_raw().await.unwrap().unwrap();
    let f = Found {
        running: obs
            .containers
            .iter()
            .filter(|c| c.state == canary::target::RunState::Running)
            .map(|c| c.name.clone())
            .collect(),
        config_sha256: safety::sha256_hex(&raw),
        fingerprint: obs.secret_fingerprint.clone(),
    };
    (f, obs)
}

/// Runs the operations named, one step each from the default box, the way the box walk does
/// (one runner call per step, one cache for the walk). Returns each step's outcome and events.
pub async fn operate(t: &mut BoxTarget, names: &[&str]) -> Vec<(String, RunOutcome, Vec<Event>)> {
    operate_from(t, &model().default_config(), names).await
}

/// [`operate`] on a box whose config.json is the raw config `start`.
pub async fn operate_from(
    t: &mut BoxTarget,
    start: &Config,
    names: &[&str],
) -> Vec<(String, RunOutcome, Vec<Event>)> {
    let m = model().with_operation_timescale(TIMESCALE);
    let supplied = Supplied::default();
    let ops = names
        .iter()
        .map(|n| Transition::Operate(m.operation_index(n).unwrap() as u16));
    let steps = steps_from_transitions(&m, &supplied, start, ops);
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

pub fn failed_checks(o: &RunOutcome) -> Vec<String> {
    o.failures
        .iter()
        .map(|f| format!("{}: {}", f.verdict.check, f.verdict.message))
        .collect()
}

pub fn verdict<'a>(events: &'a [Event], check: &str) -> Option<&'a canary::journal::Verdict> {
    events.iter().find_map(|e| match e {
        Event::Verdict { verdict, .. } if verdict.check == check => Some(verdict),
        _ => None,
    })
}
