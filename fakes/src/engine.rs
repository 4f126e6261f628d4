//! The container engine seam. The fake CLI talks to an [`Engine`] the way Pithead talks to
//! `docker compose`; [`ProcessEngine`] plays Compose with local processes (it decides what to
//! recreate from the .env keys each service interpolates, pithead-model.md §2.1). A docker
//! mode (issue #6) is another implementation that runs `docker compose` instead.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::faults::{Fault, Faults};
use crate::render::{Env, random_hex};
use crate::stack::{self, Container, Settings, Stack, State};

/// What `up` did, per service.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpReport {
    /// Services whose container was created.
    pub created: Vec<String>,
    /// Services whose container was replaced (new id).
    pub recreated: Vec<String>,
    /// Services restarted in place (same id, new start marker).
    pub restarted: Vec<String>,
    /// Stopped services started again.
    pub started: Vec<String>,
}

/// One container as the fake's `ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsLine {
    /// Service (= container) name.
    pub name: String,
    /// Container id.
    pub id: String,
    /// Start marker.
    pub started: String,
    /// running, exited, created.
    pub state: String,
    /// healthy, unhealthy, starting, or None.
    pub health: Option<String>,
}

/// One `ps` line per item, each probed on its own thread, in the items' order: a frozen
/// daemon then costs one probe timeout in total, not one per container.
pub(crate) fn ps_in_parallel<T: Sync>(
    items: &[T],
    probe: impl Fn(&T) -> PsLine + Sync,
) -> Vec<PsLine> {
    let probe = &probe;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || probe(item)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .collect::<Vec<_>>()
    })
}

/// The operations of `docker compose` the fake CLI needs.
pub trait Engine {
    /// `up -d --remove-orphans`: create missing containers of the active profiles, recreate
    /// those whose inputs changed, start stopped ones.
    fn up(&mut self, env: &Env) -> Result<UpReport>;
    /// `up -d SERVICE...`: the same for the named services only (their containers are
    /// created, recreated or started; the others are left as they are).
    fn up_services(&mut self, env: &Env, services: &[String]) -> Result<UpReport>;
    /// `rm -sf` of these services.
    fn remove(&mut self, services: &[String]) -> Result<()>;
    /// `restart` of these services (all existing ones when empty): same container, old args.
    fn restart(&mut self, services: &[String]) -> Result<Vec<String>>;
    /// `stop` of these services (all when empty).
    fn stop(&mut self, services: &[String]) -> Result<()>;
    /// `start` of these stopped services (all when empty).
    fn start(&mut self, services: &[String]) -> Result<()>;
    /// `kill -s SIGNAL` of these services.
    fn kill(&mut self, services: &[String], signal: i32) -> Result<()>;
    /// `down`: stop and remove everything, and the network.
    fn down(&mut self) -> Result<()>;
    /// `ps -a`.
    fn ps(&mut self) -> Result<Vec<PsLine>>;
}

/// The .env keys each service interpolates (its compose `environment:` and args). A change
/// to any of them recreates the container. DASHBOARD_SECURE is in no list: it only changes
/// the Caddyfile, which is mounted, not interpolated.
pub fn interpolated_keys(service: &str) -> &'static [&'static str] {
    match service {
        "tor" => &[
            "NETWORK_PREFIX",
            "COMPOSE_PROFILES",
            "DASHBOARD_ONION_ENABLED",
            "DASHBOARD_ONION_CLIENT_AUTH",
            "TOR_DATA_DIR",
        ],
        "monerod" => &[
            "MONERO_MEM_LIMIT",
            "MONERO_NODE_USERNAME",
            "MONERO_NODE_PASSWORD",
            "MONERO_ONION_ADDRESS",
            "MONERO_PRUNE",
            "MONERO_CLEARNET_SYNC",
            "MONERO_PREP_THREADS",
            "MONERO_OUT_PEERS",
            "NETWORK_PREFIX",
            "MONERO_DATA_DIR",
            "CLEARNET_STATE_DIR",
            "MONERO_RPC_BIND",
            "MONERO_ZMQ_BIND",
        ],
        "wallet-rpc" => &[
            "MONERO_NODE_USERNAME",
            "MONERO_NODE_PASSWORD",
            "NETWORK_PREFIX",
            "WALLET_RPC_USERNAME",
            "WALLET_RPC_PASSWORD",
            "MONERO_WALLET_ADDRESS",
            "MONERO_VIEW_KEY",
            "PAYOUT_SCAN_HEIGHT",
        ],
        "tari" => &[
            "TARI_DATA_DIR",
            "TARI_GRPC_BIND",
            "TARI_CLEARNET_SYNC",
            "TARI_MEM_LIMIT",
            "TARI_ONION_ADDRESS",
            "NETWORK_PREFIX",
            "CLEARNET_STATE_DIR",
        ],
        "tari-wallet" => &[
            "TARI_GRPC_ADDRESS",
            "TARI_WALLET_BIRTHDAY",
            "NETWORK_PREFIX",
            "TARI_VIEW_KEY",
            "TARI_SPEND_PUBLIC_KEY",
        ],
        "p2pool" => &[
            "P2POOL_DATA_DIR",
            "MONERO_NODE_HOST",
            "MONERO_RPC_PORT",
            "MONERO_NODE_USERNAME",
            "MONERO_NODE_PASSWORD",
            "MONERO_ZMQ_PORT",
            "MONERO_WALLET_ADDRESS",
            "TARI_GRPC_ADDRESS",
            "TARI_WALLET_ADDRESS",
            "P2POOL_ONION_ADDRESS",
            "P2POOL_PORT",
            "P2POOL_FLAGS",
            "TARI_MODE",
            "NETWORK_PREFIX",
        ],
        "xmrig-proxy" => &[
            "PROXY_TLS_DIR",
            "STRATUM_BIND",
            "STRATUM_PORT",
            "PROXY_API_PORT",
            "PROXY_AUTH_TOKEN",
            "PROXY_STRATUM_PASSWORD",
            "PROXY_STRATUM_TLS",
            "P2POOL_URL",
            "MONERO_WALLET_ADDRESS",
            "PROXY_DONATE_LEVEL",
            "NETWORK_PREFIX",
        ],
        "dashboard" => &[
            "P2POOL_DATA_DIR",
            "DASHBOARD_DATA_DIR",
            "CLEARNET_STATE_DIR",
            "CONTROL_DIR",
            "CADDY_LOG_DIR",
            "HOST_IP",
            "DASHBOARD_TZ",
            "MONERO_NODE_HOST",
            "MONERO_RPC_URL",
            "MONERO_NODE_USERNAME",
            "MONERO_NODE_PASSWORD",
            "MONERO_PRUNE",
            "MONERO_CLEARNET_SYNC",
            "TARI_CLEARNET_SYNC",
            "TOR_EGRESS_FIREWALL",
            "TOR_AUTO_HEAL",
            "P2POOL_CLEARNET",
            "P2POOL_URL",
            "MONERO_WALLET_ADDRESS",
            "PAYOUT_CONFIRM_ENABLED",
            "WALLET_RPC_USERNAME",
            "WALLET_RPC_PASSWORD",
            "MONERO_WALLET_RPC_URL",
            "TARI_PAYOUT_CONFIRM_ENABLED",
            "XVB_ENABLED",
            "XVB_TOR_ENABLED",
            "XVB_POOL_URL",
            "XVB_DONOR_ID",
            "XVB_DONATION_LEVEL",
            "PROXY_API_PORT",
            "PROXY_AUTH_TOKEN",
            "STRATUM_PORT",
            "TARI_GRPC_ADDRESS",
            "TARI_MODE",
            "NETWORK_PREFIX",
            "NETWORK_SUBNET",
            "DASHBOARD_CHECK_UPDATES",
            "DASHBOARD_CONTROL_ENABLED",
            "DASHBOARD_ONION_ENABLED",
            "DASHBOARD_ONION_CLIENT_AUTH",
            "DASHBOARD_ONION_ADDRESS",
            "TARI_REQUIRED",
            "DASHBOARD_FAIL_CLOSED",
        ],
        "caddy" => &["CADDY_LOG_DIR"],
        _ => &[],
    }
}

/// The image version the fake containers run; part of every config hash.
const IMAGE: &str = concat!("pithead-fake:", env!("CARGO_PKG_VERSION"));

/// The config hash of `service` under `env`.
pub fn config_hash(service: &str, env: &Env) -> String {
    let mut h = Sha256::new();
    h.update(IMAGE.as_bytes());
    h.update(service.as_bytes());
    for key in interpolated_keys(service) {
        h.update(b"\0");
        h.update(key.as_bytes());
        h.update(b"=");
        h.update(env.value(key).as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// A process as seen in /proc: its state letter and start time.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// How a recorded process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Running.
    Running,
    /// Stopped by SIGSTOP (frozen).
    Frozen,
    /// Gone, a zombie, or the pid now belongs to another process.
    Gone,
}

/// Checks the process recorded as `pid` started at `start`.
pub fn liveness(pid: u32, start: u64) -> Liveness {
    match proc_stat(pid) {
        Some((_, s)) if s != start => Liveness::Gone,
        Some(('Z' | 'X' | 'x', _)) | None => Liveness::Gone,
        Some(('T' | 't', _)) => Liveness::Frozen,
        Some(_) => Liveness::Running,
    }
}

/// Ends the process group of a recorded process: SIGCONT (a frozen process cannot act on
/// SIGTERM), SIGTERM with `grace` to exit (none when zero), then SIGKILL, and waits until
/// it is gone so its port is free again.
pub fn terminate(pid: u32, start: u64, grace: Duration) {
    if pid == 0 || liveness(pid, start) == Liveness::Gone {
        return;
    }
    let group = -(pid as i32);
    let wait_gone = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if liveness(pid, start) == Liveness::Gone {
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        false
    };
    // SAFETY: kill(2) on a process group we created (process_group(0) at spawn), verified
    // by its start time so a reused pid is never signalled.
    unsafe {
        libc::kill(group, libc::SIGCONT);
    }
    if !grace.is_zero() {
        // SAFETY: as above.
        unsafe {
            libc::kill(group, libc::SIGTERM);
        }
        if wait_gone(grace) {
            return;
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(group, libc::SIGKILL);
    }
    wait_gone(Duration::from_secs(2));
}

/// Plays Compose with local processes of this binary.
pub struct ProcessEngine {
    stack: Stack,
    settings: Settings,
    state: State,
    faults: Faults,
}

const PROBE: Duration = Duration::from_millis(150);
const READY_TIMEOUT: Duration = Duration::from_secs(5);
const STOP_GRACE: Duration = Duration::from_secs(2);

impl ProcessEngine {
    /// Opens the engine of a fake box.
    pub fn open(stack: &Stack) -> Result<ProcessEngine> {
        Ok(ProcessEngine {
            stack: stack.clone(),
            settings: stack.settings()?,
            state: stack.state()?,
            faults: Faults::load(&stack.dir)?,
        })
    }

    fn save(&self) -> Result<()> {
        self.stack.write_state(&self.state)
    }

    fn port(&self, service: &str) -> Result<u16> {
        self.settings
            .ports
            .get(service)
            .copied()
            .ok_or_else(|| anyhow!("no port for {service} in .pithead-fake/settings.json"))
    }

    /// The environment a daemon gets: the container's env plus where its peers listen.
    fn daemon_env(&self, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = env.clone();
        for (svc, port) in &self.settings.ports {
            let key = format!("FAKE_{}_PORT", svc.to_uppercase().replace('-', "_"));
            out.insert(key, port.to_string());
        }
        out.extend(self.settings.daemon_env.clone());
        if self.faults.has(Fault::UpAcceptsEmptyToken) {
            out.insert("FAKE_ALLOW_EMPTY_PROXY_TOKEN".into(), "1".into());
        }
        out
    }

    /// Spawns the daemon for `service`; returns (pid, start time). Readiness is awaited
    /// separately so several daemons start in parallel.
    fn spawn(&self, service: &str, env: &BTreeMap<String, String>) -> Result<(u32, u64)> {
        let port = self.port(service)?;
        let log_path = self.stack.log(service);
        std::fs::create_dir_all(log_path.parent().unwrap_or(Path::new(".")))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut cmd = Command::new(&self.settings.binary);
        cmd.arg("daemon")
            .arg(service)
            .arg("--port")
            .arg(port.to_string())
            .current_dir(&self.stack.dir)
            .env_clear()
            .envs(self.daemon_env(env))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Own process group: teardown kills the group, and a terminal's Ctrl-C aimed at the
        // CLI does not take the stack down with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.settings.binary.display()))?;
        let pid = child.id();
        let start = proc_stat(pid).map_or(0, |(_, s)| s);
        // The ledger lets teardown find every process, even ones the state lost.
        let mut ledger = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stack.ledger())?;
        std::io::Write::write_all(&mut ledger, format!("{pid} {start} {service}\n").as_bytes())?;
        // The child is not waited for: like a container, it outlives this CLI call.
        std::mem::forget(child);
        Ok((pid, start))
    }

    /// Waits until every `(service, pid, start)` answers on its port.
    fn await_ready(&self, started: &[(String, u32, u64)]) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pending: Vec<&(String, u32, u64)> = started.iter().collect();
        while !pending.is_empty() {
            let mut still = Vec::new();
            for entry in pending {
                let (service, pid, start) = entry;
                let port = self.port(service)?;
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    continue;
                }
                if liveness(*pid, *start) == Liveness::Gone {
                    let log = std::fs::read_to_string(self.stack.log(service)).unwrap_or_default();
                    let last = log.lines().last().unwrap_or("").to_string();
                    bail!("container {service} exited while starting: {last}");
                }
                still.push(entry);
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "containers did not become ready in {READY_TIMEOUT:?}: {}",
                    pending
                        .iter()
                        .map(|e| e.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            std::thread::sleep(Duration::from_micros(300));
        }
        Ok(())
    }

    fn kill_container(&self, c: &Container) {
        // The fake daemons hold no state worth a graceful stop, and SIGKILL needs no
        // scheduling of the daemon's own code: recreates stay fast on a loaded host.
        terminate(c.pid, c.pid_start, Duration::ZERO);
    }

    fn select(&self, services: &[String]) -> Vec<String> {
        if services.is_empty() {
            stack::SERVICES
                .iter()
                .map(|(s, _)| s.to_string())
                .filter(|s| self.state.containers.contains_key(s))
                .collect()
        } else {
            services
                .iter()
                .filter(|s| self.state.containers.contains_key(*s))
                .cloned()
                .collect()
        }
    }

    fn is_running(c: &Container) -> bool {
        c.state == "running" && liveness(c.pid, c.pid_start) != Liveness::Gone
    }

    /// Restarts the given containers in place with the env they were created with.
    fn restart_in_place(&mut self, services: &[String]) -> Result<()> {
        self.restart_with(services, false)
    }

    /// [`Self::restart_in_place`]; with `revert`, a container that replaced another comes
    /// back with the replaced one's env (the `restart-reverts-args` fault, #273).
    fn restart_with(&mut self, services: &[String], revert: bool) -> Result<()> {
        let mut started = Vec::new();
        for s in services {
            if let Some(c) = self.state.containers.get(s).cloned() {
                self.kill_container(&c);
                let env = match &c.previous_env {
                    Some(old) if revert => old,
                    _ => &c.env,
                };
                let (pid, start) = self.spawn(s, env)?;
                let c = self.state.containers.get_mut(s).expect("present");
                c.pid = pid;
                c.pid_start = start;
                c.started = stack::timestamp();
                c.state = "running".into();
                started.push((s.clone(), pid, start));
            }
        }
        self.save()?;
        self.await_ready(&started)
    }

    fn health(&self, service: &str, c: &Container) -> (String, Option<String>) {
        match (c.state.as_str(), liveness(c.pid, c.pid_start)) {
            ("running", Liveness::Gone) => ("exited".into(), None),
            ("running", live) => {
                let port = self.settings.ports.get(service).copied().unwrap_or(0);
                let ok = live == Liveness::Running
                    && matches!(
                        crate::http::request(port, "GET", "/health", None, PROBE),
                        Some((200, _))
                    );
                (
                    "running".into(),
                    Some(if ok { "healthy" } else { "unhealthy" }.into()),
                )
            }
            (other, _) => (other.to_string(), None),
        }
    }
}

impl ProcessEngine {
    /// `up`, for every service of the active profiles or only those in `only`.
    fn up_only(&mut self, env: &Env, only: Option<&[String]>) -> Result<UpReport> {
        let fail = self.stack.fail_next_up();
        if fail.exists() {
            let _ = std::fs::remove_file(&fail);
            bail!(
                "Error response from daemon: container xmrig-proxy must be in Created or Stopped state (injected by fail-next-up)"
            );
        }
        let subnet = env.value("NETWORK_SUBNET").to_string();
        match &self.state.network {
            Some(net) if *net != subnet && !self.state.containers.is_empty() => bail!(
                "failed to create network pithead_mining_net: Pool overlaps with other one on this address space \
                 (the subnet moved from {net} to {subnet} while containers are attached; run `pithead down` then `pithead up`)"
            ),
            _ => self.state.network = Some(subnet),
        }
        let env_map = env.map();
        let mut report = UpReport::default();
        let mut to_start = Vec::new();
        let mut previous: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut tor_recreated = false;
        let named = |s: &str| only.is_none_or(|o| o.iter().any(|n| n == s));
        for service in stack::active_services(env.value("COMPOSE_PROFILES")) {
            if !named(service) {
                continue;
            }
            let hash = config_hash(service, env);
            match self.state.containers.get(service).cloned() {
                Some(c) if c.config_hash == hash => {
                    if !Self::is_running(&c) {
                        to_start.push((service.to_string(), c.env.clone(), false));
                        report.started.push(service.to_string());
                    }
                }
                Some(c) => {
                    self.kill_container(&c);
                    self.state.containers.remove(service);
                    previous.insert(service.to_string(), c.env);
                    to_start.push((service.to_string(), env_map.clone(), true));
                    report.recreated.push(service.to_string());
                    tor_recreated |= service == "tor";
                }
                None => {
                    if let Some(old) = self.state.removed.remove(service) {
                        self.state
                            .leftovers
                            .insert(format!("{}_{service}", old.id), old);
                    }
                    to_start.push((service.to_string(), env_map.clone(), true));
                    report.created.push(service.to_string());
                }
            }
        }
        let mut started = Vec::new();
        for (service, cenv, fresh) in to_start {
            let (pid, start) = self.spawn(&service, &cenv)?;
            let now = stack::timestamp();
            if fresh {
                self.state.containers.insert(
                    service.clone(),
                    Container {
                        id: random_hex(6),
                        pid,
                        pid_start: start,
                        started: now,
                        state: "running".into(),
                        config_hash: config_hash(&service, env),
                        env: cenv,
                        previous_env: previous.remove(&service),
                    },
                );
            } else if let Some(c) = self.state.containers.get_mut(&service) {
                c.pid = pid;
                c.pid_start = start;
                c.started = now;
                c.state = "running".into();
            }
            started.push((service, pid, start));
        }
        self.save()?;
        self.await_ready(&started)?;
        // depends_on tor with restart: true: a tor recreate restarts monerod (#972).
        if tor_recreated
            && !self.faults.has(Fault::TorWithoutMonerodRestart)
            && self.state.containers.contains_key("monerod")
            && !report
                .created
                .iter()
                .chain(&report.recreated)
                .any(|s| s == "monerod")
        {
            self.restart_in_place(&["monerod".to_string()])?;
            report.restarted.push("monerod".into());
        }
        Ok(report)
    }
}

impl Engine for ProcessEngine {
    fn up(&mut self, env: &Env) -> Result<UpReport> {
        self.up_only(env, None)
    }

    fn up_services(&mut self, env: &Env, services: &[String]) -> Result<UpReport> {
        self.up_only(env, Some(services))
    }

    fn remove(&mut self, services: &[String]) -> Result<()> {
        for s in services {
            if let Some(mut c) = self.state.containers.remove(s) {
                self.kill_container(&c);
                if self.faults.has(Fault::RenamedLeftoverContainer) {
                    // #2595: the removal is interrupted; the container lingers and turns up
                    // renamed when the service is created again.
                    c.state = "exited".into();
                    self.state.removed.insert(s.clone(), c);
                }
            }
        }
        self.save()
    }

    fn restart(&mut self, services: &[String]) -> Result<Vec<String>> {
        let mut targets = self.select(services);
        // depends_on tor with restart: true, unless restart-tor-strands-monerod (#972).
        if !self.faults.has(Fault::RestartTorStrandsMonerod)
            && targets.iter().any(|s| s == "tor")
            && !targets.iter().any(|s| s == "monerod")
            && self.state.containers.contains_key("monerod")
        {
            targets.push("monerod".into());
        }
        let revert = self.faults.has(Fault::RestartRevertsArgs);
        self.restart_with(&targets, revert)?;
        Ok(targets)
    }

    fn stop(&mut self, services: &[String]) -> Result<()> {
        for s in self.select(services) {
            let c = self.state.containers.get(&s).cloned().expect("selected");
            self.kill_container(&c);
            if let Some(c) = self.state.containers.get_mut(&s) {
                c.state = "exited".into();
            }
        }
        self.save()
    }

    fn start(&mut self, services: &[String]) -> Result<()> {
        let targets: Vec<String> = self
            .select(services)
            .into_iter()
            .filter(|s| !Self::is_running(&self.state.containers[s]))
            .collect();
        self.restart_in_place(&targets)
    }

    fn kill(&mut self, services: &[String], signal: i32) -> Result<()> {
        for s in self.select(services) {
            let c = &self.state.containers[&s];
            if liveness(c.pid, c.pid_start) != Liveness::Gone {
                // SAFETY: kill(2) on a verified daemon's process group.
                unsafe {
                    libc::kill(-(c.pid as i32), signal);
                }
            }
        }
        Ok(())
    }

    fn down(&mut self) -> Result<()> {
        let all: Vec<String> = self.state.containers.keys().cloned().collect();
        for s in &all {
            let c = self.state.containers[s].clone();
            self.kill_container(&c);
        }
        self.state.containers.clear();
        self.state.removed.clear();
        self.state.leftovers.clear();
        self.state.network = None;
        self.save()
    }

    fn ps(&mut self) -> Result<Vec<PsLine>> {
        let names: Vec<String> = self.select(&[]);
        let this = &*self;
        let mut lines = ps_in_parallel(&names, |s| {
            let c = &this.state.containers[s];
            let (state, health) = this.health(s, c);
            PsLine {
                name: s.clone(),
                id: c.id.clone(),
                started: c.started.clone(),
                state,
                health,
            }
        });
        for (name, c) in &self.state.leftovers {
            lines.push(PsLine {
                name: name.clone(),
                id: c.id.clone(),
                started: c.started.clone(),
                state: "exited".into(),
                health: None,
            });
        }
        Ok(lines)
    }
}

/// Kills every process in a box's ledger that is still alive, and clears the state (the
/// process engine's teardown; [`crate::select::teardown`] picks the engine's).
pub fn teardown_processes(stack: &Stack) -> Result<usize> {
    let mut killed = 0;
    if let Ok(mut engine) = ProcessEngine::open(stack) {
        killed += engine.state.containers.len();
        engine.down()?;
    }
    let ledger = std::fs::read_to_string(stack.ledger()).unwrap_or_default();
    for line in ledger.lines() {
        let mut parts = line.split_whitespace();
        let (Some(pid), Some(start)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
            continue;
        };
        if liveness(pid, start) != Liveness::Gone {
            terminate(pid, start, STOP_GRACE);
            killed += 1;
        }
    }
    let _ = std::fs::remove_file(stack.ledger());
    Ok(killed)
}
