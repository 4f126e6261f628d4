//! Where a walk runs and how the box is reached: the target flags `run` and `replay` share
//! (the stack directory, the host, the CLI's command, the deadlines, the safety net's
//! restore), and the box options they make.

use std::path::PathBuf;

use crate::exec::{KnownHostsPolicy, SshOptions};
use crate::model::Model;
use crate::oracle;
use crate::run::{ReadinessPolicy, RunOptions};
use crate::safety::RestoreOptions;
use crate::target::box_target::{BoxKind, BoxTargetOptions, ContainerList};

/// Where the walk runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetKind {
    /// The in-process simulated Pithead: deterministic, on a virtual clock.
    Sim,
    /// A stack directory on this machine (`--dir`).
    Local,
    /// A stack directory on a host reached over SSH (`--host`, `--dir`).
    Ssh,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Sim => "sim",
            TargetKind::Local => "local",
            TargetKind::Ssh => "ssh",
        }
    }
}

/// Host key checking of `--target ssh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KnownHosts {
    Strict,
    Add,
    Accept,
}

/// Default deadlines, as `--help` shows them.
const READY_DEFAULT: &str = "10m";
const APPLY_DEFAULT: &str = "15m";
const OBSERVE_DEFAULT: &str = "60s";
const ACTION_DEFAULT: &str = "15m";
const RESTORE_DEFAULT: &str = "15m";

/// The target flags.
#[derive(Debug, clap::Args)]
pub struct BoxArgs {
    /// Where to run the walk.
    #[arg(long, value_enum, default_value = "sim")]
    pub target: TargetKind,

    /// How long a step may wait for the box to settle after its apply while it is still
    /// changing (target clock); a box that has settled is judged at once, right or wrong.
    #[arg(long, default_value = READY_DEFAULT, value_name = "DURATION")]
    pub ready_timeout: humantime::Duration,

    /// Deadline of each `pithead apply -y` on a box: past it the step fails with
    /// `deadline.apply`, the walk stops and the box is restored.
    #[arg(long, default_value = APPLY_DEFAULT, value_name = "DURATION")]
    pub apply_timeout: humantime::Duration,

    /// Deadline of one observation of a box (pithead status, the container list, /api/state,
    /// the fingerprint, in one round trip) and of canary's reads and writes of config.json:
    /// `deadline.observe`.
    #[arg(long, default_value = OBSERVE_DEFAULT, value_name = "DURATION")]
    pub observe_timeout: humantime::Duration,

    /// Deadline of each operation action on a box (restart, down, up, backup, restore, a
    /// compose verb, the proxy token script): `deadline.action`.
    #[arg(long, default_value = ACTION_DEFAULT, value_name = "DURATION")]
    pub action_timeout: humantime::Duration,

    /// Deadline of the safety net's restore (config.json back, apply, wait until healthy,
    /// verify); past it canary says what is left undone and how to finish it by hand.
    #[arg(long, default_value = RESTORE_DEFAULT, value_name = "DURATION")]
    pub restore_timeout: humantime::Duration,

    /// The stack directory on the box (holding pithead, config.json and .env).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,

    /// The box for `--target ssh`: user@host (an ssh_config alias works too).
    #[arg(long, value_name = "USER@HOST")]
    pub host: Option<String>,

    /// How the CLI is invoked on the box, e.g. "sudo ./pithead".
    #[arg(long, default_value = "./pithead", value_name = "COMMAND")]
    pub pithead: String,

    /// The dashboard's state endpoint, fetched on the box.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8000/api/state",
        value_name = "URL"
    )]
    pub api_url: String,

    /// An ssh config file to use for `--target ssh` instead of ~/.ssh/config (`ssh -F`).
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// Host key checking for `--target ssh`: strict (the box must be in known_hosts), add
    /// (remember new keys, refuse changed ones), accept (throwaway test boxes only).
    #[arg(long, value_enum, default_value = "strict", value_name = "POLICY")]
    pub known_hosts: KnownHosts,

    /// How compose verbs of operations are invoked on the box, run in --dir (e.g.
    /// "sudo docker compose"; "./pithead compose" on a fake box or mini-stack). Default:
    /// docker compose (docker-compose where only v1 is installed) when the box's containers
    /// are Docker's, else the pithead CLI's own compose verb.
    #[arg(long, value_name = "COMMAND")]
    pub compose: Option<String>,

    /// How the box's containers are listed: docker (`docker compose ps` and `docker
    /// inspect`) or pithead (the CLI's own `ps`, as a fake box has). Default: docker when the
    /// stack directory holds a compose file and docker is installed, else pithead.
    #[arg(long, value_name = "HOW", value_parser = ["docker", "pithead"])]
    pub containers: Option<String>,

    /// Scales the model's operation windows (how soon a fault must show, how long a node
    /// must stay healthy before workers are readmitted) for a box whose dashboard runs faster
    /// timers than Pithead's: 1/30 asks 4 s of health before readmission instead of 120 s,
    /// for a fake box with NODE_RECOVERY_AFTER_SEC=5 (keep the box's timers a little above
    /// the scaled windows). Box targets only; recorded in the journal.
    #[arg(long, value_name = "FACTOR", value_parser = parse_factor)]
    pub op_timescale: Option<f64>,

    /// Leave the box as the walk left it (no restore at the end or on Ctrl-C).
    #[arg(long)]
    pub keep: bool,
}

impl BoxArgs {
    /// The box options of `--target local|ssh`; `None` for the sim.
    /// The step loop's options for this target: readiness with `--ready-timeout` and the
    /// model's settle rule for the target, polled every second or two on a box.
    pub fn run_options(&self, model: &Model) -> RunOptions {
        let mut options = RunOptions {
            readiness: ReadinessPolicy {
                timeout: *self.ready_timeout,
                ..ReadinessPolicy::default()
            },
            settle: oracle::SettleRule::for_target(model, self.target.as_str()),
            ..RunOptions::default()
        };
        if self.target != TargetKind::Sim {
            // A real box: poll every second or two, not on the simulator's backoff.
            options.readiness.max_poll = std::time::Duration::from_secs(2);
            options.readiness.first_poll = std::time::Duration::from_millis(250);
        }
        options
    }

    /// The flags that reach this target again, for a replay line: `(flag, value)`, only
    /// those that differ from their defaults (the target always).
    pub fn replay_flags(&self) -> Vec<(&'static str, Option<String>)> {
        let mut flags = Vec::new();
        flags.push(("--target", Some(self.target.as_str().to_string())));
        if let Some(h) = &self.host {
            flags.push(("--host", Some(h.clone())));
        }
        if let Some(d) = &self.dir {
            flags.push(("--dir", Some(d.clone())));
        }
        if let Some(f) = &self.ssh_config {
            flags.push(("--ssh-config", Some(f.display().to_string())));
        }
        if self.known_hosts != KnownHosts::Strict {
            flags.push((
                "--known-hosts",
                Some(format!("{:?}", self.known_hosts).to_lowercase()),
            ));
        }
        if self.target != TargetKind::Sim {
            if self.pithead != "./pithead" {
                flags.push(("--pithead", Some(self.pithead.clone())));
            }
            if self.api_url != "http://127.0.0.1:8000/api/state" {
                flags.push(("--api-url", Some(self.api_url.clone())));
            }
            if let Some(c) = &self.compose {
                flags.push(("--compose", Some(c.clone())));
            }
            if let Some(f) = self.op_timescale {
                // Rust prints the shortest decimal that reads back as the same f64.
                flags.push(("--op-timescale", Some(f.to_string())));
            }
            if self.keep {
                flags.push(("--keep", None));
            }
        }
        for (flag, value) in self.changed_deadlines() {
            flags.push((flag, Some(value)));
        }
        flags
    }

    /// The deadline flags that differ from their defaults, as `(flag, value)`, for a replay
    /// line that waits as this run did.
    pub fn changed_deadlines(&self) -> Vec<(&'static str, String)> {
        [
            ("--ready-timeout", &self.ready_timeout, READY_DEFAULT),
            ("--apply-timeout", &self.apply_timeout, APPLY_DEFAULT),
            ("--observe-timeout", &self.observe_timeout, OBSERVE_DEFAULT),
            ("--action-timeout", &self.action_timeout, ACTION_DEFAULT),
            ("--restore-timeout", &self.restore_timeout, RESTORE_DEFAULT),
        ]
        .into_iter()
        .filter(|(_, value, default)| humantime::parse_duration(default).ok() != Some(***value))
        .map(|(flag, value, _)| (flag, value.to_string()))
        .collect()
    }

    /// The safety net's restore options.
    pub fn restore_options(&self) -> RestoreOptions {
        RestoreOptions {
            ready_timeout: *self.ready_timeout,
            poll: std::time::Duration::from_millis(500),
            deadline: *self.restore_timeout,
            // Replay and fuzz keep their snapshot in memory: no copy on disk to name.
            run_dir: None,
        }
    }

    pub fn box_options(&self) -> anyhow::Result<Option<BoxTargetOptions>> {
        let kind = match self.target {
            TargetKind::Sim => return Ok(None),
            TargetKind::Local => BoxKind::Local {
                dir: self.box_dir()?,
            },
            TargetKind::Ssh => BoxKind::Ssh {
                host: self.host.clone().ok_or_else(|| {
                    anyhow::anyhow!("--target ssh needs --host user@host (the box to test)")
                })?,
                dir: self.box_dir()?,
            },
        };
        let ssh = match &kind {
            BoxKind::Ssh { host, .. } => {
                let mut so = SshOptions::new(host.clone());
                so.config_file = self.ssh_config.clone();
                so.known_hosts = match self.known_hosts {
                    KnownHosts::Strict => KnownHostsPolicy::Strict,
                    KnownHosts::Add => KnownHostsPolicy::Add,
                    KnownHosts::Accept => KnownHostsPolicy::Accept,
                };
                Some(so)
            }
            BoxKind::Local { .. } => None,
        };
        let mut o = BoxTargetOptions::new(kind);
        o.ssh = ssh;
        o.pithead = self.pithead.clone();
        o.api_url = self.api_url.clone();
        o.compose = self.compose.clone();
        o.containers = self.containers.as_deref().map(|c| match c {
            "docker" => ContainerList::DockerCompose,
            _ => ContainerList::PitheadPs,
        });
        o.apply_timeout = *self.apply_timeout;
        o.command_timeout = *self.observe_timeout;
        o.action_timeout = *self.action_timeout;
        Ok(Some(o))
    }

    fn box_dir(&self) -> anyhow::Result<String> {
        self.dir.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "--target {} needs --dir, the stack directory holding pithead, config.json and .env",
                self.target.as_str()
            )
        })
    }
}

/// `--op-timescale`: a positive factor, as a decimal or a fraction (`0.05`, `1/30`).
fn parse_factor(text: &str) -> Result<f64, String> {
    let value = match text.split_once('/') {
        Some((a, b)) => {
            let a: f64 = a.trim().parse().map_err(|e| format!("{a:?}: {e}"))?;
            let b: f64 = b.trim().parse().map_err(|e| format!("{b:?}: {e}"))?;
            a / b
        }
        None => text.trim().parse().map_err(|e| format!("{text:?}: {e}"))?,
    };
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "{text} is not a positive factor (e.g. 1/30 or 0.05)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_timescale_takes_decimals_and_fractions() {
        assert_eq!(parse_factor("0.5"), Ok(0.5));
        assert_eq!(parse_factor("1/30"), Ok(1.0 / 30.0));
        for bad in ["0", "-1", "1/0", "x", "inf"] {
            assert!(parse_factor(bad).is_err(), "{bad}");
        }
    }
}
