//! The docker engine (issue #6): the fake CLI drives real Compose on the mini-stack. The
//! compose file (`mini-stack/docker-compose.yml`, embedded here) gives each service the .env
//! keys it interpolates, so Compose itself decides what an apply recreates, as on the real
//! box; this engine only runs Compose and reads the result back with `docker inspect`.
//!
//! A stack dir is in docker mode when `.pithead-fake/docker.json` exists (written by
//! [`prepare`], i.e. `PITHEAD_FAKE_ENGINE=docker pithead-fake setup DIR`). Every container
//! and network carries the compose project label of its dir, so teardown removes exactly
//! its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{Engine, PsLine, UpReport, ps_in_parallel};
use crate::faults::{Fault, Faults};
use crate::render::Env;
use crate::stack::{self, Settings, Stack};

/// The compose file every mini-stack runs, copied into the stack dir by [`prepare`].
pub const COMPOSE_FILE: &str = include_str!("../../mini-stack/docker-compose.yml");

/// The image the compose file runs unless `MINI_IMAGE` says otherwise.
pub const DEFAULT_IMAGE: &str = "canary-fake:mini";

/// The label on the image, containers and networks of every mini-stack.
pub const LABEL: &str = "canary.mini-stack";

/// Every profile: set while stopping, starting or removing named services, so Compose
/// knows services of profiles the current .env leaves off.
const ALL_PROFILES: &str = "local_node,local_tari,payout_confirm,tari_payout_confirm";

/// The port every daemon listens on inside its container.
const CONTAINER_PORT: u16 = 8080;

const PROBE: Duration = Duration::from_millis(150);
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A docker-mode stack's settings (`.pithead-fake/docker.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DockerSettings {
    /// The compose project name, unique per stack dir.
    pub project: String,
    /// The image the services run.
    pub image: String,
}

fn settings_path(stack: &Stack) -> std::path::PathBuf {
    stack.fake_dir().join("docker.json")
}

/// The compose project of the docker-mode stack dir `dir` (the dashboard reads it from its
/// working directory, the stack dir mounted at /stack).
pub fn project_of(dir: &Path) -> Result<String> {
    let path = dir.join(".pithead-fake").join("docker.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let s: DockerSettings = serde_json::from_str(&text).context("docker.json is not valid")?;
    Ok(s.project)
}

/// The Docker socket on this host (from `DOCKER_HOST=unix://...`, else the default) and the
/// group that owns it: the dashboard's failover reaches Docker through it.
fn docker_socket() -> (String, u32) {
    let path = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(String::from))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string());
    let gid = std::os::unix::fs::MetadataExt::gid(
        &std::fs::metadata(&path).unwrap_or_else(|_| std::fs::metadata("/").expect("/ exists")),
    );
    (path, gid)
}

/// Whether the stack dir was set up for the docker engine.
pub fn is_docker(stack: &Stack) -> bool {
    settings_path(stack).exists()
}

/// The compose project name of a stack dir: `canarymini` and a hash of its path, so
/// parallel stacks never share containers or networks.
pub fn project_name(dir: &Path) -> String {
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    format!("canarymini{}", hex::encode(&digest[..5]))
}

/// Makes a stack dir a docker-mode one: writes `docker.json` and the compose file.
pub fn prepare(stack: &Stack) -> Result<DockerSettings> {
    let settings = DockerSettings {
        project: project_name(&stack.dir),
        image: std::env::var("MINI_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_string()),
    };
    stack::write_private(
        &settings_path(stack),
        serde_json::to_string_pretty(&settings)?.as_bytes(),
    )?;
    std::fs::write(stack.dir.join("docker-compose.yml"), COMPOSE_FILE)
        .context("cannot write docker-compose.yml into the stack dir")?;
    Ok(settings)
}

/// How this machine runs Compose: `docker compose` (v2) when the plugin answers, else
/// `docker-compose` (v1).
pub fn compose_command() -> Result<Vec<String>> {
    if let Ok(forced) = std::env::var("MINI_COMPOSE") {
        return Ok(forced.split_whitespace().map(String::from).collect());
    }
    let answers = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if answers("docker", &["compose", "version"]) {
        Ok(vec!["docker".into(), "compose".into()])
    } else if answers("docker-compose", &["version", "--short"]) {
        Ok(vec!["docker-compose".into()])
    } else {
        bail!(
            "neither `docker compose` nor `docker-compose` runs here; install one (Debian: apt-get install docker-compose)"
        )
    }
}

/// Runs `docker ARGS`, failing with its stderr.
fn docker(args: &[&str]) -> Result<String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run docker; is the Docker CLI installed?")?;
    if !out.status.success() {
        bail!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Plays the fake CLI's container operations with real Compose.
pub struct DockerEngine {
    stack: Stack,
    settings: Settings,
    docker: DockerSettings,
    faults: Faults,
    compose: Vec<String>,
}

/// One container as `docker inspect` shows it.
#[derive(Debug, Clone)]
struct Inspected {
    service: String,
    id: String,
    started: String,
    status: String,
    /// Docker's verdict of the container's healthcheck, for a container that has one.
    health: Option<String>,
    ip: Option<String>,
}

impl DockerEngine {
    /// Opens the docker engine of a stack dir set up for it.
    pub fn open(stack: &Stack) -> Result<DockerEngine> {
        let text = std::fs::read_to_string(settings_path(stack)).with_context(|| {
            format!(
                "{} is not set up for the docker engine; run `PITHEAD_FAKE_ENGINE=docker pithead-fake setup {}` (or mini-stack/up.sh)",
                stack.dir.display(),
                stack.dir.display()
            )
        })?;
        Ok(DockerEngine {
            stack: stack.clone(),
            settings: stack.settings()?,
            docker: serde_json::from_str(&text).context("docker.json is not valid")?,
            faults: Faults::load(&stack.dir)?,
            compose: compose_command()?,
        })
    }

    /// The compose project name.
    pub fn project(&self) -> &str {
        &self.docker.project
    }

    /// `compose ARGS` in the stack dir with `env` as its interpolation source and the
    /// given profiles. The .env keys are passed explicitly so nothing in the caller's
    /// environment can shadow them.
    fn compose(&self, env: &Env, profiles: &str, args: &[&str]) -> Result<Output> {
        let mut cmd = Command::new(&self.compose[0]);
        cmd.args(&self.compose[1..])
            .args(["-p", &self.docker.project, "-f", "docker-compose.yml"])
            .args(args)
            .current_dir(&self.stack.dir)
            .stdin(Stdio::null());
        for (k, v) in env.map() {
            cmd.env(k, v);
        }
        let dash = self
            .settings
            .ports
            .get("dashboard")
            .copied()
            .unwrap_or(8000);
        cmd.env("COMPOSE_PROFILES", profiles)
            .env("DASHBOARD_PORT", dash.to_string())
            .env("MINI_IMAGE", &self.docker.image)
            // SAFETY: getuid/getgid cannot fail.
            .env("MINI_UID", unsafe { libc::getuid() }.to_string())
            .env("MINI_GID", unsafe { libc::getgid() }.to_string());
        let (socket, socket_gid) = docker_socket();
        cmd.env("MINI_DOCKER_SOCK", socket)
            .env("MINI_DOCKER_GID", socket_gid.to_string());
        if self.faults.has(Fault::UpAcceptsEmptyToken) {
            cmd.env("FAKE_ALLOW_EMPTY_PROXY_TOKEN", "1");
        }
        for (k, v) in &self.settings.daemon_env {
            cmd.env(k, v);
        }
        cmd.output()
            .with_context(|| format!("cannot run {}", self.compose.join(" ")))
    }

    fn compose_ok(&self, env: &Env, profiles: &str, args: &[&str]) -> Result<()> {
        let out = self.compose(env, profiles, args)?;
        if !out.status.success() {
            bail!(
                "{} {} failed: {}",
                self.compose.join(" "),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// The .env on disk (for verbs that do not render one).
    fn env_on_disk(&self) -> Result<Env> {
        let text = std::fs::read_to_string(self.stack.env())
            .context(".env is missing; run `pithead apply -y` first")?;
        Ok(Env::parse(&text))
    }

    /// Every container of this project, by `docker inspect`.
    fn inspect(&self) -> Result<Vec<Inspected>> {
        let filter = format!("label=com.docker.compose.project={}", self.docker.project);
        let ids = docker(&["ps", "-aq", "--no-trunc", "--filter", &filter])?;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["inspect"];
        args.extend(&ids);
        let json: serde_json::Value = serde_json::from_str(&docker(&args)?)
            .context("docker inspect printed something that is not JSON")?;
        let mut out: Vec<Inspected> = json
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let s = |ptr: &str| c.pointer(ptr).and_then(|v| v.as_str()).unwrap_or("");
                let ip = c
                    .pointer("/NetworkSettings/Networks")
                    .and_then(|n| n.as_object())
                    .and_then(|n| n.values().next())
                    .and_then(|n| n.get("IPAddress"))
                    .and_then(|v| v.as_str())
                    .filter(|ip| !ip.is_empty())
                    .map(String::from);
                Inspected {
                    service: s("/Config/Labels/com.docker.compose.service").to_string(),
                    id: s("/Id").chars().take(12).collect(),
                    started: s("/State/StartedAt").to_string(),
                    status: s("/State/Status").to_string(),
                    health: Some(s("/State/Health/Status"))
                        .filter(|h| !h.is_empty())
                        .map(String::from),
                    ip,
                }
            })
            .collect();
        let order = |svc: &str| {
            stack::SERVICES
                .iter()
                .position(|(s, _)| *s == svc)
                .unwrap_or(usize::MAX)
        };
        out.sort_by_key(|c| (order(&c.service), c.id.clone()));
        Ok(out)
    }

    /// Whether a container answers `GET /health` now (a frozen one does not).
    fn healthy(&self, c: &Inspected) -> bool {
        let Some(ip) = &c.ip else { return false };
        let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
            return false;
        };
        crate::http::request_to(
            std::net::SocketAddr::new(ip, CONTAINER_PORT),
            "GET",
            "/health",
            None,
            PROBE,
        )
        .is_some_and(|(code, _)| code == 200)
    }

    /// Waits until every running container of the project answers its health probe and,
    /// where it has a healthcheck, Docker has passed it since the container (re)started:
    /// the box is settled when a command returns, and a healthcheck that can never pass
    /// fails the command instead of leaving a node `unhealthy` behind it.
    fn await_ready(&self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let containers = self.inspect()?;
            let pending: Vec<&str> = containers
                .iter()
                .filter(|c| {
                    c.status == "running"
                        && (c.health.as_deref().is_some_and(|h| h != "healthy") || !self.healthy(c))
                })
                .map(|c| c.service.as_str())
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "containers did not become ready in {READY_TIMEOUT:?}: {}",
                    pending.join(", ")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn by_service(list: &[Inspected]) -> BTreeMap<String, Inspected> {
        list.iter()
            .map(|c| (c.service.clone(), c.clone()))
            .collect()
    }

    /// What `up` did to each of `services`, from the containers before and after: created,
    /// recreated (a new id) or started (the same id, a new start time).
    fn changes<'a>(
        before: &BTreeMap<String, Inspected>,
        after: &BTreeMap<String, Inspected>,
        services: impl Iterator<Item = &'a str>,
    ) -> UpReport {
        let mut report = UpReport::default();
        for service in services {
            let Some(now) = after.get(service) else {
                continue;
            };
            match before.get(service) {
                None => report.created.push(service.to_string()),
                Some(old) if old.id != now.id => report.recreated.push(service.to_string()),
                Some(old) if old.started != now.started => report.started.push(service.to_string()),
                Some(_) => {}
            }
        }
        report
    }

    /// [`Self::lifecycle`] on those of `services` that exist; whether there were any (none is
    /// no compose call at all).
    fn lifecycle_present(&self, verb: &[&str], services: &[String]) -> Result<bool> {
        let present = self.select(services)?;
        if present.is_empty() {
            return Ok(false);
        }
        self.lifecycle(verb, &present)?;
        Ok(true)
    }

    /// `compose VERB [SERVICE...]` on existing containers, with every profile known.
    fn lifecycle(&self, verb: &[&str], services: &[String]) -> Result<()> {
        let env = self.env_on_disk()?;
        let mut args: Vec<&str> = verb.to_vec();
        args.extend(services.iter().map(String::as_str));
        self.compose_ok(&env, ALL_PROFILES, &args)
    }

    /// The existing services among `services` (all existing ones when empty).
    fn select(&self, services: &[String]) -> Result<Vec<String>> {
        let existing = Self::by_service(&self.inspect()?);
        Ok(if services.is_empty() {
            stack::SERVICES
                .iter()
                .map(|(s, _)| s.to_string())
                .filter(|s| existing.contains_key(s))
                .collect()
        } else {
            services
                .iter()
                .filter(|s| existing.contains_key(*s))
                .cloned()
                .collect()
        })
    }

    /// The project's network and its subnet, when it exists.
    fn network(&self) -> Result<Option<(String, String)>> {
        let filter = format!("label=com.docker.compose.project={}", self.docker.project);
        let ids = docker(&["network", "ls", "-q", "--filter", &filter])?;
        let Some(id) = ids.split_whitespace().next() else {
            return Ok(None);
        };
        let subnet = docker(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
            id,
        ])?;
        Ok(Some((id.to_string(), subnet.trim().to_string())))
    }

    /// A bridge's IPAM cannot change with containers attached (#180): Compose v2 fails the
    /// `up`, while v1 silently keeps the old network, so the engine fails it as v2 does. With
    /// no container left the stale network is removed and `up` makes the new one.
    fn check_subnet(&self, want: &str, containers: bool) -> Result<()> {
        match self.network()? {
            Some((_, have)) if have == want => Ok(()),
            Some((_, have)) if containers => bail!(
                "failed to create network {}_mining_net: Pool overlaps with other one on this address space \
                 (the subnet moved from {have} to {want} while containers are attached; run `pithead down` then `pithead up`)",
                self.docker.project
            ),
            Some((id, _)) => docker(&["network", "rm", &id]).map(drop),
            None => Ok(()),
        }
    }

    /// Where an interrupted removal (renamed-leftover-container) keeps the removed
    /// container's id and compose working dir until its service is created again.
    fn removed_file(&self, service: &str) -> std::path::PathBuf {
        self.stack.fake_dir().join(format!("removed-{service}"))
    }

    /// The renamed leftovers of `created` services whose last removal was interrupted: a
    /// stopped container `<id>_<service>` labelled with the stack's working dir (so the box
    /// lists it, as Compose's renamed containers are listed) but with no compose project or
    /// service (so Compose never adopts it), marked for `down` and `down.sh`.
    fn leftovers_of(&self, created: &[String]) -> Result<()> {
        for s in created {
            let file = self.removed_file(s);
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let _ = std::fs::remove_file(&file);
            let mut lines = text.lines();
            let (Some(id), Some(dir)) = (lines.next(), lines.next()) else {
                continue;
            };
            let name = format!("{id}_{s}");
            let workdir = format!("com.docker.compose.project.working_dir={dir}");
            let mark = format!("{LEFTOVER_LABEL}={}", self.docker.project);
            docker(&[
                "create",
                "--name",
                &name,
                "--label",
                &workdir,
                "--label",
                &mark,
                "--label",
                &format!("{LABEL}=1"),
                &self.docker.image,
            ])?;
        }
        Ok(())
    }

    /// Removes every container and network of the project, whatever Compose knows.
    pub fn purge(&self) -> Result<usize> {
        let env = self.env_on_disk().unwrap_or_default();
        let _ = self.compose(&env, ALL_PROFILES, &["down", "--remove-orphans", "-t", "3"]);
        purge_project(&self.docker.project)
    }
}

/// The label of a renamed leftover container (renamed-leftover-container): its project.
pub const LEFTOVER_LABEL: &str = "canary.mini-stack.leftover";

/// Removes the renamed leftover containers of `project`.
fn remove_leftovers(project: &str) -> Result<usize> {
    remove_matching(&format!("label={LEFTOVER_LABEL}={project}"))
}

/// Force-removes every container `docker ps` lists under `filter`; returns how many.
fn remove_matching(filter: &str) -> Result<usize> {
    let ids = docker(&["ps", "-aq", "--filter", filter])?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(&ids);
        docker(&args)?;
    }
    Ok(ids.len())
}

/// Removes every container and network labelled with compose project `project` (and its
/// renamed leftovers); returns how many containers there were.
pub fn purge_project(project: &str) -> Result<usize> {
    let leftovers = remove_leftovers(project)?;
    let filter = format!("label=com.docker.compose.project={project}");
    let containers = remove_matching(&filter)?;
    let nets = docker(&["network", "ls", "-q", "--filter", &filter])?;
    for net in nets.split_whitespace() {
        docker(&["network", "rm", net])?;
    }
    Ok(containers + leftovers)
}

impl Engine for DockerEngine {
    fn up(&mut self, env: &Env) -> Result<UpReport> {
        let fail = self.stack.fail_next_up();
        if fail.exists() {
            let _ = std::fs::remove_file(&fail);
            bail!(
                "Error response from daemon: container xmrig-proxy must be in Created or Stopped state (injected by fail-next-up)"
            );
        }
        let before = Self::by_service(&self.inspect()?);
        self.check_subnet(env.value("NETWORK_SUBNET"), !before.is_empty())?;
        self.compose_ok(
            env,
            env.value("COMPOSE_PROFILES"),
            &["up", "-d", "--remove-orphans"],
        )?;
        let after = Self::by_service(&self.inspect()?);
        let mut report = Self::changes(&before, &after, stack::SERVICES.iter().map(|(s, _)| *s));
        self.leftovers_of(&report.created)?;
        // Pithead's `depends_on: tor: restart: true`: Compose v1 cannot say it, so the
        // engine restarts monerod after a tor recreate (#972).
        let tor_recreated = report.recreated.iter().any(|s| s == "tor");
        let monerod_fresh = report
            .created
            .iter()
            .chain(&report.recreated)
            .any(|s| s == "monerod");
        if tor_recreated
            && !monerod_fresh
            && after.contains_key("monerod")
            && !self.faults.has(Fault::TorWithoutMonerodRestart)
        {
            self.compose_ok(env, ALL_PROFILES, &["restart", "-t", "3", "monerod"])?;
            report.started.retain(|s| s != "monerod");
            report.restarted.push("monerod".into());
        }
        self.await_ready()?;
        Ok(report)
    }

    fn up_services(&mut self, env: &Env, services: &[String]) -> Result<UpReport> {
        let before = Self::by_service(&self.inspect()?);
        let mut args = vec!["up", "-d"];
        args.extend(services.iter().map(String::as_str));
        self.compose_ok(env, env.value("COMPOSE_PROFILES"), &args)?;
        let after = Self::by_service(&self.inspect()?);
        let report = Self::changes(&before, &after, services.iter().map(String::as_str));
        self.leftovers_of(&report.created)?;
        self.await_ready()?;
        Ok(report)
    }

    fn remove(&mut self, services: &[String]) -> Result<()> {
        let present = self.select(services)?;
        if present.is_empty() {
            return Ok(());
        }
        if self.faults.has(Fault::RenamedLeftoverContainer) {
            // #2595: the removal is interrupted; the container turns up renamed when the
            // service is created again (see `leftovers_of`).
            let by_service = Self::by_service(&self.inspect()?);
            for s in &present {
                if let Some(c) = by_service.get(s) {
                    let dir = docker(&[
                        "inspect",
                        "-f",
                        "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}",
                        &c.id,
                    ])?;
                    std::fs::write(self.removed_file(s), format!("{}\n{}\n", c.id, dir.trim()))?;
                }
            }
        }
        // Pithead's `compose rm -sf` of the deactivated profiles' services (#795).
        self.lifecycle(&["rm", "-s", "-f"], &present)
    }

    fn restart(&mut self, services: &[String]) -> Result<Vec<String>> {
        let mut targets = self.select(services)?;
        if targets.is_empty() {
            return Ok(targets);
        }
        let existing = self.select(&[])?;
        if !self.faults.has(Fault::RestartTorStrandsMonerod)
            && targets.iter().any(|s| s == "tor")
            && !targets.iter().any(|s| s == "monerod")
            && existing.iter().any(|s| s == "monerod")
        {
            targets.push("monerod".into());
        }
        self.lifecycle(&["restart", "-t", "3"], &targets)?;
        self.await_ready()?;
        Ok(targets)
    }

    fn stop(&mut self, services: &[String]) -> Result<()> {
        self.lifecycle_present(&["stop", "-t", "3"], services)?;
        Ok(())
    }

    fn start(&mut self, services: &[String]) -> Result<()> {
        if self.lifecycle_present(&["start"], services)? {
            self.await_ready()?;
        }
        Ok(())
    }

    fn kill(&mut self, services: &[String], signal: i32) -> Result<()> {
        let targets = self.select(services)?;
        if targets.is_empty() {
            return Ok(());
        }
        let sig = signal.to_string();
        self.lifecycle(&["kill", "-s", &sig], &targets)
    }

    fn down(&mut self) -> Result<()> {
        let env = self.env_on_disk().unwrap_or_default();
        let down = ["down", "--remove-orphans", "-t", "3"];
        if let Err(e) = self.compose_ok(&env, ALL_PROFILES, &down) {
            // The engine now and then fails a stop under load ("did not receive an exit
            // event"); `down` is idempotent, so one more try says whether the stack is stuck.
            eprintln!("pithead: down failed once, trying again: {e:#}");
            std::thread::sleep(Duration::from_secs(1));
            self.compose_ok(&env, ALL_PROFILES, &down)?;
        }
        remove_leftovers(&self.docker.project)?;
        for (s, _) in stack::SERVICES {
            let _ = std::fs::remove_file(self.removed_file(s));
        }
        Ok(())
    }

    fn ps(&mut self) -> Result<Vec<PsLine>> {
        let containers = self.inspect()?;
        let this = &*self;
        Ok(ps_in_parallel(&containers, |c| {
            // Pithead's status reads Docker's healthcheck verdict; a daemon that does not
            // answer now (frozen, dead) is unhealthy at once.
            let health = (c.status == "running").then(|| {
                if this.healthy(c) {
                    c.health.clone().unwrap_or_else(|| "healthy".into())
                } else {
                    "unhealthy".into()
                }
            });
            PsLine {
                name: c.service.clone(),
                id: c.id.clone(),
                started: c.started.clone(),
                state: c.status.clone(),
                health,
            }
        }))
    }
}

/// Opens the docker engine, with a clear error when no Docker engine answers.
pub fn open(stack: &Stack) -> Result<DockerEngine> {
    DockerEngine::open(stack).map_err(|e| anyhow!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The services of the embedded compose file with the .env keys each one interpolates
    /// (`KEY: ${KEY}` lines).
    fn compose_keys() -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        let mut in_services = false;
        for line in COMPOSE_FILE.lines() {
            if line == "services:" {
                in_services = true;
                continue;
            }
            if !line.starts_with(' ') && !line.is_empty() {
                in_services = false;
            }
            if !in_services {
                continue;
            }
            if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
                && !name.starts_with(' ')
            {
                current = Some(name.to_string());
                out.entry(name.to_string()).or_default();
                continue;
            }
            let t = line.trim();
            if let (Some(svc), Some((key, value))) = (&current, t.split_once(": "))
                && value == format!("${{{key}}}")
            {
                out.get_mut(svc).expect("entered").push(key.to_string());
            }
        }
        out
    }

    #[test]
    fn the_compose_file_interpolates_exactly_the_keys_of_each_service() {
        let keys = compose_keys();
        let services: Vec<&str> = stack::SERVICES.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            keys.keys().map(String::as_str).collect::<Vec<_>>().len(),
            services.len(),
            "one compose service per Pithead service: {:?}",
            keys.keys()
        );
        for s in services {
            let mut want: Vec<String> = crate::engine::interpolated_keys(s)
                .iter()
                .map(|k| k.to_string())
                .collect();
            let mut got = keys.get(s).cloned().unwrap_or_default();
            want.sort();
            got.sort();
            assert_eq!(got, want, "the .env keys of {s}");
        }
    }

    #[test]
    fn the_compose_file_gives_each_optional_service_its_profile() {
        for (service, profile) in stack::SERVICES {
            let header = format!("  {service}:");
            let line = COMPOSE_FILE
                .lines()
                .skip_while(|l| *l != header)
                .skip(1)
                .take_while(|l| l.starts_with("    "))
                .find(|l| l.trim().starts_with("profiles:"));
            match profile {
                Some(p) => assert_eq!(
                    line.map(str::trim),
                    Some(format!("profiles: [{p}]").as_str()),
                    "{service}"
                ),
                None => assert_eq!(line, None, "{service} is always on"),
            }
        }
    }

    #[test]
    fn project_names_differ_per_dir_and_are_compose_safe() {
        let a = project_name(Path::new("/tmp/a"));
        let b = project_name(Path::new("/tmp/b"));
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
