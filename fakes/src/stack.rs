//! The stack directory: where config.json, .env, the Caddyfile and the `pithead` entry point
//! live, plus the fake's own bookkeeping under `.pithead-fake/` (ports, container state, a
//! ledger of every process started, daemon logs).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Every service of Pithead's compose file, in start order, with its profile (None = always).
pub const SERVICES: [(&str, Option<&str>); 11] = [
    ("tor", None),
    ("monerod", Some("local_node")),
    ("wallet-rpc", Some("payout_confirm")),
    ("tari", Some("local_tari")),
    ("tari-wallet", Some("tari_payout_confirm")),
    ("p2pool", None),
    ("xmrig-proxy", None),
    ("dashboard", None),
    ("docker-proxy", None),
    ("docker-control", None),
    ("caddy", None),
];

/// The services of `COMPOSE_PROFILES` (membership, never equality: #1301).
pub fn active_services(profiles: &str) -> Vec<&'static str> {
    let active: Vec<&str> = profiles.split(',').map(str::trim).collect();
    SERVICES
        .iter()
        .filter(|(_, p)| p.is_none_or(|p| active.contains(&p)))
        .map(|(s, _)| *s)
        .collect()
}

/// Whether `name` is a service of the compose file.
pub fn is_service(name: &str) -> bool {
    SERVICES.iter().any(|(s, _)| *s == name)
}

/// A stack directory.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The directory, as resolved by the CLI.
    pub dir: PathBuf,
}

/// The fake box's settings, written by `setup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// The binary that runs the daemons.
    pub binary: PathBuf,
    /// 127.0.0.1 port per service.
    pub ports: BTreeMap<String, u16>,
    /// Extra environment given to every daemon (`FAKE_MONEROD_MODE=syncing`, ...).
    #[serde(default)]
    pub daemon_env: BTreeMap<String, String>,
    /// The `tari.mode` values this build's CLI accepts (older Pithead builds have no `off`);
    /// absent: local, remote and off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tari_modes: Option<Vec<String>>,
}

/// One fake container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    /// Container id; a recreate makes a new one.
    pub id: String,
    /// The daemon's process id (also its process group).
    pub pid: u32,
    /// The process start time in clock ticks since boot, so a reused pid is never signalled.
    pub pid_start: u64,
    /// Start marker (StartedAt); a restart changes it, keeping the id.
    pub started: String,
    /// `running`, `exited` or `created` as last set by the engine.
    pub state: String,
    /// Hash of the .env keys this service interpolates: a change means recreate.
    pub config_hash: String,
    /// The environment it was created with; a restart reuses it (#273).
    pub env: BTreeMap<String, String>,
    /// The environment of the container this one replaced, if it replaced one: what a
    /// restart brings back under the `restart-reverts-args` fault.
    #[serde(default)]
    pub previous_env: Option<BTreeMap<String, String>>,
}

/// All containers and the network.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Containers by service name.
    pub containers: BTreeMap<String, Container>,
    /// The subnet the network was created with, while it exists.
    pub network: Option<String>,
    /// Containers whose removal was interrupted (renamed-leftover-container), by service.
    #[serde(default)]
    pub removed: BTreeMap<String, Container>,
    /// Renamed leftover containers, `<12hex>_<name>`: listed by `ps`, never started.
    #[serde(default)]
    pub leftovers: BTreeMap<String, Container>,
}

impl Stack {
    /// A stack at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Stack {
        Stack { dir: dir.into() }
    }
    /// config.json.
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    /// .env.
    pub fn env(&self) -> PathBuf {
        self.dir.join(".env")
    }
    /// The Caddyfile.
    pub fn caddyfile(&self) -> PathBuf {
        self.dir.join("Caddyfile")
    }
    /// The retry marker of an apply whose `up` failed (#125).
    pub fn marker(&self) -> PathBuf {
        self.dir.join(".env.apply-incomplete")
    }
    /// The fake's bookkeeping directory.
    pub fn fake_dir(&self) -> PathBuf {
        self.dir.join(".pithead-fake")
    }
    /// A one-shot switch: when this file exists, the next `up` fails and removes it.
    pub fn fail_next_up(&self) -> PathBuf {
        self.fake_dir().join("fail-next-up")
    }
    /// Daemon logs.
    pub fn log(&self, service: &str) -> PathBuf {
        self.fake_dir().join("logs").join(format!("{service}.log"))
    }
    /// The ledger of every process started, for teardown.
    pub fn ledger(&self) -> PathBuf {
        self.fake_dir().join("pids")
    }

    /// The `tari.mode` values the CLI accepts ([`Settings::tari_modes`]).
    pub fn tari_modes(&self) -> Vec<String> {
        self.settings()
            .ok()
            .and_then(|s| s.tari_modes)
            .unwrap_or_else(|| ["local", "remote", "off"].map(String::from).to_vec())
    }

    /// Reads the settings written by `setup`.
    pub fn settings(&self) -> Result<Settings> {
        let path = self.fake_dir().join("settings.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is missing: this is not a fake box; run `pithead-fake setup DIR` first",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// Writes the settings.
    pub fn write_settings(&self, settings: &Settings) -> Result<()> {
        write_private(
            &self.fake_dir().join("settings.json"),
            serde_json::to_string_pretty(settings)?.as_bytes(),
        )
    }

    /// Reads the container state (empty when there is none yet).
    pub fn state(&self) -> Result<State> {
        let path = self.fake_dir().join("state.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is corrupt", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the container state.
    pub fn write_state(&self, state: &State) -> Result<()> {
        write_private(
            &self.fake_dir().join("state.json"),
            serde_json::to_string(state)?.as_bytes(),
        )
    }
}

/// Takes the mutation lock at `path` (flock) if nobody holds it; `None` when somebody does.
/// The lock is held until the returned file is dropped.
pub fn try_lock(path: &Path) -> Result<Option<std::fs::File>> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    // SAFETY: flock(2) on a file descriptor this function owns.
    let got = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    Ok(got.then_some(file))
}

/// Writes `bytes` to `path` atomically (a temp file and a rename), mode 0600 from creation.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_data().ok();
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Now as an RFC 3339 UTC timestamp with nanoseconds, like Docker's StartedAt.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (y, mo, d, h, mi, s) = civil(now.as_secs());
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}Z",
        now.subsec_nanos()
    )
}

/// Now as `YYYYmmdd-HHMMSS` (UTC), for backup names.
pub fn compact_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// Seconds since the epoch to (year, month, day, hour, minute, second), UTC.
fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}
