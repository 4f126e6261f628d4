//! The box actions of Pithead's operations: what a target does to the box, named as the
//! box's own tools name them. The model composes operations from these; every target (the
//! simulated stack, a box through its CLI, the fakes) performs them.

use serde::{Deserialize, Serialize};

/// One thing a target does to the box. Every box target performs these with the box's own
/// tools (`pithead`, `docker compose`); the simulated stack models them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action", content = "service")]
pub enum Action {
    /// `pithead restart [service]`.
    Restart { service: Option<String> },
    /// `pithead down`.
    Down,
    /// `pithead up`.
    Up,
    /// `pithead backup -y --no-encrypt`; the target remembers the archive.
    Backup,
    /// `pithead restore -y <the archive of the last Backup>`.
    Restore,
    /// `docker compose stop <service>`.
    Stop(String),
    /// `docker compose start <service>`.
    Start(String),
    /// `docker compose kill -s SIGSTOP <service>`.
    Freeze(String),
    /// `docker compose kill -s SIGCONT <service>`.
    Thaw(String),
    /// `docker compose rm -sf <service>`.
    Remove(String),
    /// `docker compose up -d <service>`.
    UpService(String),
    /// Empties PROXY_AUTH_TOKEN in .env, keeping the exact token on the box to put back.
    EmptyProxyToken,
    /// Puts back the token [`Action::EmptyProxyToken`] kept.
    RestoreProxyToken,
}

impl Action {
    /// The command line as the box's operator would type it (for journals and messages).
    pub fn command(&self) -> String {
        match self {
            Action::Restart { service: None } => "pithead restart".into(),
            Action::Restart { service: Some(s) } => format!("pithead restart {s}"),
            Action::Down => "pithead down".into(),
            Action::Up => "pithead up".into(),
            Action::Backup => "pithead backup -y --no-encrypt".into(),
            Action::Restore => "pithead restore -y <last backup>".into(),
            Action::Stop(s) => format!("docker compose stop {s}"),
            Action::Start(s) => format!("docker compose start {s}"),
            Action::Freeze(s) => format!("docker compose kill -s SIGSTOP {s}"),
            Action::Thaw(s) => format!("docker compose kill -s SIGCONT {s}"),
            Action::Remove(s) => format!("docker compose rm -sf {s}"),
            Action::UpService(s) => format!("docker compose up -d {s}"),
            Action::EmptyProxyToken => "empty PROXY_AUTH_TOKEN in .env".into(),
            Action::RestoreProxyToken => "restore PROXY_AUTH_TOKEN in .env".into(),
        }
    }
}
