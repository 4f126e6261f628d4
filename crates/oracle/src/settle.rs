//! Readiness apart from correctness: when the wait after a step may end.
//!
//! A box is waited on while it is still getting somewhere, and judged as soon as it has
//! stopped: a box that is healthy but wrong fails at once instead of costing the whole
//! `--ready-timeout`. The wait ends
//!
//! - [`WaitEnd::Ready`]: the box shows what the model expects ([`super::is_ready`]);
//! - [`WaitEnd::Settled`]: it answers (`/api/state` is a JSON object), no
//!   container is restarting or still in its healthcheck's start, and the judged part of the
//!   observation (status, containers, posture keys, expected API fields, the model's progress
//!   fields) stayed the same for the settle window: [`SettleRule::polls`] consecutive polls
//!   spanning at least [`SettleRule::window`]. While an expected field the model calls slow
//!   (sync state) is not yet at its value, the window is [`SettleRule::slow_window`];
//! - [`WaitEnd::Progressing`]: the timeout passed while the box was still changing;
//! - [`WaitEnd::NeverAnswered`]: the timeout passed and `/api/state` never answered.
//!
//! A target that knows when its observation next changes (the simulated stack) is settled
//! exactly when nothing is pending: no window is needed on a virtual clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Expected, is_ready, lookup};
use canary_core::target::{Observation, RunState};

/// Why a wait for readiness ended; recorded in the journal's `ready` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WaitEnd {
    /// The box showed the expected state.
    #[default]
    Ready,
    /// The box stopped changing in another state; the verdicts say what is wrong.
    Settled,
    /// Still changing when the timeout passed.
    Progressing,
    /// Status or the API never answered before the timeout.
    NeverAnswered,
    /// Not polled: the apply failed.
    NotPolled,
}

impl WaitEnd {
    /// Whether the box settled (right or wrong) before the timeout.
    pub fn settled(self) -> bool {
        matches!(self, WaitEnd::Ready | WaitEnd::Settled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WaitEnd::Ready => "ready",
            WaitEnd::Settled => "settled",
            WaitEnd::Progressing => "progressed to timeout",
            WaitEnd::NeverAnswered => "never answered",
            WaitEnd::NotPolled => "not polled",
        }
    }
}

/// The settle window of one target, from the model's `[readiness]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SettleRule {
    /// Consecutive equal polls that make a box settled (at least 2).
    pub polls: u32,
    /// The least time those polls must span (a dashboard refreshing its state every few
    /// seconds must get the chance to show a change).
    pub window: Duration,
    /// The window while a slow expected field is not yet at its value.
    pub slow_window: Duration,
    /// Expected `/api/state` fields that legitimately take long (`sync.monero.state`).
    pub slow: Vec<String>,
    /// `/api/state` subtrees whose movement is progress (`sync.monero`: height, percent).
    pub progress: Vec<String>,
}

impl Default for SettleRule {
    /// Three polls over five seconds, a minute while a slow field is pending.
    fn default() -> Self {
        SettleRule {
            polls: 3,
            window: Duration::from_secs(5),
            slow_window: Duration::from_secs(60),
            slow: Vec::new(),
            progress: Vec::new(),
        }
    }
}

impl SettleRule {
    /// The model's rule for a target (`sim`, `local`, `ssh`).
    pub fn for_target(model: &canary_model::Model, target: &str) -> SettleRule {
        let r = &model.readiness;
        let window = r
            .window
            .get(target)
            .or_else(|| r.window.get("default"))
            .copied()
            .unwrap_or(0.0);
        SettleRule {
            polls: r.settle_polls.max(2),
            window: Duration::from_secs_f64(window),
            slow_window: Duration::from_secs_f64(r.slow_window),
            slow: r.slow.clone(),
            progress: r.progress.clone(),
        }
    }
}

/// Why an observation cannot count as settled whatever its history: a container restarting,
/// or running but still in its healthcheck's start. An unhealthy container has settled (it is
/// judged); a stopped one too (p2pool is held until sync on purpose).
pub fn in_progress(obs: &Observation) -> Vec<String> {
    obs.containers
        .iter()
        .filter_map(|c| {
            if c.state == RunState::Restarting {
                Some(format!("{} is restarting", c.name))
            } else if c.state == RunState::Running && c.health.as_deref() == Some("starting") {
                Some(format!("{} is starting", c.name))
            } else {
                None
            }
        })
        .collect()
}

/// What keeps a box from counting as healthy, the rule of the safety net's waits and of
/// `--check`: status failing, a container restarting, or a running one unhealthy or still
/// starting. Stricter than [`in_progress`]: an unhealthy box has settled (and is judged) but is
/// not back where a restore must leave it.
pub fn not_healthy(obs: &Observation) -> Vec<String> {
    let mut why = Vec::new();
    if obs.status_exit != 0 {
        why.push(format!("pithead status exited {}", obs.status_exit));
    }
    for c in &obs.containers {
        if c.state == RunState::Restarting {
            why.push(format!("{} is restarting", c.name));
        } else if c.state == RunState::Running
            && matches!(c.health.as_deref(), Some("unhealthy") | Some("starting"))
        {
            why.push(format!(
                "{} is {}",
                c.name,
                c.health.as_deref().unwrap_or("")
            ));
        }
    }
    why
}

/// `--check`'s judgement of a box, model aside: [`not_healthy`], a container neither running
/// nor restarting, `/api/state` (fetched from `api_url`) not answering JSON, a secret
/// fingerprint that could not be computed.
pub fn not_sound(obs: &Observation, api_url: &str) -> Vec<String> {
    let mut problems = not_healthy(obs);
    for c in &obs.containers {
        if !matches!(c.state, RunState::Running | RunState::Restarting) {
            problems.push(format!("{} is {}", c.name, c.state));
        }
    }
    if obs.api.is_null() {
        problems.push(format!("{api_url} did not answer with JSON"));
    }
    if obs.secret_fingerprint.len() != 64 {
        problems.push("the secret fingerprint could not be computed on the box".into());
    }
    problems
}

/// Whether the box answers at all: `/api/state` is a JSON object. A failing `pithead status`
/// is an answer (judged by `status_exit`), not a reason to wait: a box with a container
/// missing for good says so every poll.
fn answers(obs: &Observation) -> bool {
    obs.api.is_object()
}

/// The judged part of an observation, as one value compared between polls.
fn signature(rule: &SettleRule, expected: &Expected, obs: &Observation) -> Value {
    let containers: Vec<Value> = obs
        .containers
        .iter()
        .map(|c| {
            Value::from(vec![
                Value::from(c.name.as_str()),
                Value::from(c.id.as_str()),
                Value::from(c.started.as_str()),
                Value::from(c.state.as_str()),
                c.health.as_deref().map_or(Value::Null, Value::from),
            ])
        })
        .collect();
    let env: Vec<Value> = expected
        .env
        .iter()
        .map(|e| {
            obs.env
                .get(&e.key)
                .map_or(Value::Null, |v| Value::from(v.as_str()))
        })
        .collect();
    let api: Vec<Value> = expected
        .api
        .iter()
        .map(|a| a.path.as_str())
        .chain(rule.progress.iter().map(String::as_str))
        .map(|p| lookup(&obs.api, p).cloned().unwrap_or(Value::Null))
        .collect();
    Value::from(vec![
        Value::from(obs.status_exit),
        Value::from(containers),
        Value::from(env),
        Value::from(api),
    ])
}

/// The state of one wait: fed each poll, it says when the wait may end.
#[derive(Debug)]
pub struct Settling<'a> {
    rule: &'a SettleRule,
    expected: &'a Expected,
    last: Option<Value>,
    /// Target clock at the first of the current run of equal polls.
    since: Duration,
    equal: u32,
    answered: bool,
}

impl<'a> Settling<'a> {
    pub fn new(rule: &'a SettleRule, expected: &'a Expected) -> Self {
        Settling {
            rule,
            expected,
            last: None,
            since: Duration::ZERO,
            equal: 0,
            answered: false,
        }
    }

    /// Feeds one observation taken at `now` (target clock). `quiet` is the target's own word
    /// when it knows whether anything is still pending (the sim), `None` for a real box.
    /// Returns how the wait ends now, or `None` to keep polling.
    pub fn poll(
        &mut self,
        obs: &Observation,
        now: Duration,
        quiet: Option<bool>,
    ) -> Option<WaitEnd> {
        if is_ready(self.expected, obs) {
            return Some(WaitEnd::Ready);
        }
        if let Some(quiet) = quiet {
            // An exact target: settled when nothing is due to change by itself.
            self.answered |= answers(obs);
            return quiet.then_some(WaitEnd::Settled);
        }
        if !answers(obs) {
            self.last = None;
            self.equal = 0;
            return None;
        }
        self.answered = true;
        let sig = signature(self.rule, self.expected, obs);
        if self.last.as_ref() == Some(&sig) {
            self.equal += 1;
        } else {
            self.last = Some(sig);
            self.since = now;
            self.equal = 1;
        }
        let window = if self.slow_pending(obs) {
            self.rule.slow_window
        } else {
            self.rule.window
        };
        let quiet = in_progress(obs).is_empty();
        (quiet && self.equal >= self.rule.polls.max(2) && now.saturating_sub(self.since) >= window)
            .then_some(WaitEnd::Settled)
    }

    /// How a wait that reached its timeout ended.
    pub fn timed_out(&self) -> WaitEnd {
        if self.answered {
            WaitEnd::Progressing
        } else {
            WaitEnd::NeverAnswered
        }
    }

    /// A slow field not yet at its value, on a box whose expected containers all run: a sync
    /// takes long only where its node is up (a missing container is judged at once).
    fn slow_pending(&self, obs: &Observation) -> bool {
        let all_up = self.expected.running.iter().all(|n| {
            obs.containers
                .iter()
                .any(|c| &c.name == n && c.state == RunState::Running)
        });
        all_up
            && self.expected.api.iter().any(|a| {
                self.rule.slow.contains(&a.path) && lookup(&obs.api, &a.path) != Some(&a.value)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiExpectation;
    use canary_core::target::ContainerState;
    use serde_json::json;

    fn expected() -> Expected {
        Expected {
            running: vec!["p2pool".into()],
            absent: vec![],
            profiles: vec![],
            known_profiles: vec![],
            env: vec![],
            api: vec![
                ApiExpectation {
                    check: "api.pool.type".into(),
                    path: "pool.type".into(),
                    value: json!("Main"),
                },
                ApiExpectation {
                    check: "api.sync.monero.state".into(),
                    path: "sync.monero.state".into(),
                    value: json!("done"),
                },
            ],
        }
    }

    fn obs(pool: &str, sync: &str, height: u64, health: Option<&str>) -> Observation {
        Observation {
            status_exit: 0,
            containers: vec![ContainerState {
                name: "p2pool".into(),
                id: "p1".into(),
                started: "s1".into(),
                state: "running".into(),
                health: health.map(str::to_string),
            }],
            env: Default::default(),
            api: json!({"pool": {"type": pool}, "sync": {"monero": {"state": sync, "current": height}}})
                .into(),
            secret_fingerprint: String::new(),
        }
    }

    fn rule() -> SettleRule {
        SettleRule {
            polls: 3,
            window: Duration::from_secs(2),
            slow_window: Duration::from_secs(30),
            slow: vec!["sync.monero.state".into()],
            progress: vec!["sync.monero".into()],
        }
    }

    fn feed(s: &mut Settling<'_>, seq: &[(u64, Observation)]) -> Option<(u64, WaitEnd)> {
        seq.iter()
            .find_map(|(t, o)| s.poll(o, Duration::from_secs(*t), None).map(|e| (*t, e)))
    }

    #[test]
    fn a_wrong_but_still_box_settles_after_its_window() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let seq: Vec<_> = (0..10).map(|t| (t, obs("Mini", "done", 5, None))).collect();
        assert_eq!(feed(&mut s, &seq), Some((2, WaitEnd::Settled)));
    }

    #[test]
    fn the_right_box_is_ready_at_once() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let seq = [(0, obs("Main", "done", 5, None))];
        assert_eq!(feed(&mut s, &seq), Some((0, WaitEnd::Ready)));
    }

    #[test]
    fn moving_sync_and_starting_health_keep_the_wait_going() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        // Sync moves every poll: never settled, whatever the window.
        let seq: Vec<_> = (0..20)
            .map(|t| (t, obs("Main", "syncing", t, None)))
            .collect();
        assert_eq!(feed(&mut s, &seq), None);
        assert_eq!(s.timed_out(), WaitEnd::Progressing);
        // Health `starting` holds the wait even when nothing else moves.
        let mut s = Settling::new(&r, &e);
        let seq: Vec<_> = (0..20)
            .map(|t| (t, obs("Mini", "done", 1, Some("starting"))))
            .collect();
        assert_eq!(feed(&mut s, &seq), None);
    }

    #[test]
    fn a_stalled_slow_field_gets_the_long_window() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let seq: Vec<_> = (0..40)
            .map(|t| (t, obs("Main", "syncing", 7, None)))
            .collect();
        assert_eq!(feed(&mut s, &seq), Some((30, WaitEnd::Settled)));
    }

    #[test]
    fn a_pending_sync_with_its_node_missing_gets_the_short_window() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let mut o = obs("Main", "loading", 0, None);
        o.containers.clear();
        let seq: Vec<_> = (0..40).map(|t| (t, o.clone())).collect();
        assert_eq!(feed(&mut s, &seq), Some((2, WaitEnd::Settled)));
    }

    #[test]
    fn a_box_that_never_answers_is_told_apart() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let mut o = obs("Mini", "done", 1, None);
        o.api = serde_json::Value::Null.into();
        let seq: Vec<_> = (0..10).map(|t| (t, o.clone())).collect();
        assert_eq!(feed(&mut s, &seq), None);
        assert_eq!(s.timed_out(), WaitEnd::NeverAnswered);
    }

    #[test]
    fn a_failing_status_that_stays_is_settled_not_waited_on() {
        // `pithead status` exits 1 for a container missing for good: an answer, judged.
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let mut o = obs("Main", "done", 1, None);
        o.status_exit = 1;
        let seq: Vec<_> = (0..10).map(|t| (t, o.clone())).collect();
        assert_eq!(feed(&mut s, &seq), Some((2, WaitEnd::Settled)));
    }

    #[test]
    fn an_exact_target_settles_when_nothing_is_pending() {
        let (r, e) = (rule(), expected());
        let mut s = Settling::new(&r, &e);
        let o = obs("Mini", "done", 1, None);
        assert_eq!(s.poll(&o, Duration::ZERO, Some(false)), None);
        assert_eq!(
            s.poll(&o, Duration::ZERO, Some(true)),
            Some(WaitEnd::Settled)
        );
    }
}
