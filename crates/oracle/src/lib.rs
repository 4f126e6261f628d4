//! The oracle: what the box must look like after a step, derived from the model alone.
//!
//! Expectations come from `strategies/` through [`Model::render`], [`Model::expected_api`] and
//! the step's [`Prediction`]; the oracle never asks a target how it works, so a simulator or a
//! fake that drifts from the model is caught instead of agreed with. Everything here is a pure
//! function of (model, supplied, step, observations), cheap enough for the fuzzer and the
//! shrinker to call in-process for every candidate.
//!
//! The checks, each a named [`Verdict`]:
//!
//! | check | passes when |
//! |---|---|
//! | `apply_exit` | `pithead apply -y` exited 0 (a refused apply is a verdict, not a crash) |
//! | `ready` | the box settled before its timeout ([`settle`]): right ([`is_ready`]) or wrong, judged by the other checks |
//! | `status_exit` | `pithead status` exited 0 |
//! | `containers.running` | every container the config needs is running (whole names) |
//! | `containers.absent` | no other container of the model is running |
//! | `env.<KEY>` | each posture key of .env equals the render (profiles by membership) |
//! | `api.<path>` | each expected `/api/state` field equals the model's value |
//! | `created`, `removed` | exactly the predicted containers appeared / went away |
//! | `recreated` | exactly the predicted containers got new ids |
//! | `restarted` | exactly the predicted containers kept their id with a new start marker |
//! | `idempotent` | a second apply printed [`NO_CHANGES`] and touched no container |
//! | `secret_fingerprint` | the secret fingerprint equals the baseline's |
//! | `drift` | (a failure kind) the box's CLI refused a planned value by validation, nothing changed |
//! | `cold.refused` | a cold change (a subnet move) was refused by the hot apply before `down` |
//!
//! An operation step has no `apply_exit`; its own checks are in [`operation`].

pub mod drift;
mod operation;
pub mod settle;

pub use operation::{FaultSeen, OpFacts, ReadmitSeen, fault_shows, judge_operation};
pub use settle::{SettleRule, Settling, WaitEnd};

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use canary_core::target::{CommandResult, ContainerState, Observation, RunState};
use canary_model::{Config, DerivedSource, Model, Prediction, Step, Supplied};

/// A named check's outcome with what was seen and what the model expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Stable check name (`containers`, `status_exit`, `api.pool.type`, `env.MONERO_PRUNE`,
    /// `recreated`, `idempotent`, `secret_fingerprint`, `ready`, ...).
    pub check: String,
    pub passed: bool,
    pub observed: serde_json::Value,
    pub expected: serde_json::Value,
    /// One line for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// What Pithead prints on an apply that changes nothing; the idempotency oracle greps for it.
pub const NO_CHANGES: &str = "No configuration changes detected";

/// One posture key of .env and the value the model renders for it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvExpectation {
    /// Check name, `env.<KEY>`.
    pub check: String,
    /// The .env key.
    pub key: String,
    /// The rendered value.
    pub value: String,
    /// Compare as a comma-separated set of the model's profiles (COMPOSE_PROFILES), never as
    /// a string: order and profiles the model does not know about do not matter (#1301).
    pub membership: bool,
}

/// One expected `/api/state` field.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiExpectation {
    /// Check name, `api.<path>`.
    pub check: String,
    /// Dotted JSON path (`pool.type`).
    pub path: String,
    pub value: Value,
}

/// What the model expects of the box in one effective config, whatever the apply that led
/// there. Computed once per config (see [`ExpectedCache`]) so readiness polling, judging and
/// the fuzzer's millions of steps do not re-render.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// Containers that must run, in the model's declaration order.
    pub running: Vec<String>,
    /// The model's other containers: they must not run.
    pub absent: Vec<String>,
    /// The active profiles.
    pub profiles: Vec<String>,
    /// Every profile the model declares (to judge membership in COMPOSE_PROFILES).
    pub known_profiles: Vec<String>,
    /// Posture keys of .env.
    pub env: Vec<EnvExpectation>,
    /// `/api/state` fields.
    pub api: Vec<ApiExpectation>,
}

impl Expected {
    /// The expectations of an effective config.
    pub fn new(model: &Model, supplied: &Supplied, effective: &Config) -> Expected {
        let rendered = model.render(effective, supplied);
        let absent = model
            .services
            .iter()
            .filter(|s| !rendered.services.contains(&s.name))
            // A service of a profile the model does not drive is not judged.
            .filter(|s| s.profile.as_ref().is_none_or(|p| model.tracks_profile(p)))
            .map(|s| s.name.clone())
            .collect();
        let env = model
            .posture_env
            .iter()
            .filter_map(|key| {
                let value = rendered.env.get(key)?;
                let membership = model.env.iter().any(|d| {
                    &d.key == key
                        && d.cases
                            .iter()
                            .any(|c| matches!(c.source, DerivedSource::Profiles))
                });
                Some(EnvExpectation {
                    check: format!("env.{key}"),
                    key: key.clone(),
                    value: value.clone(),
                    membership,
                })
            })
            .collect();
        let api = model
            .expected_api(effective, supplied)
            .into_iter()
            .map(|(path, value)| ApiExpectation {
                check: format!("api.{path}"),
                path,
                value,
            })
            .collect();
        Expected {
            running: rendered.services,
            absent,
            profiles: rendered.profiles,
            known_profiles: model
                .profiles
                .iter()
                .filter(|p| p.when.is_some())
                .map(|p| p.name.clone())
                .collect(),
            env,
            api,
        }
    }
}

/// Expectations by effective config, computed on first use. One cache serves one model and
/// one set of supplied prerequisites; a walk revisits few distinct configs, so it stays small.
#[derive(Debug, Default)]
pub struct ExpectedCache {
    by_config: HashMap<Config, Arc<Expected>>,
}

impl ExpectedCache {
    /// An empty cache.
    pub fn new() -> ExpectedCache {
        ExpectedCache::default()
    }

    /// The expectations of an effective config.
    pub fn get(&mut self, model: &Model, supplied: &Supplied, effective: &Config) -> Arc<Expected> {
        if let Some(e) = self.by_config.get(effective) {
            return Arc::clone(e);
        }
        let e = Arc::new(Expected::new(model, supplied, effective));
        self.by_config.insert(effective.clone(), Arc::clone(&e));
        e
    }

    /// Number of configs cached.
    pub fn len(&self) -> usize {
        self.by_config.len()
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.by_config.is_empty()
    }
}

/// How readiness polling ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readiness {
    /// The box settled (right or wrong) before the timeout.
    pub reached: bool,
    /// Why the wait ended.
    pub ended: WaitEnd,
    /// Target-clock seconds from the end of the apply to ready (or to giving up).
    pub seconds: f64,
    /// The timeout it was polled against.
    pub timeout: f64,
    /// False when polling was skipped (the apply failed).
    pub polled: bool,
}

/// What the runner saw during one step: the inputs of [`judge`].
#[derive(Debug, Clone, Copy)]
pub struct StepFacts<'a> {
    /// The apply's result.
    pub apply: &'a CommandResult,
    pub ready: Readiness,
    /// The box before the apply (the previous step's last observation, or the baseline).
    pub before: &'a Observation,
    /// The box once ready (or at the timeout).
    pub after: &'a Observation,
    /// The second apply, when one ran.
    pub second_apply: Option<&'a CommandResult>,
    /// The box after the second apply.
    pub after_second: Option<&'a Observation>,
    /// The secret fingerprint of the baseline snapshot.
    pub baseline_fingerprint: &'a str,
    /// For an operation step, what the operation did (its own verdicts replace `apply_exit`).
    pub operation: Option<&'a OpFacts<'a>>,
    /// For a cold change, the hot apply that had to refuse it before `pithead down`.
    pub cold_refusal: Option<&'a CommandResult>,
}

/// Collects verdicts. Passing verdicts are only counted unless `keep_passed`, so the fuzzer's
/// fast path builds no JSON for checks that pass.
#[derive(Debug, Clone, Default)]
pub struct Verdicts {
    keep_passed: bool,
    /// Verdicts kept: every one with `keep_passed`, else the failures.
    pub list: Vec<Verdict>,
    pub passed: usize,
    pub failed: usize,
}

impl Verdicts {
    /// A collector; `keep_passed` keeps passing verdicts too (for the journal).
    pub fn new(keep_passed: bool) -> Verdicts {
        Verdicts {
            keep_passed,
            ..Verdicts::default()
        }
    }

    /// Empties the collector for the next step, keeping its allocation.
    pub fn clear(&mut self) {
        self.list.clear();
        self.passed = 0;
        self.failed = 0;
    }

    /// The failed verdicts kept.
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.list.iter().filter(|v| !v.passed)
    }

    /// [`Verdicts::record`] when `applies`, else nothing.
    pub fn record_if(
        &mut self,
        applies: bool,
        check: &str,
        passed: bool,
        observed: impl FnOnce() -> Value,
        expected: impl FnOnce() -> Value,
        message: impl FnOnce() -> String,
    ) {
        if applies {
            self.record(check, passed, observed, expected, message);
        }
    }

    /// Records one check; the values and message are built only when the verdict is kept.
    pub fn record(
        &mut self,
        check: &str,
        passed: bool,
        observed: impl FnOnce() -> Value,
        expected: impl FnOnce() -> Value,
        message: impl FnOnce() -> String,
    ) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        if passed && !self.keep_passed {
            return;
        }
        self.list.push(Verdict {
            check: check.to_string(),
            passed,
            observed: observed(),
            expected: expected(),
            message: if passed { String::new() } else { message() },
        });
    }
}

/// Looks up a dotted path (`pool.type`) in a JSON document.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    // A scan of each object, not a hash: `/api/state`'s objects are small, and this runs for
    // every expected field of every poll.
    // Keys split by a byte loop: these paths are a few bytes long, too short for `split`'s
    // memchr to pay for its setup.
    let mut v = doc;
    let mut rest = path.as_bytes();
    loop {
        let end = rest.iter().position(|&b| b == b'.').unwrap_or(rest.len());
        let key = &rest[..end];
        v = v
            .as_object()?
            .iter()
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, v)| v)?;
        if end == rest.len() {
            return Some(v);
        }
        rest = &rest[end + 1..];
    }
}

fn container<'a>(obs: &'a Observation, name: &str) -> Option<&'a ContainerState> {
    // Whole names only: `tari` must never match `tari-wallet` (#1478).
    obs.containers.iter().find(|c| c.name == name)
}

fn is_running(obs: &Observation, name: &str) -> bool {
    container(obs, name).is_some_and(|c| c.state == RunState::Running)
}

fn profile_set<'a>(value: &'a str, known: &[String]) -> BTreeSet<&'a str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && known.iter().any(|k| k == p))
        .collect()
}

fn env_matches(e: &EnvExpectation, observed: Option<&String>, known: &[String]) -> bool {
    match observed {
        None => false,
        // The same text is the same set; only a differing one is compared as sets.
        Some(v) if e.membership => {
            *v == e.value || profile_set(v, known) == profile_set(&e.value, known)
        }
        Some(v) => *v == e.value,
    }
}

/// The readiness predicate: status exits 0, every expected container runs and every expected
/// `/api/state` field is present and equal.
pub fn is_ready(expected: &Expected, obs: &Observation) -> bool {
    obs.status_exit == 0
        && expected.running.iter().all(|s| is_running(obs, s))
        && expected
            .api
            .iter()
            .all(|a| lookup(&obs.api, &a.path) == Some(&a.value))
}

/// What keeps a box from being ready, for the journal and for people (`status_exit=1`,
/// `container monerod`, `api.pool.type`).
pub fn waiting_on(expected: &Expected, obs: &Observation) -> Vec<String> {
    let mut out = Vec::new();
    if obs.status_exit != 0 {
        out.push(format!("status_exit={}", obs.status_exit));
    }
    for s in &expected.running {
        if !is_running(obs, s) {
            out.push(format!("container {s}"));
        }
    }
    for a in &expected.api {
        if lookup(&obs.api, &a.path) != Some(&a.value) {
            out.push(a.check.clone());
        }
    }
    out
}

/// Which containers an apply touched, from two observations: ids tell recreates, start
/// markers with the same id tell restarts (pithead-model.md §8: a profile change restarts
/// monerod in place, which an id comparison alone misses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched<N = String> {
    pub created: Vec<N>,
    pub removed: Vec<N>,
    pub recreated: Vec<N>,
    pub restarted: Vec<N>,
}

/// [`Touched`] with the names borrowed from the observations: what [`judge`] compares for
/// every step, without copying a name.
type TouchedNames<'a> = Touched<&'a str>;

impl Touched {
    /// Compares the container sets of two observations.
    pub fn between(before: &Observation, after: &Observation) -> Touched {
        let t = names_between(before, after);
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect();
        Touched {
            created: owned(t.created),
            removed: owned(t.removed),
            recreated: owned(t.recreated),
            restarted: owned(t.restarted),
        }
    }
}

impl<N: Ord + Clone> Touched<N> {
    /// Whether nothing was touched.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
            && self.removed.is_empty()
            && self.recreated.is_empty()
            && self.restarted.is_empty()
    }

    /// Every touched container, sorted, each once.
    pub(crate) fn all(&self) -> Vec<N> {
        let mut v: Vec<N> = self
            .created
            .iter()
            .chain(&self.removed)
            .chain(&self.recreated)
            .chain(&self.restarted)
            .cloned()
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// The containers created, removed, recreated and restarted between two observations, each
/// list sorted.
fn names_between<'a>(before: &'a Observation, after: &'a Observation) -> TouchedNames<'a> {
    let mut t = TouchedNames::default();
    for a in &after.containers {
        match container(before, &a.name) {
            None => t.created.push(&a.name),
            Some(b) if b.id != a.id => t.recreated.push(&a.name),
            Some(b) if b.started != a.started => t.restarted.push(&a.name),
            Some(_) => {}
        }
    }
    for b in &before.containers {
        if container(after, &b.name).is_none() {
            t.removed.push(&b.name);
        }
    }
    for v in [
        &mut t.created,
        &mut t.removed,
        &mut t.recreated,
        &mut t.restarted,
    ] {
        v.sort_unstable();
    }
    t
}

/// `v` sorted, borrowed when it already is (predictions are, so this copies nothing).
fn sorted(v: &[String]) -> std::borrow::Cow<'_, [String]> {
    if v.is_sorted() {
        std::borrow::Cow::Borrowed(v)
    } else {
        let mut v = v.to_vec();
        v.sort();
        std::borrow::Cow::Owned(v)
    }
}

fn diff_message(what: &str, observed: &[&str], expected: &[String]) -> String {
    let extra: Vec<&str> = observed
        .iter()
        .filter(|o| !expected.iter().any(|e| e == *o))
        .copied()
        .collect();
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| !observed.contains(&e.as_str()))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if !extra.is_empty() {
        parts.push(format!("{what} but not predicted: {}", extra.join(", ")));
    }
    if !missing.is_empty() {
        parts.push(format!("predicted but not {what}: {}", missing.join(", ")));
    }
    parts.join("; ")
}

/// The checks of the box's state alone, whatever step led there: `status_exit`, the
/// containers that must (not) run, the posture keys of .env, the expected `/api/state` fields.
/// Part of [`judge`]; on its own it is `canary run --check`.
pub fn judge_state(expected: &Expected, obs: &Observation, out: &mut Verdicts) {
    out.record(
        "status_exit",
        obs.status_exit == 0,
        || json!(obs.status_exit),
        || json!(0),
        || format!("pithead status exited {}", obs.status_exit),
    );

    let not_running: Vec<&String> = expected
        .running
        .iter()
        .filter(|s| !is_running(obs, s))
        .collect();
    out.record(
        "containers.running",
        not_running.is_empty(),
        || json!(running_names(obs)),
        || json!(expected.running),
        || {
            let states: Vec<String> = not_running
                .iter()
                .map(|s| match container(obs, s) {
                    Some(c) => format!("{s} ({})", c.state),
                    None => format!("{s} (missing)"),
                })
                .collect();
            format!("expected running but not: {}", states.join(", "))
        },
    );
    let stray: Vec<&String> = expected
        .absent
        .iter()
        .filter(|s| is_running(obs, s))
        .collect();
    out.record(
        "containers.absent",
        stray.is_empty(),
        || json!(stray),
        || json!([]),
        || {
            format!(
                "running although the config does not need them: {}",
                stray
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );

    for e in &expected.env {
        let observed = obs.env.get(&e.key);
        out.record(
            &e.check,
            env_matches(e, observed, &expected.known_profiles),
            || observed.map_or(Value::Null, |v| json!(v)),
            || json!(e.value),
            || match observed {
                None => format!("{} is missing from .env", e.key),
                Some(v) if e.membership => format!(
                    "{} holds profiles {{{}}}, the config needs {{{}}}",
                    e.key,
                    profile_set(v, &expected.known_profiles)
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(","),
                    e.value
                ),
                Some(v) => format!("{}={v} in .env, the config renders {}", e.key, e.value),
            },
        );
    }

    for a in &expected.api {
        let observed = lookup(&obs.api, &a.path);
        out.record(
            &a.check,
            observed == Some(&a.value),
            || observed.cloned().unwrap_or(Value::Null),
            || a.value.clone(),
            || match observed {
                None if obs.api.is_null() => "/api/state did not answer".to_string(),
                None => format!("/api/state has no {}", a.path),
                Some(v) => format!("/api/state {} is {v}, expected {}", a.path, a.value),
            },
        );
    }
}

/// Judges one step: appends a verdict per check to `out`.
pub fn judge(
    expected: &Expected,
    prediction: &Prediction,
    facts: &StepFacts<'_>,
    out: &mut Verdicts,
) {
    let obs = facts.after;
    let apply = facts.apply;
    // The box's CLI refused a planned value by validation, nothing changed: drift, judged
    // alone (its containers and .env are where they were, not where the model went).
    if facts.operation.is_none()
        && let Some(message) = drift::refusal(apply, facts.before, obs)
    {
        drift::record(&message, out);
        return;
    }
    if let Some(op) = facts.operation {
        judge_operation(op, out);
    }
    if let Some(hot) = facts.cold_refusal {
        out.record(
            "cold.refused",
            hot.exit_code != 0,
            || json!(hot.exit_code),
            || json!("non-zero"),
            || "a change the model says cannot be hot-applied was applied hot (exit 0)".to_string(),
        );
    }
    out.record_if(
        facts.operation.is_none(),
        "apply_exit",
        apply.exit_code == 0,
        || json!(apply.exit_code),
        || json!(0),
        || {
            format!(
                "pithead apply -y exited {}: {}",
                apply.exit_code,
                first_line(&apply.output)
            )
        },
    );
    let ready = facts.ready;
    out.record(
        "ready",
        ready.reached,
        || json!({ "reached": ready.reached, "ended": ready.ended.as_str(), "seconds": ready.seconds, "waiting_on": waiting_on(expected, obs) }),
        || json!({ "reached": true, "timeout": ready.timeout }),
        || {
            if ready.polled {
                format!(
                    "not settled after {:.0}s (timeout {:.0}s, {}); waiting on {}",
                    ready.seconds,
                    ready.timeout,
                    ready.ended.as_str(),
                    waiting_on(expected, obs).join(", ")
                )
            } else {
                "readiness not polled: the apply failed".to_string()
            }
        },
    );
    judge_state(expected, obs, out);

    let touched = names_between(facts.before, obs);
    let p = prediction;
    for (check, seen, predicted, verb) in [
        ("created", &touched.created, &p.created, "created"),
        ("removed", &touched.removed, &p.removed, "removed"),
        ("recreated", &touched.recreated, &p.recreated, "recreated"),
        ("restarted", &touched.restarted, &p.restarted, "restarted"),
    ] {
        let predicted = sorted(predicted);
        // A restart the model says may or may not happen (a failover within its window)
        // neither passes nor fails the check.
        let tolerated: Vec<&str>;
        let seen = if check == "restarted" && !p.may_restart.is_empty() {
            tolerated = seen
                .iter()
                .filter(|s| {
                    predicted.iter().any(|x| x == **s) || !p.may_restart.iter().any(|m| m == **s)
                })
                .copied()
                .collect();
            &tolerated
        } else {
            seen
        };
        out.record(
            check,
            predicted == *seen,
            || json!(seen),
            || json!(predicted),
            || diff_message(verb, seen, &predicted),
        );
    }

    // A failed apply leaves a marker so the next apply retries (#125): the second apply is
    // then expected to act, so idempotency is only judged after a successful apply.
    if let (Some(second), Some(after_second)) = (facts.second_apply, facts.after_second)
        && apply.exit_code == 0
    {
        let changed = names_between(obs, after_second);
        // The sim's output starts with the line: `contains` alone sets up a two-way search.
        let said_no_changes =
            second.output.starts_with(NO_CHANGES) || second.output.contains(NO_CHANGES);
        out.record(
            "idempotent",
            second.exit_code == 0 && said_no_changes && changed.is_empty(),
            || {
                json!({
                    "exit_code": second.exit_code,
                    "no_changes_message": said_no_changes,
                    "touched": changed.all(),
                })
            },
            || json!({ "exit_code": 0, "no_changes_message": true, "touched": [] }),
            || {
                let mut why = Vec::new();
                if second.exit_code != 0 {
                    why.push(format!("exited {}", second.exit_code));
                }
                if !said_no_changes {
                    why.push(format!(
                        "did not print \"{NO_CHANGES}\" (printed: {})",
                        first_line(&second.output)
                    ));
                }
                if !changed.is_empty() {
                    why.push(format!("touched {}", changed.all().join(", ")));
                }
                format!("the second apply was not a no-op: {}", why.join("; "))
            },
        );
    }

    let last = facts.after_second.unwrap_or(obs);
    out.record(
        "secret_fingerprint",
        last.secret_fingerprint == facts.baseline_fingerprint,
        || json!(last.secret_fingerprint),
        || json!(facts.baseline_fingerprint),
        || "the secret fingerprint changed since the baseline snapshot".to_string(),
    );
}

/// The verdicts of one step, every one kept: the convenience form of [`Expected::new`] then
/// [`judge`].
pub fn check_step(
    model: &Model,
    supplied: &Supplied,
    step: &Step,
    facts: &StepFacts<'_>,
) -> Vec<Verdict> {
    let mut out = Verdicts::new(true);
    let expected = Expected::new(model, supplied, &step.effective);
    judge(&expected, &step.prediction, facts, &mut out);
    out.list
}

fn running_names(obs: &Observation) -> Vec<&str> {
    let mut v: Vec<&str> = obs
        .containers
        .iter()
        .filter(|c| c.state == RunState::Running)
        .map(|c| c.name.as_str())
        .collect();
    v.sort();
    v
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// A command's output in one line: its first line and, when there are more, its last one
/// (Compose prints progress first and the reason last).
fn gist(s: &str) -> String {
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    match lines.next_back() {
        Some(last) => format!("{first} … {last}"),
        None => first.to_string(),
    }
}

#[cfg(test)]
mod tests;
