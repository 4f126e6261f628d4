//! Targets: where a step runs. Every target is "a box with a config.json and a `pithead` CLI":
//! the runner writes config.json, applies it, and observes the box; the oracle judges the
//! observations. The in-process simulation (`canary-sim`) is one implementation; the box
//! targets (a local shell, SSH, the docker mini-stack, in the tool) are more of the same trait,
//! not another runner.
//!
//! A target knows nothing of the model in `strategies/`: it takes config.json as JSON, like the
//! real CLI does, so the oracle can disagree with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The box actions of operations, which every target performs ([`Target::act`]).
pub use pithead_contract::action::Action;

/// The result of one CLI command on the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandResult {
    /// The process exit code (Pithead: 0 ok, 1 error, 75 lock timeout).
    pub exit_code: i32,
    /// stdout and stderr, secrets already redacted.
    pub output: String,
}

/// One container as `docker compose ps` / `docker inspect` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    /// Service name (`monerod`, `tari`, ...).
    pub name: String,
    /// Container id: changes when the container is recreated.
    pub id: String,
    /// Start marker (StartedAt): changes when the container is restarted or recreated.
    pub started: String,
    /// `running`, `exited`, `created`, `restarting`, ...
    pub state: RunState,
    /// `healthy`, `unhealthy`, `starting`, or `None` without a healthcheck.
    pub health: Option<String>,
}

/// A container's run state, as Docker names it (`State.Status`) and `compose ps` prints it.
/// Serialised as that name, so journals and artifacts read as before; a name canary does not
/// know is kept as it was given ([`RunState::Other`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Other(String),
}

impl RunState {
    /// The name as Docker prints it.
    pub fn as_str(&self) -> &str {
        match self {
            RunState::Created => "created",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Restarting => "restarting",
            RunState::Removing => "removing",
            RunState::Exited => "exited",
            RunState::Dead => "dead",
            RunState::Other(s) => s,
        }
    }
}

impl From<&str> for RunState {
    fn from(s: &str) -> Self {
        match s {
            "created" => RunState::Created,
            "running" => RunState::Running,
            "paused" => RunState::Paused,
            "restarting" => RunState::Restarting,
            "removing" => RunState::Removing,
            "exited" => RunState::Exited,
            "dead" => RunState::Dead,
            other => RunState::Other(other.to_string()),
        }
    }
}

impl From<String> for RunState {
    fn from(s: String) -> Self {
        match RunState::from(s.as_str()) {
            RunState::Other(_) => RunState::Other(s),
            known => known,
        }
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RunState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RunState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(RunState::from)
    }
}

/// Everything the oracle reads from the box after a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Exit code of `pithead status`.
    pub status_exit: i32,
    /// Containers that exist, running or not.
    pub containers: Vec<ContainerState>,
    /// The box's .env with secret lines removed. Shared, so a target that keeps it (the sim)
    /// hands out a pointer, not a copy; serialised as the plain map.
    pub env: Arc<BTreeMap<String, String>>,
    /// `GET http://127.0.0.1:8000/api/state`, or `null` when it did not answer. Shared like
    /// `env`; serialised as the plain JSON.
    pub api: Arc<serde_json::Value>,
    /// sha256 of the sorted secret lines of .env, computed on the box.
    pub secret_fingerprint: String,
}

/// The error a target reports when it cannot do what was asked (as opposed to a box that
/// does it wrongly, which is a failed verdict).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the connection to the box failed: {0}")]
    Connection(String),
    #[error("the box is not usable as a target: {0}")]
    Unusable(String),
    #[error("{0}")]
    Other(String),
    /// A command on the box did not return within its deadline (`check` is the verdict it
    /// becomes: `deadline.apply`, `deadline.observe`, `deadline.action`).
    #[error("`{command}` did not return within {after:?} ({check}); it was abandoned")]
    Timeout {
        check: &'static str,
        command: String,
        after: Duration,
    },
}

/// A box canary can drive.
#[allow(async_fn_in_trait)]
pub trait Target {
    /// Short name for journals and reports (`sim`, `local`, `ssh`).
    fn name(&self) -> &str;

    /// What is under test, for the run's manifest (version, directory, host).
    fn describe(&self) -> BTreeMap<String, String>;

    /// Reads the box's current config.json.
    async fn read_config(&mut self) -> Result<serde_json::Value, TargetError>;

    /// Replaces config.json atomically.
    async fn write_config(&mut self, config: &serde_json::Value) -> Result<(), TargetError>;

    /// [`Target::write_config`] with a document the caller shares: an in-process target can
    /// keep the `Arc` instead of copying the JSON. The runner calls this one.
    async fn write_config_shared(
        &mut self,
        config: &Arc<serde_json::Value>,
    ) -> Result<(), TargetError> {
        self.write_config(config).await
    }

    /// Runs `pithead apply -y`.
    async fn apply(&mut self) -> Result<CommandResult, TargetError>;

    /// Reads the box: status, containers, .env, /api/state, fingerprint.
    async fn observe(&mut self) -> Result<Observation, TargetError>;

    /// Lets time pass before the next poll. The simulation advances its virtual clock; real
    /// boxes sleep.
    async fn wait(&mut self, duration: Duration);

    /// Time since the target was opened, on the target's clock.
    fn elapsed(&self) -> Duration;

    /// Takes back an observation the caller is done with. A target that builds observations
    /// in memory (the sim) refills its buffers for the next one instead of allocating anew;
    /// the default just drops it.
    fn recycle(&mut self, observation: Observation) {
        drop(observation);
    }

    /// How long until what [`Target::observe`] reports can next change by itself (a health
    /// flip, a sync phase), when the target knows; `None` when it does not (real boxes) or
    /// nothing is pending. The runner then waits exactly that long instead of backing off
    /// blindly, which also makes time-to-ready exact on a virtual clock.
    fn next_change(&self) -> Option<Duration> {
        None
    }

    /// Whether nothing [`Target::observe`] reports is still due to change by itself, when the
    /// target knows (the sim); `None` for a real box, which is then judged settled by
    /// watching it (the oracle's settle rule).
    fn quiet(&self) -> Option<bool> {
        None
    }

    /// Performs one box action of an operation (a restart, a service stopped, a backup).
    /// Targets that cannot perform it say so; the walk then stops with a target error, since
    /// skipping an operation silently would report coverage that did not happen.
    async fn act(&mut self, action: &Action) -> Result<CommandResult, TargetError> {
        Err(TargetError::Unusable(format!(
            "the {} target cannot perform `{}`",
            self.name(),
            action.command()
        )))
    }
}

/// Observes until `holds` or `timeout` passes on the target's clock, looking exactly when the
/// target says its observation next changes, else backing off by doubling from
/// `first_poll` to `max_poll`. `holds` also gets the target's clock at the
/// observation and whether the target knows itself quiet ([`Target::quiet`]). Returns the
/// last observation, whether it held, the time waited and the polls. The one polling loop of
/// canary: readiness, an operation's fault phase, the safety net's wait all go through it.
pub async fn poll_until<T: Target>(
    target: &mut T,
    timeout: Duration,
    first_poll: Duration,
    max_poll: Duration,
    mut holds: impl FnMut(&Observation, Duration, Option<bool>) -> bool,
) -> Result<(Observation, bool, Duration, u32), TargetError> {
    let start = target.elapsed();
    let mut interval = first_poll.max(Duration::from_millis(1));
    let max_poll = max_poll.max(first_poll);
    // Counted separately from the clock so a target whose clock does not move cannot make
    // the loop spin for ever.
    let mut requested = Duration::ZERO;
    let mut polls = 0u32;
    loop {
        let obs = target.observe().await?;
        polls += 1;
        let now = target.elapsed();
        let waited = now.saturating_sub(start).max(requested);
        if holds(&obs, now, target.quiet()) {
            return Ok((obs, true, waited, polls));
        }
        if waited >= timeout {
            return Ok((obs, false, waited, polls));
        }
        let pause = match target.next_change() {
            Some(next) => next.max(Duration::from_millis(1)),
            None => {
                let pause = interval;
                interval = (interval * 2).min(max_poll);
                pause
            }
        }
        .min(timeout - waited);
        target.recycle(obs);
        target.wait(pause).await;
        requested += pause;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_states_read_and_write_dockers_names_and_keep_unknown_ones() {
        for name in [
            "created",
            "running",
            "paused",
            "restarting",
            "removing",
            "exited",
            "dead",
        ] {
            let s = RunState::from(name);
            assert!(!matches!(s, RunState::Other(_)), "{name}");
            assert_eq!(s.as_str(), name);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
        }
        // A name canary does not know (or a casing it does not) is written back as it came.
        let odd: RunState = serde_json::from_str("\"Up 3 minutes\"").unwrap();
        assert_eq!(odd, RunState::Other("Up 3 minutes".into()));
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"Up 3 minutes\"");
        assert_eq!(RunState::from(String::from("exited")), RunState::Exited);
        assert_eq!(RunState::Running.to_string(), "running");
    }
}
