//! The dashboard's worker failover (pithead-model.md §4, #31): when the local monerod has
//! been unreachable for NODE_DOWN_AFTER_SEC, the dashboard stops xmrig-proxy so the rigs fail
//! over to their backup pool; it starts it again only once monerod has answered for
//! NODE_RECOVERY_AFTER_SEC without a break. Both are read from the dashboard's environment
//! (seconds, fractions allowed), so tests and CI can run the windows in seconds.
//!
//! The decision is a pure state machine ([`Failover`]); acting on it goes through a
//! [`Control`]: the fake box's own process engine (under the CLI's mutation lock, so the
//! dashboard and a `pithead` command never write the container state at once), or the Docker
//! Engine API on the mini-stack, as the real dashboard reaches Docker through docker-control.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::engine::{Engine, ProcessEngine};
use crate::stack::{self, Stack};

/// The service the failover stops (REJECT_WORKERS_CONTAINER).
pub const REJECTED: &str = "xmrig-proxy";

/// How long the node must be down before workers are rejected, and up before they are let
/// back in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// NODE_DOWN_AFTER_SEC.
    pub down_after: Duration,
    /// NODE_RECOVERY_AFTER_SEC.
    pub recovery_after: Duration,
}

impl Timings {
    /// Pithead's windows unless the environment says otherwise: 60 s down, 120 s up (the
    /// model's readmission window).
    pub fn from_env() -> Timings {
        let secs = |key: &str, default: f64| {
            let v = super::env_num(key, default);
            Duration::from_secs_f64(if v.is_finite() && v >= 0.0 {
                v
            } else {
                default
            })
        };
        Timings {
            down_after: secs("NODE_DOWN_AFTER_SEC", 60.0),
            recovery_after: secs("NODE_RECOVERY_AFTER_SEC", 120.0),
        }
    }
}

/// What the failover decides on a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Stop xmrig-proxy: the node has been down long enough.
    Reject,
    /// Start xmrig-proxy again: the node has been up long enough.
    Readmit,
}

/// The failover's state: when the node went down or came back, and whether workers are
/// currently rejected.
#[derive(Debug, Clone)]
pub struct Failover {
    timings: Timings,
    /// The `premature-readmit` fault: readmit as soon as the node answers (#31).
    premature: bool,
    down_since: Option<Instant>,
    up_since: Option<Instant>,
    rejected: bool,
}

impl Failover {
    /// A failover that has seen nothing yet; `premature` is the `premature-readmit` fault.
    pub fn new(timings: Timings, premature: bool) -> Failover {
        Failover {
            timings,
            premature,
            down_since: None,
            up_since: None,
            rejected: false,
        }
    }

    /// One reading of the node at `now`. A reading the other way restarts the window, so a
    /// flapping node is neither rejected nor readmitted early.
    pub fn tick(&mut self, now: Instant, reachable: bool) -> Option<Move> {
        if reachable {
            self.down_since = None;
            let since = *self.up_since.get_or_insert(now);
            let waited = now.saturating_duration_since(since);
            (self.rejected && (self.premature || waited >= self.timings.recovery_after))
                .then_some(Move::Readmit)
        } else {
            self.up_since = None;
            let since = *self.down_since.get_or_insert(now);
            let waited = now.saturating_duration_since(since);
            (!self.rejected && waited >= self.timings.down_after).then_some(Move::Reject)
        }
    }

    /// Records that `m` was carried out (a move that could not be is decided again next tick).
    pub fn done(&mut self, m: Move) {
        self.rejected = m == Move::Reject;
    }

    /// Whether workers are rejected (xmrig-proxy held stopped by the failover).
    pub fn rejected(&self) -> bool {
        self.rejected
    }
}

/// How the dashboard stops and starts a container.
pub trait Control: Send {
    /// Carries out `m` on [`REJECTED`]. `Ok(false)` when it cannot now (the CLI holds the
    /// lock, the container does not exist): the failover tries again on its next tick.
    fn carry_out(&mut self, m: Move) -> Result<bool>;
}

/// The control of the box the dashboard runs in, if it has one: the Docker Engine API when
/// `FAKE_DOCKER_SOCKET` is set (the mini-stack), else the process engine of the fake box in
/// the working directory.
pub fn control_here() -> Option<Box<dyn Control>> {
    if let Ok(socket) = std::env::var("FAKE_DOCKER_SOCKET")
        && !socket.is_empty()
    {
        let project = crate::docker::project_of(Path::new(".")).ok()?;
        return Some(Box::new(DockerControl {
            socket: PathBuf::from(socket),
            project,
        }));
    }
    let stack = Stack::new(std::env::current_dir().ok()?);
    (stack.fake_dir().join("settings.json").is_file() && !crate::docker::is_docker(&stack))
        .then(|| Box::new(ProcessControl { stack }) as Box<dyn Control>)
}

/// The fake box's process engine, driven under the CLI's mutation lock.
pub struct ProcessControl {
    stack: Stack,
}

impl Control for ProcessControl {
    fn carry_out(&mut self, m: Move) -> Result<bool> {
        // The lock a `pithead` command takes: the engine's state file has one writer at a time.
        let Some(_lock) = stack::try_lock(&self.stack.dir.join(".pithead.lock"))? else {
            return Ok(false);
        };
        let mut engine = ProcessEngine::open(&self.stack)?;
        let exists = engine.ps()?.iter().any(|l| l.name == REJECTED);
        if !exists {
            return Ok(false);
        }
        let services = [REJECTED.to_string()];
        match m {
            Move::Reject => engine.stop(&services)?,
            Move::Readmit => engine.start(&services)?,
        }
        reap_children();
        Ok(true)
    }
}

/// Collects the exit status of daemons this dashboard started and that have since ended (a
/// readmitted xmrig-proxy is its child until the next stop).
pub fn reap_children() {
    // SAFETY: waitpid(2) with WNOHANG on any child of this process; the dashboard waits for
    // no child of its own otherwise.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

/// The Docker Engine API on a unix socket: the mini-stack's dashboard has the host's socket
/// mounted, as Pithead's reaches it through docker-control.
pub struct DockerControl {
    socket: PathBuf,
    project: String,
}

impl DockerControl {
    /// One request, HTTP/1.0 so the answer is never chunked; returns status and body.
    fn request(&self, method: &str, path: &str) -> Result<(u16, String)> {
        let mut s = std::os::unix::net::UnixStream::connect(&self.socket)
            .with_context(|| format!("cannot connect to {}", self.socket.display()))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n"
        )?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        crate::http::parse_response(&raw).context("the Docker API answered something not HTTP")
    }

    /// The id of the project's container of `service`, if it exists.
    fn container(&self, service: &str) -> Result<Option<String>> {
        let filters = serde_json::json!({"label": [
            format!("com.docker.compose.project={}", self.project),
            format!("com.docker.compose.service={service}"),
        ]});
        let path = format!(
            "/containers/json?all=1&filters={}",
            percent_encode(&filters.to_string())
        );
        let (status, body) = self.request("GET", &path)?;
        if status != 200 {
            bail!("GET /containers/json answered {status}: {body}");
        }
        let list: serde_json::Value = serde_json::from_str(&body)?;
        Ok(list
            .as_array()
            .and_then(|a| a.first())
            .and_then(|c| c["Id"].as_str())
            .map(String::from))
    }
}

impl Control for DockerControl {
    fn carry_out(&mut self, m: Move) -> Result<bool> {
        let Some(id) = self.container(REJECTED)? else {
            return Ok(false);
        };
        let verb = match m {
            Move::Reject => "stop?t=3",
            Move::Readmit => "start",
        };
        let (status, body) = self.request("POST", &format!("/containers/{id}/{verb}"))?;
        // 204 done, 304 already in that state.
        if status != 204 && status != 304 {
            bail!("POST /containers/{id}/{verb} answered {status}: {body}");
        }
        Ok(true)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn timings() -> Timings {
        Timings {
            down_after: secs(2.0),
            recovery_after: secs(4.0),
        }
    }

    #[test]
    fn rejects_after_the_down_window_and_readmits_after_the_recovery_window() {
        let t0 = Instant::now();
        let mut f = Failover::new(timings(), false);
        assert_eq!(f.tick(t0, true), None);
        assert_eq!(f.tick(t0 + secs(1.0), false), None);
        assert_eq!(f.tick(t0 + secs(2.9), false), None, "down for 1.9 s only");
        assert_eq!(f.tick(t0 + secs(3.0), false), Some(Move::Reject));
        f.done(Move::Reject);
        assert!(f.rejected());
        assert_eq!(f.tick(t0 + secs(4.0), false), None, "already rejected");
        assert_eq!(f.tick(t0 + secs(5.0), true), None);
        // A relapse restarts the recovery window.
        assert_eq!(f.tick(t0 + secs(8.0), false), None);
        assert_eq!(f.tick(t0 + secs(9.0), true), None);
        assert_eq!(f.tick(t0 + secs(12.9), true), None);
        assert_eq!(f.tick(t0 + secs(13.0), true), Some(Move::Readmit));
        f.done(Move::Readmit);
        assert!(!f.rejected());
        assert_eq!(f.tick(t0 + secs(14.0), true), None);
    }

    #[test]
    fn a_move_not_carried_out_is_decided_again() {
        let t0 = Instant::now();
        let mut f = Failover::new(timings(), false);
        f.tick(t0, false);
        assert_eq!(f.tick(t0 + secs(2.0), false), Some(Move::Reject));
        assert_eq!(f.tick(t0 + secs(2.5), false), Some(Move::Reject));
    }

    #[test]
    fn premature_readmit_lets_workers_back_at_once() {
        let t0 = Instant::now();
        let mut f = Failover::new(timings(), true);
        f.tick(t0, false);
        assert_eq!(f.tick(t0 + secs(2.0), false), Some(Move::Reject));
        f.done(Move::Reject);
        assert_eq!(f.tick(t0 + secs(2.1), true), Some(Move::Readmit));
    }

    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(
            percent_encode(r#"{"a":["b=c"]}"#),
            "%7B%22a%22%3A%5B%22b%3Dc%22%5D%7D"
        );
    }
}
