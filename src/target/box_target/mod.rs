//! The box target: a stack directory holding a `pithead` CLI, `config.json` and `.env`,
//! reached through an [`Executor`] (a local shell or one SSH connection). The live box, the
//! fake box and the docker mini-stack all go through here with the same commands:
//!
//! - config.json is written atomically (temp file + rename, content on stdin);
//! - `<pithead> apply -y` runs in the stack directory with one pinned environment: the box's
//!   own zone in `TZ` ([`BoxTarget::tz`]) and `LC_ALL=C`. Pithead renders DASHBOARD_TZ from the
//!   caller's `TZ` when `dashboard.timezone` is auto, so an apply under any other zone would
//!   change it and recreate the dashboard;
//! - one observation is one round trip: a fixed script runs `status`, lists the containers,
//!   prints `.env` without its secret lines, fetches `/api/state` on the box, and hashes the
//!   sorted secret lines there, so the plaintext never crosses the wire.
//!
//! - operations ([`Target::act`]) use the box's own tools: `<pithead> restart|down|up|backup|
//!   restore`, and the compose verbs (`stop`, `start`, `kill -s SIGSTOP|SIGCONT`, `rm -sf`,
//!   `up -d`) through the compose invocation the box uses ([`BoxTargetOptions::compose`]);
//!   the proxy token is emptied and put back by a fixed script on the box, the original .env
//!   kept there in a 0600 side file ([`KEPT_ENV`]), so the token never crosses the wire.
//!   What each fault action owes (the start after a stop, the token after an emptying) is
//!   remembered until it is done, so the safety net can finish it after a dropped walk.
//!
//! Everything that leaves this module (command output, observations, artifacts) has passed
//! through the [`Redactor`]. To build it, the values of the secret .env keys are read on
//! [`BoxTarget::open`] (and again when the fingerprint shows they changed); they are kept in
//! memory only and never logged. config.json's secret leaves are learnt when canary reads or
//! writes the file.
//!
//! Known limits: a command that times out is abandoned, not killed on the box (over SSH the
//! remote process may keep running; locally only the `sh` wrapper is killed), because killing
//! an apply half-way is worse than letting it finish; the safety net's restore follows.

//!
//! The module is split by what it does: [`scripts`] (the shell run on the box), [`protocol`]
//! (their arguments and the parsers of their output), `actions` (operations and the
//! recoveries they owe), `readiness`, `artifacts`, and `keep` (the safety net's side files).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CommandResult, Observation, Target, TargetError};
use crate::exec::{ExecError, Executor, Local, Output, Ssh, SshOptions, split_words};
use crate::model::Action;
use crate::redact::{FINGERPRINT_KEYS, Redactor, SECRET_ENV_KEYS, is_secret_env_key, parse_env};

mod actions;
mod artifacts;
mod ask;
mod keep;
pub mod protocol;
mod readiness;
pub mod scripts;
mod stack_file;

pub use keep::ENV_ORIG;
use protocol::{
    INSPECT_TEMPLATE, alternation, compose_invocation, conn, deadline, parse_observation,
};
pub use protocol::{backup_archive, choose_zone, is_zone_name, parse_containers};
use scripts::{OBSERVE, PROBE, READ_SECRETS, READ_ZONE, RUN_PITHEAD, RUNS};

/// The zone used when the box gives none that looks like one (Pithead's own fallback).
pub const FALLBACK_TZ: &str = "Etc/UTC";

/// Where the box is.
#[derive(Debug, Clone)]
pub enum BoxKind {
    /// A stack directory on this machine (`--target local --dir D`).
    Local { dir: String },
    /// A stack directory on a host reached over SSH (`--target ssh --host user@host --dir D`).
    Ssh { host: String, dir: String },
}

/// How the container list is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerList {
    /// `docker compose ps -aq` piped to `docker inspect` (the real box and the mini-stack).
    DockerCompose,
    /// `<pithead> ps --format json` (the fake box).
    PitheadPs,
    /// A shell snippet of the operator's, run in the stack directory, printing one JSON object
    /// per container (name, id, started, state, health).
    Shell(String),
}

/// Everything needed to open a box target.
#[derive(Debug, Clone)]
pub struct BoxTargetOptions {
    pub kind: BoxKind,
    /// How the CLI is invoked, split on whitespace (`./pithead`, `sudo ./pithead`). Words
    /// before the last are also put in front of canary's own file reads and writes, so a
    /// root-owned config.json can be replaced.
    pub pithead: String,
    /// `None` picks per box: [`ContainerList::DockerCompose`] when the stack directory holds a
    /// compose file and `docker` is installed, else [`ContainerList::PitheadPs`].
    pub containers: Option<ContainerList>,
    /// The dashboard's state endpoint, fetched on the box.
    pub api_url: String,
    /// Deadline of one observation (status, containers, /api/state, fingerprint in one round
    /// trip) and of canary's reads and writes of config.json.
    pub command_timeout: Duration,
    /// Deadline of one `apply -y` (a real apply recreating containers can take minutes).
    pub apply_timeout: Duration,
    /// Deadline of one operation action (restart, down, up, backup, restore, a compose verb,
    /// the proxy token script).
    pub action_timeout: Duration,
    /// SSH settings beyond the host (config file, host keys, reconnects). The destination is
    /// taken from [`BoxKind::Ssh`].
    pub ssh: Option<SshOptions>,
    /// How the compose verbs of operations are invoked, split on whitespace, run in the
    /// stack directory (`docker compose`, `sudo docker-compose`, `./pithead compose` on a
    /// fake box). `None` follows the container list: `docker compose` (or `docker-compose`
    /// where only v1 is installed) with [`ContainerList::DockerCompose`], else the `compose`
    /// verb of the pithead CLI (the fake box's).
    pub compose: Option<String>,
}

impl BoxTargetOptions {
    /// Defaults for a box: `./pithead`, automatic container list, the dashboard on
    /// 127.0.0.1:8000, 60 s per command, 15 min per apply.
    pub fn new(kind: BoxKind) -> Self {
        BoxTargetOptions {
            kind,
            pithead: "./pithead".to_string(),
            containers: None,
            api_url: "http://127.0.0.1:8000/api/state".to_string(),
            command_timeout: Duration::from_secs(60),
            apply_timeout: Duration::from_secs(900),
            action_timeout: Duration::from_secs(900),
            ssh: None,
            compose: None,
        }
    }
}

/// What canary reads from the box besides the [`Observation`]: the raw text behind it,
/// redacted, for artifacts and journals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationText {
    /// `pithead status` output, redacted.
    pub status: String,
    /// The container list as the box printed it, redacted.
    pub containers: String,
}

/// A box reached through an executor.
#[derive(Debug)]
pub struct BoxTarget {
    exec: Executor,
    dir: String,
    /// The pithead invocation split into words.
    pithead: Vec<String>,
    /// Words put before canary's own `sh -c` scripts (`sudo`), from `pithead`.
    privilege: Vec<String>,
    containers: ContainerList,
    fetcher: &'static str,
    api_url: String,
    command_timeout: Duration,
    apply_timeout: Duration,
    action_timeout: Duration,
    redactor: Redactor,
    /// The fingerprint the redactor was last refreshed at: a change means new secret values.
    redactor_fingerprint: Option<String>,
    last_text: ObservationText,
    opened: Instant,
    facts: BTreeMap<String, String>,
    /// The compose invocation of operations, complete (privilege included).
    compose: Vec<String>,
    /// What the last backup operation printed as its archive (`None` before any).
    last_backup: Option<Option<String>>,
    /// The safety net's own backup, when one was taken.
    safety_archive: Option<String>,
    /// Recovery actions owed by fault actions already run, in the order they must run.
    owed: Vec<Action>,
    /// The zone every CLI call runs under (`TZ`): the box's own, see [`BoxTarget::tz`].
    tz: String,
}

/// The side file, in the stack directory, holding the exact .env while its proxy token is
/// emptied (mode 0600, never read by canary).
pub const KEPT_ENV: &str = ".env.canary-kept";

impl BoxTarget {
    /// Connects (for SSH), checks the stack directory, and builds the redactor from the box's
    /// secrets. Fails with what to install or fix when the box cannot be used.
    pub async fn open(opts: BoxTargetOptions) -> Result<Self, TargetError> {
        let (exec, dir) = match &opts.kind {
            BoxKind::Local { dir } => (Executor::Local(Local), dir.clone()),
            BoxKind::Ssh { host, dir } => {
                let mut so = opts
                    .ssh
                    .clone()
                    .unwrap_or_else(|| SshOptions::new(host.clone()));
                so.destination = host.clone();
                let ssh = Ssh::connect(so).await.map_err(conn)?;
                (Executor::Ssh(ssh), dir.clone())
            }
        };
        let pithead = split_words(&opts.pithead);
        if pithead.is_empty() {
            return Err(TargetError::Unusable(
                "--pithead is empty; give how the CLI is invoked, e.g. ./pithead".into(),
            ));
        }
        let privilege = pithead[..pithead.len() - 1].to_vec();
        let probe = exec
            .run_script(
                &[],
                PROBE,
                &[&dir, &pithead[pithead.len() - 1]],
                None,
                opts.command_timeout,
                true,
            )
            .await
            .map_err(conn)?;
        let facts: BTreeMap<String, String> = probe
            .stdout_text()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let fact = |k: &str| facts.get(k).map(String::as_str).unwrap_or("");
        let place = format!("{} on {}", dir, exec.host());
        if fact("dir") != "ok" {
            return Err(TargetError::Unusable(format!(
                "the stack directory {place} does not exist; pass the directory holding pithead, config.json and .env"
            )));
        }
        if fact("pithead") != "ok" {
            return Err(TargetError::Unusable(format!(
                "`{}` is not an executable in {place}; set --pithead to how the CLI is invoked",
                pithead[pithead.len() - 1]
            )));
        }
        if fact("config") == "ok" && fact("env") != "ok" && fact("env_copy") == "ok" {
            return Err(TargetError::Unusable(format!(
                "{place} has no .env, and a canary run kept a copy of it: put it back with \
                 `cp {dir}/{ENV_ORIG} {dir}/.env` (mode 0600; the run's restore advice says what \
                 else to do)"
            )));
        }
        if fact("config") != "ok" || fact("env") != "ok" {
            return Err(TargetError::Unusable(format!(
                "{place} lacks config.json or .env; deploy the stack (pithead setup) before testing it"
            )));
        }
        let fetcher = match fact("fetch") {
            "curl" => "curl",
            "python3" => "python3",
            _ => {
                return Err(TargetError::Unusable(format!(
                    "neither curl nor python3 is installed on {}; canary fetches /api/state on the box \
                     with one of them: install curl (apt-get install curl)",
                    exec.host()
                )));
            }
        };
        if fact("sha") == "none" {
            return Err(TargetError::Unusable(format!(
                "neither sha256sum nor python3 is installed on {}; the secret fingerprint is computed \
                 on the box: install coreutils",
                exec.host()
            )));
        }
        let containers = opts
            .containers
            .clone()
            .unwrap_or(if fact("containers") == "docker" {
                ContainerList::DockerCompose
            } else {
                ContainerList::PitheadPs
            });
        let compose = match &opts.compose {
            Some(line) => split_words(line),
            None => compose_invocation(&containers, fact("compose"), &privilege, &pithead),
        };
        if compose.is_empty() {
            return Err(TargetError::Unusable(
                "--compose is empty; give how compose is invoked, e.g. docker compose".into(),
            ));
        }
        let mut target = BoxTarget {
            exec,
            dir,
            pithead,
            privilege,
            containers,
            fetcher,
            api_url: opts.api_url.clone(),
            command_timeout: opts.command_timeout,
            apply_timeout: opts.apply_timeout,
            action_timeout: opts.action_timeout,
            redactor: Redactor::new(),
            redactor_fingerprint: None,
            last_text: ObservationText::default(),
            opened: Instant::now(),
            facts,
            compose,
            last_backup: None,
            safety_archive: None,
            owed: Vec::new(),
            tz: FALLBACK_TZ.to_string(),
        };
        target.refresh_redactor().await?;
        target.tz = target.read_zone().await?;
        target.check_cli_runs().await?;
        Ok(target)
    }

    /// Refuses a box whose CLI cannot be run (exit 126: not executable, 127: not found), which
    /// would otherwise fail every check of every step as if the stack had gone down.
    async fn check_cli_runs(&self) -> Result<(), TargetError> {
        let mut args: Vec<&str> = vec![&self.dir, &self.tz];
        args.extend(self.pithead.iter().map(String::as_str));
        let out = self.run_read(RUNS, &args).await.map_err(conn)?;
        let text = out.stdout_text();
        let mut lines = text.lines();
        let code = lines
            .next()
            .and_then(|l| l.strip_prefix("exit="))
            .and_then(|c| c.trim().parse::<i32>().ok());
        let why = match code {
            Some(126) => "exited 126: the CLI, or a program it runs, is not executable",
            Some(127) => "exited 127: the CLI, or a program it runs, was not found",
            _ => return Ok(()),
        };
        let said: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
        Err(TargetError::Unusable(format!(
            "`{} --help` in {} on {} {why}{}; make it executable (chmod +x) or set \
             --pithead to how the CLI is invoked. Nothing was changed on the box.",
            self.pithead.join(" "),
            self.dir,
            self.exec.host(),
            if said.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.redactor.redact(&said.join("; ")))
            }
        )))
    }

    /// The box's own zone, read on the box: DASHBOARD_TZ as last rendered in .env while
    /// `dashboard.timezone` is auto (what the box's own applies ran under), else the host's
    /// zone as Pithead detects it, else [`FALLBACK_TZ`].
    async fn read_zone(&self) -> Result<String, TargetError> {
        let out = self.run_read(READ_ZONE, &[&self.dir]).await.map_err(conn)?;
        let text = out.stdout_text();
        let fact = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
                .unwrap_or_default()
        };
        let auto = match self.read_config_raw().await? {
            Some(raw) => serde_json::from_slice::<Value>(&raw).is_ok_and(|v| {
                matches!(
                    v.pointer("/dashboard/timezone").and_then(Value::as_str),
                    None | Some("" | "auto")
                )
            }),
            None => true,
        };
        Ok(choose_zone(auto, &fact("env_tz"), &fact("host_tz")))
    }

    /// The zone every CLI call runs under (`TZ`), read from the box at [`BoxTarget::open`].
    pub fn tz(&self) -> &str {
        &self.tz
    }

    /// The deadline of every later CLI call that has no deadline of its own (observe,
    /// status): opening a box probes it under the deadline it was opened with.
    pub fn set_command_timeout(&mut self, timeout: Duration) {
        self.command_timeout = timeout;
    }

    /// Runs every later CLI call under `tz` (the zone recorded in a snapshot, so a resumed
    /// run and its restore use the zone the run started with). A value that is not a zone
    /// name is ignored.
    pub fn set_tz(&mut self, tz: &str) {
        if is_zone_name(tz) {
            self.tz = tz.to_string();
        }
    }

    /// The redactor built from the box's secrets; pass every line that leaves canary through it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The stack directory.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// The executor (for callers that need the host or the reconnect count).
    pub fn executor(&self) -> &Executor {
        &self.exec
    }

    /// How containers are listed on this box.
    pub fn container_list(&self) -> &ContainerList {
        &self.containers
    }

    /// The text behind the last observation, redacted.
    pub fn last_text(&self) -> &ObservationText {
        &self.last_text
    }

    /// Re-reads the secret values on the box (the .env secret lines and config.json) into the
    /// redactor. The values are kept in memory only, never logged.
    pub async fn refresh_redactor(&mut self) -> Result<(), TargetError> {
        let re = alternation(SECRET_ENV_KEYS);
        let out = self
            .run_read(READ_SECRETS, &[&self.dir, &re])
            .await
            .map_err(conn)?;
        self.redactor.add_env(&out.stdout_text());
        if let Some(raw) = self.read_config_raw().await?
            && let Ok(v) = serde_json::from_slice::<Value>(&raw)
        {
            self.redactor.add_config(&v);
        }
        Ok(())
    }

    /// Runs `<pithead> args...` in the stack directory under the pinned environment, output
    /// redacted. The lifecycle operations (restart, down, up, backup, restore) go through here.
    pub async fn pithead(
        &mut self,
        args: &[&str],
        timeout: Duration,
    ) -> Result<CommandResult, TargetError> {
        let out = self.run_pithead(args, timeout, false).await?;
        Ok(CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        })
    }

    /// Runs `argv` (a complete command: compose words or pithead words and arguments) in the
    /// stack directory under the pinned environment, output redacted.
    async fn run_in_dir(
        &self,
        argv: &[String],
        timeout: Duration,
        idempotent: bool,
    ) -> Result<CommandResult, TargetError> {
        let mut all: Vec<&str> = vec![&self.dir, &self.tz];
        all.extend(argv.iter().map(String::as_str));
        let out = self
            .exec
            .run_script(&[], RUN_PITHEAD, &all, None, timeout, idempotent)
            .await
            .map_err(deadline("deadline.action", || argv.join(" ")))?;
        Ok(CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        })
    }

    /// The pithead invocation as the operator gave it (`./pithead`, `sudo ./pithead`), for
    /// advice on finishing something by hand.
    pub fn pithead_command(&self) -> String {
        self.pithead.join(" ")
    }

    /// The timeout of one apply (also the safety net's rollback commands).
    pub fn apply_timeout(&self) -> Duration {
        self.apply_timeout
    }

    /// The safety net's backup archive, when one was taken (or reloaded on resume).
    pub fn safety_archive(&self) -> Option<&str> {
        self.safety_archive.as_deref()
    }

    /// Records the safety net's backup archive.
    pub fn set_safety_archive(&mut self, archive: Option<String>) {
        self.safety_archive = archive;
    }

    /// Runs a script that only reads the box (so it may be repeated after a dropped
    /// connection), with the box's privilege and the command timeout.
    async fn run_read(&self, script: &str, args: &[&str]) -> Result<Output, ExecError> {
        self.exec
            .run_script(
                &self.privilege,
                script,
                args,
                None,
                self.command_timeout,
                true,
            )
            .await
    }

    async fn run_pithead(
        &self,
        args: &[&str],
        timeout: Duration,
        idempotent: bool,
    ) -> Result<Output, TargetError> {
        let mut all: Vec<&str> = vec![&self.dir, &self.tz];
        all.extend(self.pithead.iter().map(String::as_str));
        all.extend(args);
        let check = if args.first() == Some(&"apply") {
            "deadline.apply"
        } else {
            "deadline.action"
        };
        self.exec
            .run_script(&[], RUN_PITHEAD, &all, None, timeout, idempotent)
            .await
            .map_err(deadline(check, || all[2..].join(" ")))
    }

    /// config.json exactly as it is on the box, or `None` when it is missing. Raw bytes: this
    /// is what the safety net restores, so it is never redacted and never written to reports.
    pub async fn read_config_raw(&self) -> Result<Option<Vec<u8>>, TargetError> {
        self.exec
            .read_file(
                &self.privilege,
                &self.dir,
                "config.json",
                self.command_timeout,
            )
            .await
            .map_err(deadline("deadline.observe", || {
                "reading config.json".into()
            }))
    }

    /// Replaces config.json with exactly these bytes, atomically.
    pub async fn write_config_raw(&mut self, bytes: &[u8]) -> Result<(), TargetError> {
        if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
            self.redactor.add_config(&v);
        }
        self.exec
            .write_file(
                &self.privilege,
                &self.dir,
                "config.json",
                bytes,
                self.command_timeout,
            )
            .await
            .map_err(deadline("deadline.observe", || {
                "writing config.json".into()
            }))
    }

    /// Writes config.json atomically and runs `<pithead> apply -y` in one round trip (the
    /// two-call path of the [`Target`] trait costs one more). A write that fails gives exit
    /// code 2 and "could not replace config.json" in the output, before apply runs.
    pub async fn apply_config(&mut self, config: &Value) -> Result<CommandResult, TargetError> {
        let mut bytes = serde_json::to_vec_pretty(config)
            .map_err(|e| TargetError::Other(format!("cannot serialise config.json: {e}")))?;
        bytes.push(b'\n');
        self.redactor.add_config(config);
        let mut args: Vec<&str> = vec![&self.dir, "config.json", &self.tz];
        args.extend(self.pithead.iter().map(String::as_str));
        args.extend(["apply", "-y"]);
        let out = self
            .exec
            .run_script(
                &self.privilege,
                crate::exec::WRITE_FILE_THEN_RUN,
                &args,
                Some(bytes),
                self.apply_timeout,
                false,
            )
            .await
            .map_err(deadline("deadline.apply", || {
                format!("{} apply -y", self.pithead.join(" "))
            }))?;
        Ok(CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        })
    }

    /// One observation plus the raw text behind it (redacted).
    pub async fn observe_full(&mut self) -> Result<(Observation, ObservationText), TargetError> {
        let (mode, snippet) = match &self.containers {
            ContainerList::DockerCompose => ("docker", ""),
            ContainerList::PitheadPs => ("pithead", ""),
            ContainerList::Shell(s) => ("shell", s.as_str()),
        };
        let secret_re = alternation(SECRET_ENV_KEYS);
        let fp_re = alternation(FINGERPRINT_KEYS);
        let mut args: Vec<&str> = vec![
            &self.dir,
            mode,
            snippet,
            &self.api_url,
            self.fetcher,
            INSPECT_TEMPLATE,
            &secret_re,
            &fp_re,
            &self.tz,
        ];
        args.extend(self.pithead.iter().map(String::as_str));
        let out =
            self.run_read(OBSERVE, &args)
                .await
                .map_err(deadline("deadline.observe", || {
                    format!(
                        "the observation ({} status, the container list, /api/state)",
                        self.pithead.join(" ")
                    )
                }))?;
        let text = out.stdout_text();
        let parsed = parse_observation(&text).ok_or_else(|| {
            TargetError::Other(format!(
                "the observation script on {} gave no usable output (exit {}): {}",
                self.exec.host(),
                out.code,
                self.redactor.redact(out.combined_text().trim())
            ))
        })?;
        if self.redactor_fingerprint.as_deref() != Some(parsed.fingerprint.as_str()) {
            // New secret values on the box (a minted token, a provisioned onion): learn them
            // before anything of this observation leaves.
            if self.redactor_fingerprint.is_some() {
                self.refresh_redactor().await?;
            }
            self.redactor_fingerprint = Some(parsed.fingerprint.clone());
        }
        let r = &self.redactor;
        let obs = Observation {
            status_exit: parsed.status_exit,
            containers: parse_containers(&parsed.containers),
            env: std::sync::Arc::new(
                parse_env(&parsed.env)
                    .into_iter()
                    .filter(|(k, _)| !is_secret_env_key(k))
                    .map(|(k, v)| (k, r.redact(&v)))
                    .collect(),
            ),
            api: std::sync::Arc::new(
                serde_json::from_str::<Value>(parsed.api.trim())
                    .map(|v| r.redact_json(&v))
                    .unwrap_or(Value::Null),
            ),
            secret_fingerprint: parsed.fingerprint,
        };
        let text = ObservationText {
            status: r.redact(&parsed.status),
            containers: r.redact(&parsed.containers),
        };
        self.last_text = text.clone();
        Ok((obs, text))
    }
}

impl Target for BoxTarget {
    fn name(&self) -> &str {
        self.exec.kind()
    }

    fn describe(&self) -> BTreeMap<String, String> {
        let mut d = BTreeMap::new();
        d.insert("executor".into(), self.exec.kind().into());
        d.insert("host".into(), self.exec.host());
        d.insert("dir".into(), self.dir.clone());
        d.insert("pithead".into(), self.pithead.join(" "));
        d.insert("compose".into(), self.compose.join(" "));
        d.insert("tz".into(), self.tz.clone());
        d.insert(
            "containers".into(),
            match &self.containers {
                ContainerList::DockerCompose => "docker compose".into(),
                ContainerList::PitheadPs => "pithead ps".into(),
                ContainerList::Shell(s) => s.clone(),
            },
        );
        for key in ["uname", "compose_version", "pithead_rev"] {
            if let Some(v) = self.facts.get(key).filter(|v| !v.trim().is_empty()) {
                d.insert(key.into(), v.trim().to_string());
            }
        }
        d
    }

    async fn read_config(&mut self) -> Result<Value, TargetError> {
        let raw = self.read_config_raw().await?.ok_or_else(|| {
            TargetError::Unusable(format!(
                "config.json is missing in {} on {}",
                self.dir,
                self.exec.host()
            ))
        })?;
        serde_json::from_slice(&raw)
            .map_err(|e| TargetError::Unusable(format!("config.json on the box is not JSON: {e}")))
    }

    async fn write_config(&mut self, config: &Value) -> Result<(), TargetError> {
        let mut bytes = serde_json::to_vec_pretty(config)
            .map_err(|e| TargetError::Other(format!("cannot serialise config.json: {e}")))?;
        bytes.push(b'\n');
        self.write_config_raw(&bytes).await
    }

    async fn apply(&mut self) -> Result<CommandResult, TargetError> {
        let out = self
            .run_pithead(&["apply", "-y"], self.apply_timeout, false)
            .await?;
        Ok(CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        })
    }

    async fn observe(&mut self) -> Result<Observation, TargetError> {
        Ok(self.observe_full().await?.0)
    }

    async fn wait(&mut self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn elapsed(&self) -> Duration {
        self.opened.elapsed()
    }

    async fn act(&mut self, action: &Action) -> Result<CommandResult, TargetError> {
        self.perform(action).await
    }
}
