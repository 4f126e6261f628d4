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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CommandResult, ContainerState, Observation, Target, TargetError};
use crate::exec::{ExecError, Executor, Local, Output, Ssh, SshOptions, split_words};
use crate::model::Action;
use crate::redact::{FINGERPRINT_KEYS, Redactor, SECRET_ENV_KEYS, is_secret_env_key, parse_env};

mod ask;
mod keep;
mod stack_file;
pub use keep::ENV_ORIG;

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

/// Script arguments: `$1` dir, `$2` the zone for `TZ`, then the pithead words and its
/// arguments.
const RUN_PITHEAD: &str = r#"cd "$1" || { echo "canary: no such stack directory: $1" >&2; exit 2; }
export TZ="$2" LC_ALL=C
shift 2
exec "$@" </dev/null"#;

/// `$1` dir. The box's zone as an apply would see it: DASHBOARD_TZ as last rendered in .env
/// (`env_tz=`), and the host's own zone the way Pithead's `detect_host_timezone` finds it
/// (`host_tz=`: `TZ`, timedatectl, /etc/timezone, the /etc/localtime link).
const READ_ZONE: &str = r#"cd "$1" || exit 2
[ -f .env ] && echo "env_tz=$(sed -n -E 's/^(export )?DASHBOARD_TZ=//p' .env | tail -n 1)"
tz=${TZ:-}
if [ -z "$tz" ] && command -v timedatectl >/dev/null 2>&1; then tz=$(timedatectl show -p Timezone --value 2>/dev/null); fi
if [ -z "$tz" ] && [ -r /etc/timezone ]; then tz=$(head -n 1 /etc/timezone 2>/dev/null); fi
if [ -z "$tz" ] && [ -L /etc/localtime ]; then
  l=$(readlink /etc/localtime 2>/dev/null)
  case $l in */zoneinfo/*) tz=${l##*/zoneinfo/} ;; esac
fi
echo "host_tz=$tz"
exit 0"#;

/// `$1` dir, `$2` the pithead command (first word). Prints `key=value` facts.
const PROBE: &str = r#"if ! cd "$1" 2>/dev/null; then echo "dir=missing"; exit 0; fi
echo "dir=ok"
if [ -x "$2" ] || command -v "$2" >/dev/null 2>&1; then echo "pithead=ok"; else echo "pithead=missing"; fi
[ -f config.json ] && echo "config=ok" || echo "config=missing"
[ -f .env ] && echo "env=ok" || echo "env=missing"
[ -f .env.canary-orig ] && echo "env_copy=ok"
if command -v curl >/dev/null 2>&1; then echo "fetch=curl"; elif command -v python3 >/dev/null 2>&1; then echo "fetch=python3"; else echo "fetch=none"; fi
if command -v sha256sum >/dev/null 2>&1; then echo "sha=ok"; elif command -v python3 >/dev/null 2>&1; then echo "sha=python3"; else echo "sha=none"; fi
if docker compose version >/dev/null 2>&1; then echo "compose=v2"; echo "compose_version=v2 $(docker compose version --short 2>/dev/null)"; elif command -v docker-compose >/dev/null 2>&1; then echo "compose=v1"; echo "compose_version=v1 $(docker-compose version --short 2>/dev/null)"; else echo "compose=none"; fi
rev=$(git -C . rev-parse --short HEAD 2>/dev/null) && echo "pithead_rev=git $rev"
if command -v docker >/dev/null 2>&1 && { [ -f docker-compose.yml ] || [ -f compose.yaml ] || [ -f docker-compose.yaml ] || [ -f compose.yml ]; }; then echo "containers=docker"; else echo "containers=pithead"; fi
echo "uname=$(uname -srm 2>/dev/null)"
echo "realdir=$(pwd -P)"
echo "hostname=$(uname -n 2>/dev/null)""#;

/// Runs the CLI once, harmlessly (`--help`), to learn whether it can be run at all: the
/// probe's `-x` sees only the last word of `--pithead`, not a wrapper or a privilege prefix.
/// `$1` dir, `$2` the zone for `TZ`, then the pithead words. Prints the exit code, then the
/// shell's first words.
const RUNS: &str = r#"cd "$1" || exit 0
export TZ="$2" LC_ALL=C
shift 2
err=$("$@" --help </dev/null 2>&1 >/dev/null)
echo "exit=$?"
printf '%s\n' "$err" | head -n 2"#;

/// One observation in one round trip. `$1` dir, `$2` container mode, `$3` shell snippet,
/// `$4` API URL, `$5` fetcher, `$6` inspect template, `$7` secret-key regex, `$8`
/// fingerprint-key regex, `$9` the zone for `TZ`, then the pithead words.
const OBSERVE: &str = r#"cd "$1" || { echo "canary: no such stack directory: $1" >&2; exit 2; }
mode=$2 snippet=$3 url=$4 fetch=$5 tpl=$6 secret_re=$7 fp_re=$8 zone=$9
shift 9
export TZ="$zone" LC_ALL=C
echo "@@canary:status@@"
"$@" status </dev/null 2>&1
echo "@@canary:status-exit=$?@@"
echo "@@canary:containers@@"
case $mode in
  docker)
    # Compose labels every container with the directory it was brought up from, whatever
    # the project name; the physical and the logical path both count (a symlinked $PWD, #695).
    ids=$( { docker ps -aq --filter "label=com.docker.compose.project.working_dir=$(pwd -P)"; docker ps -aq --filter "label=com.docker.compose.project.working_dir=$PWD"; } 2>/dev/null | sort -u)
    if [ -z "$ids" ]; then
      if docker compose version >/dev/null 2>&1; then ids=$(docker compose ps -aq 2>/dev/null); else ids=$(docker-compose ps -q 2>/dev/null); fi
    fi
    [ -n "$ids" ] && docker inspect --format "$tpl" $ids 2>/dev/null ;;
  pithead) "$@" ps --format json </dev/null 2>/dev/null ;;
  shell) sh -c "$snippet" </dev/null 2>/dev/null ;;
esac
echo
echo "@@canary:env@@"
[ -f .env ] && grep -vE "^(export )?($secret_re)=" .env
echo "@@canary:api@@"
case $fetch in
  curl) curl -s --max-time 5 "$url" ;;
  python3) python3 -c 'import sys,urllib.request
try: sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except Exception: pass' "$url" ;;
esac
echo
echo "@@canary:fingerprint@@"
if [ -f .env ]; then
  if command -v sha256sum >/dev/null 2>&1; then grep -E "^($fp_re)=" .env | LC_ALL=C sort | sha256sum | cut -d' ' -f1
  else grep -E "^($fp_re)=" .env | LC_ALL=C sort | python3 -c 'import sys,hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'; fi
fi
echo "@@canary:end@@""#;

/// `$1` dir, `$2` secret-key regex: the secret lines of .env, read only to build the redactor.
const READ_SECRETS: &str = r#"cd "$1" || exit 2
[ -f .env ] || exit 0
grep -E "^(export )?($2)=" .env
exit 0"#;

/// `$1` dir, `$2` secret-key regex: .env with secret values masked before they leave the box.
const READ_ENV_MASKED: &str = r#"cd "$1" || exit 2
[ -f .env ] || exit 0
sed -E "s/^((export )?($2))=.*/\1=<redacted>/" .env"#;

/// `$1` dir, `$2` container mode, `$3` the zone for `TZ`, then the pithead words: recent
/// logs, best effort.
const LOGS: &str = r#"cd "$1" || exit 2
mode=$2; export TZ="$3" LC_ALL=C; shift 3
if [ "$mode" = docker ]; then
  if docker compose version >/dev/null 2>&1; then docker compose logs --no-color --tail 200 2>&1; else docker-compose logs --no-color --tail 200 2>&1; fi
else
  "$@" logs --tail 200 </dev/null 2>&1
fi
exit 0"#;

/// `$1` dir, `$2` the side file: keeps the exact .env in the side file (0600), then empties
/// the PROXY_AUTH_TOKEN value in .env in place of a copy that keeps its mode and owner.
/// Refuses (exit 3) while a side file exists: an earlier emptying was never put back.
const EMPTY_TOKEN: &str = r#"cd "$1" || exit 2
kept=$2
if [ -e "$kept" ]; then echo "canary: $kept exists: an earlier run emptied PROXY_AUTH_TOKEN and did not put it back; put it back first (mv $kept .env)" >&2; exit 3; fi
grep -qE '^(export )?PROXY_AUTH_TOKEN=' .env || { echo "canary: .env has no PROXY_AUTH_TOKEN line" >&2; exit 4; }
umask 077
{ cp -p .env "$kept.tmp" && chmod 600 "$kept.tmp" && mv -f "$kept.tmp" "$kept"; } || { rm -f "$kept.tmp"; exit 2; }
{ cp -p .env .env.canary-tmp && sed -E 's/^((export )?PROXY_AUTH_TOKEN)=.*/\1=/' "$kept" > .env.canary-tmp && mv -f .env.canary-tmp .env; } || { rm -f .env.canary-tmp; exit 2; }
echo "PROXY_AUTH_TOKEN emptied in .env (the original kept on the box as $kept)""#;

/// `$1` dir, `$2` the side file: puts the exact .env back (content from the side file, mode
/// and owner of the .env in place), then removes the side file. Exit 3 when there is none.
const RESTORE_TOKEN: &str = r#"cd "$1" || exit 2
kept=$2
[ -f "$kept" ] || { echo "canary: no $kept to put back" >&2; exit 3; }
{ cp -p .env .env.canary-tmp 2>/dev/null || cp -p "$kept" .env.canary-tmp; } || exit 2
{ cat "$kept" > .env.canary-tmp && mv -f .env.canary-tmp .env && rm -f "$kept"; } || { rm -f .env.canary-tmp; exit 2; }
echo "PROXY_AUTH_TOKEN put back in .env""#;

/// docker inspect template giving one JSON object per container.
// The whole `.State` object, not `.State.Health.Status`: on Docker 20.10 a template that
// touches `.State.Health` fails outright for a container without a healthcheck.
const INSPECT_TEMPLATE: &str = r#"{"name":{{json (index .Config.Labels "com.docker.compose.service")}},"container":{{json .Name}},"id":{{json .Id}},"docker_state":{{json .State}}}"#;

/// The zone for `TZ`: with `dashboard.timezone` on auto, the DASHBOARD_TZ the box's last
/// apply rendered (its applies ran under that zone); else the host's zone; else
/// [`FALLBACK_TZ`]. Values that are not zone names are passed over.
pub fn choose_zone(auto: bool, env_tz: &str, host_tz: &str) -> String {
    [(auto, env_tz), (true, host_tz)]
        .into_iter()
        .find(|(usable, z)| *usable && is_zone_name(z))
        .map_or_else(|| FALLBACK_TZ.to_string(), |(_, z)| z.to_string())
}

/// Pithead's shape check of a zone name (`Area/City`, `UTC`, `Etc/GMT+5`).
pub fn is_zone_name(tz: &str) -> bool {
    !tz.is_empty()
        && tz.len() <= 64
        && tz.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        })
}

fn alternation(keys: &[&str]) -> String {
    keys.join("|")
}

/// The compose invocation that goes with the container list: Docker's own compose (v2, else
/// v1) where containers are read from Docker, else the pithead CLI's `compose` verb (the fake
/// box plays Compose itself).
fn compose_invocation(
    containers: &ContainerList,
    compose: &str,
    privilege: &[String],
    pithead: &[String],
) -> Vec<String> {
    let mut argv = privilege.to_vec();
    match (containers, compose) {
        (ContainerList::DockerCompose, "v1") => argv.push("docker-compose".into()),
        (ContainerList::DockerCompose, _) => argv.extend(["docker".into(), "compose".into()]),
        _ => {
            argv = pithead.to_vec();
            argv.push("compose".into());
        }
    }
    argv
}

/// What a fault action leaves owed: the recovery that undoes it, in order.
fn owed_by(action: &Action) -> Vec<Action> {
    match action {
        Action::Stop(s) => vec![Action::Start(s.clone())],
        Action::Freeze(s) => vec![Action::Thaw(s.clone())],
        Action::Remove(s) => vec![Action::UpService(s.clone())],
        Action::Down => vec![Action::Up],
        Action::EmptyProxyToken => vec![Action::RestoreProxyToken, Action::Up],
        _ => Vec::new(),
    }
}

/// The archive a `pithead backup` printed (`backups/pithead-backup-<stamp>.tar.gz[.enc]`,
/// maybe with a directory and quotes around it): the last word that names one.
pub fn backup_archive(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .map(|w| {
            w.trim_start_matches(|c: char| "'\"`([<".contains(c))
                .trim_end_matches(|c: char| "'\"`,;:.)]>".contains(c))
        })
        .rfind(|w| {
            let name = w.rsplit('/').next().unwrap_or(w);
            name.starts_with("pithead-backup-")
                && (name.ends_with(".tar.gz") || name.ends_with(".tar.gz.enc"))
        })
        .map(str::to_string)
}

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
        let out = self
            .exec
            .run_script(
                &self.privilege,
                RUNS,
                &args,
                None,
                self.command_timeout,
                true,
            )
            .await
            .map_err(conn)?;
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
        let out = self
            .exec
            .run_script(
                &self.privilege,
                READ_ZONE,
                &[&self.dir],
                None,
                self.command_timeout,
                true,
            )
            .await
            .map_err(conn)?;
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
            .exec
            .run_script(
                &self.privilege,
                READ_SECRETS,
                &[&self.dir, &re],
                None,
                self.command_timeout,
                true,
            )
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

    /// `<compose> args...` in the stack directory.
    async fn compose(&self, args: &[&str]) -> Result<CommandResult, TargetError> {
        let mut argv = self.compose.clone();
        argv.extend(args.iter().map(|a| a.to_string()));
        // Stopping, starting and signalling a service again is harmless: retried after a
        // dropped connection, so a recovery is not lost to one.
        self.run_in_dir(&argv, self.action_timeout, true).await
    }

    /// One of canary's fixed scripts on the proxy token, with the side file's name.
    async fn token_script(&self, script: &str) -> Result<CommandResult, TargetError> {
        let out = self
            .exec
            .run_script(
                &self.privilege,
                script,
                &[&self.dir, KEPT_ENV],
                None,
                self.action_timeout,
                script == RESTORE_TOKEN,
            )
            .await
            .map_err(deadline("deadline.action", || {
                "canary's proxy token script".into()
            }))?;
        Ok(CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        })
    }

    /// `pithead backup -y --no-encrypt` (never `--with-chains`: the chains stay out of every
    /// backup canary takes); the archive it printed, when it printed one.
    pub async fn backup(&mut self) -> Result<(CommandResult, Option<String>), TargetError> {
        let out = self
            .run_pithead(
                &["backup", "-y", "--no-encrypt"],
                self.action_timeout,
                false,
            )
            .await?;
        let archive = (out.code == 0)
            .then(|| backup_archive(&out.combined_text()))
            .flatten();
        let result = CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        };
        Ok((result, archive))
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

    /// Recovery actions owed by fault actions that ran (a stopped service's start, an emptied
    /// token's restore), in the order they must run.
    pub fn owed(&self) -> &[Action] {
        &self.owed
    }

    /// Runs every owed recovery action, in order, once each (a failing one is reported, not
    /// retried). For the safety net, after a walk that was dropped half-way.
    pub async fn settle_owed(&mut self) -> Vec<(Action, Result<CommandResult, TargetError>)> {
        let mut done = Vec::new();
        while let Some(action) = self.owed.first().cloned() {
            let result = self.act(&action).await;
            if self.owed.first() == Some(&action) {
                self.owed.remove(0);
            }
            done.push((action, result));
        }
        done
    }

    /// Puts back the .env a token emptying kept ([`KEPT_ENV`]), if one is on the box:
    /// `Ok(true)` when there was one. For the safety net, before anything else.
    pub async fn restore_kept_env(&mut self) -> Result<bool, TargetError> {
        let r = self.token_script(RESTORE_TOKEN).await?;
        match r.exit_code {
            0 => {
                self.owed.retain(|a| *a != Action::RestoreProxyToken);
                Ok(true)
            }
            3 => Ok(false),
            code => Err(TargetError::Other(format!(
                "could not put .env back from {KEPT_ENV} (exit {code}): {}",
                r.output.trim()
            ))),
        }
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
        let out = self
            .exec
            .run_script(
                &self.privilege,
                OBSERVE,
                &args,
                None,
                self.command_timeout,
                true,
            )
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

    /// Polls until `pithead status` exits 0 and no running container is restarting, unhealthy
    /// or starting ([`not_ready`]), or `timeout` passes. Returns the time it took (the step's
    /// time-to-ready) and the last observation; `Err` on timeout says what was still not ready.
    pub async fn wait_ready(
        &mut self,
        timeout: Duration,
        poll: Duration,
    ) -> Result<(Duration, Observation), TargetError> {
        self.wait_until(timeout, poll, not_ready).await
    }

    /// Polls observations until `pending` finds nothing left to wait for, or `timeout` passes,
    /// every `poll`, through canary's one polling loop ([`super::poll_until`]).
    pub async fn wait_until(
        &mut self,
        timeout: Duration,
        poll: Duration,
        pending: impl Fn(&Observation) -> Vec<String>,
    ) -> Result<(Duration, Observation), TargetError> {
        let (obs, held, waited, _) =
            super::poll_until(self, timeout, poll, poll, |o, _, _| pending(o).is_empty()).await?;
        if held {
            return Ok((waited, obs));
        }
        Err(TargetError::Other(format!(
            "the box was not ready after {timeout:?}: {}",
            pending(&obs).join("; ")
        )))
    }

    /// Asserts the box's current state without changing anything (`--check`): status exits 0,
    /// every container runs and is not unhealthy, /api/state answers, the fingerprint can be
    /// computed. Returns the observation and the problems found (empty when healthy).
    pub async fn check_only(&mut self) -> Result<(Observation, Vec<String>), TargetError> {
        let (obs, _) = self.observe_full().await?;
        let mut problems = not_ready(&obs);
        for c in &obs.containers {
            if c.state != "running" && c.state != "restarting" {
                problems.push(format!("{} is {}", c.name, c.state));
            }
        }
        if obs.api.is_null() {
            problems.push(format!("{} did not answer with JSON", self.api_url));
        }
        if obs.secret_fingerprint.len() != 64 {
            problems.push("the secret fingerprint could not be computed on the box".into());
        }
        Ok((obs, problems))
    }

    /// Writes the failure artifacts of step `step` under `<run_dir>/artifacts/step-<step>/`:
    /// container list, status, doctor, config.json (masked), .env (redacted), /api/state and
    /// recent logs, all redacted. Best effort per file: a file that cannot be read says why.
    pub async fn capture_artifacts(
        &mut self,
        step: u64,
        run_dir: &Path,
    ) -> Result<PathBuf, TargetError> {
        let dir = run_dir.join("artifacts").join(format!("step-{step}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| TargetError::Other(format!("cannot create {}: {e}", dir.display())))?;
        let mut files: Vec<(&str, String)> = Vec::new();
        match self.observe_full().await {
            Ok((obs, text)) => {
                files.push((
                    "status.txt",
                    format!("{}\n[exit {}]\n", text.status, obs.status_exit),
                ));
                files.push(("containers.txt", text.containers));
                files.push((
                    "containers.json",
                    serde_json::to_string_pretty(&obs.containers).unwrap_or_default(),
                ));
                files.push((
                    "api-state.json",
                    serde_json::to_string_pretty(&obs.api).unwrap_or_default(),
                ));
                files.push(("fingerprint.txt", obs.secret_fingerprint));
            }
            Err(e) => files.push(("observe-error.txt", e.to_string())),
        }
        let doctor = self
            .run_pithead(&["doctor"], self.command_timeout, true)
            .await;
        files.push((
            "doctor.txt",
            match doctor {
                Ok(o) => format!("{}\n[exit {}]\n", o.combined_text(), o.code),
                Err(e) => e.to_string(),
            },
        ));
        files.push((
            "config.json",
            match self.read_config_raw().await {
                Ok(Some(raw)) => match serde_json::from_slice::<Value>(&raw) {
                    Ok(v) => serde_json::to_string_pretty(&self.redactor.redact_json(&v))
                        .unwrap_or_default(),
                    Err(e) => format!("config.json is not JSON ({e}); not copied"),
                },
                Ok(None) => "config.json is missing".into(),
                Err(e) => e.to_string(),
            },
        ));
        let re = alternation(SECRET_ENV_KEYS);
        files.push((
            "env.txt",
            match self
                .exec
                .run_script(
                    &self.privilege,
                    READ_ENV_MASKED,
                    &[&self.dir, &re],
                    None,
                    self.command_timeout,
                    true,
                )
                .await
            {
                Ok(o) => o.stdout_text(),
                Err(e) => e.to_string(),
            },
        ));
        let mode = if self.containers == ContainerList::DockerCompose {
            "docker"
        } else {
            "pithead"
        };
        let mut args: Vec<&str> = vec![&self.dir, mode, &self.tz];
        args.extend(self.pithead.iter().map(String::as_str));
        files.push((
            "logs.txt",
            match self
                .exec
                .run_script(
                    &self.privilege,
                    LOGS,
                    &args,
                    None,
                    self.command_timeout,
                    true,
                )
                .await
            {
                Ok(o) => o.stdout_text(),
                Err(e) => e.to_string(),
            },
        ));
        for (name, content) in files {
            // Everything is redacted here, whatever was done upstream: the last net.
            let content = self.redactor.redact(&content);
            std::fs::write(dir.join(name), content).map_err(|e| {
                TargetError::Other(format!("cannot write {}: {e}", dir.join(name).display()))
            })?;
        }
        Ok(dir)
    }
}

/// What keeps an observation from counting as healthy (the safety net's and `--check`'s
/// rule): the oracle's [`crate::oracle::settle::not_healthy`].
pub fn not_ready(obs: &Observation) -> Vec<String> {
    crate::oracle::settle::not_healthy(obs)
}

/// Maps an executor error: a timeout becomes [`TargetError::Timeout`] naming the real command
/// (never the `sh` wrapper) and the verdict it is; anything else as [`conn`].
fn deadline(
    check: &'static str,
    command: impl FnOnce() -> String,
) -> impl FnOnce(ExecError) -> TargetError {
    move |e| match e {
        ExecError::Timeout { timeout, .. } => TargetError::Timeout {
            check,
            command: command(),
            after: timeout,
        },
        other => conn(other),
    }
}

fn conn(e: ExecError) -> TargetError {
    match e {
        ExecError::Disconnected { .. } => TargetError::Connection(e.to_string()),
        other => TargetError::Other(other.to_string()),
    }
}

struct RawObservation {
    status: String,
    status_exit: i32,
    containers: String,
    env: String,
    api: String,
    fingerprint: String,
}

/// Splits the observe script's output into its sections. `None` when the end marker is
/// missing (the script was cut short).
fn parse_observation(text: &str) -> Option<RawObservation> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current: Option<&str> = None;
    let mut status_exit = None;
    let mut ended = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if let Some(rest) = bare
            .strip_prefix("@@canary:")
            .and_then(|r| r.strip_suffix("@@"))
        {
            if let Some(code) = rest.strip_prefix("status-exit=") {
                status_exit = code.parse().ok();
                current = None;
                continue;
            }
            if rest == "end" {
                ended = true;
                break;
            }
            current = Some(match rest {
                "status" => "status",
                "containers" => "containers",
                "env" => "env",
                "api" => "api",
                "fingerprint" => "fingerprint",
                _ => continue,
            });
            continue;
        }
        if let Some(c) = current {
            sections.entry(c).or_default().push_str(line);
        }
    }
    if !ended {
        return None;
    }
    let mut take = |k: &str| sections.remove(k).unwrap_or_default();
    Some(RawObservation {
        status: take("status"),
        status_exit: status_exit?,
        containers: take("containers"),
        env: take("env"),
        api: take("api"),
        fingerprint: take("fingerprint").trim().to_string(),
    })
}

/// Parses a container list: one JSON object per line, or one JSON array. Field names are
/// accepted in the docker and lowercase spellings (`Name`/`name`/`Service`, `ID`/`id`,
/// `StartedAt`/`started`, `State`/`state`, `Health`/`health`).
pub fn parse_containers(text: &str) -> Vec<ContainerState> {
    let trimmed = text.trim();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<Value>>(trimmed).unwrap_or_default()
    } else {
        trimmed
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .collect()
    };
    let mut out: Vec<ContainerState> = values.iter().filter_map(container_from).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    out
}

fn container_from(v: &Value) -> Option<ContainerState> {
    let o = v.as_object()?;
    let field = |names: &[&str]| -> Option<String> {
        names.iter().find_map(|n| match o.get(*n) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(x)) => Some(x.to_string()),
            _ => None,
        })
    };
    let name = field(&["name", "service", "Service", "Name", "container"])?
        .trim_start_matches('/')
        .to_string();
    let id = field(&["id", "ID", "Id"]).unwrap_or_default();
    if let Some(st) = o.get("docker_state").and_then(Value::as_object) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let health = text(st.get("Health").and_then(|h| h.get("Status")));
        return Some(ContainerState {
            name,
            id,
            started: text(st.get("StartedAt")),
            state: text(st.get("Status")).to_ascii_lowercase(),
            health: (!health.is_empty() && health != "none").then_some(health),
        });
    }
    let health = field(&["health", "Health"]).filter(|h| !h.is_empty() && h != "none");
    Some(ContainerState {
        name,
        id,
        started: field(&["started", "StartedAt", "started_at"]).unwrap_or_default(),
        state: field(&["state", "State", "status", "Status"])
            .unwrap_or_default()
            .to_ascii_lowercase(),
        health,
    })
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
        // Owed before it runs: a command cut short may still have done its part.
        let owed = owed_by(action);
        self.owed.splice(0..0, owed);
        let t = self.action_timeout;
        let result = match action {
            Action::Restart { service } => {
                let mut args = vec!["restart"];
                args.extend(service.as_deref());
                self.pithead(&args, t).await?
            }
            Action::Down => self.pithead(&["down"], t).await?,
            Action::Up => self.pithead(&["up"], t).await?,
            Action::Backup => {
                let (result, archive) = self.backup().await?;
                if result.exit_code == 0 {
                    self.last_backup = Some(archive);
                }
                result
            }
            Action::Restore => match self.last_backup.clone() {
                None => {
                    return Err(TargetError::Unusable(
                        "a restore needs a backup earlier in the walk, and none was taken".into(),
                    ));
                }
                Some(None) => CommandResult {
                    exit_code: 2,
                    output: "canary: the last `pithead backup` printed no archive                              (backups/pithead-backup-*.tar.gz) to restore"
                        .into(),
                },
                Some(Some(archive)) => self.pithead(&["restore", "-y", &archive], t).await?,
            },
            Action::Stop(s) => self.compose(&["stop", s]).await?,
            Action::Start(s) => self.compose(&["start", s]).await?,
            Action::Freeze(s) => self.compose(&["kill", "-s", "SIGSTOP", s]).await?,
            Action::Thaw(s) => self.compose(&["kill", "-s", "SIGCONT", s]).await?,
            Action::Remove(s) => self.compose(&["rm", "-sf", s]).await?,
            Action::UpService(s) => self.compose(&["up", "-d", s]).await?,
            Action::EmptyProxyToken => self.token_script(EMPTY_TOKEN).await?,
            Action::RestoreProxyToken => self.token_script(RESTORE_TOKEN).await?,
        };
        // A recovery pays what is owed only in order: the `up` after an emptied token counts
        // once the token is back, not the refused `up` in between.
        if result.exit_code == 0 && self.owed.first() == Some(action) {
            self.owed.remove(0);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_is_the_rendered_one_on_auto_else_the_hosts() {
        assert_eq!(
            choose_zone(true, "Europe/Berlin", "Etc/UTC"),
            "Europe/Berlin"
        );
        // An explicit dashboard.timezone: DASHBOARD_TZ says nothing of the box's zone.
        assert_eq!(choose_zone(false, "America/Chicago", "Etc/UTC"), "Etc/UTC");
        assert_eq!(choose_zone(true, "", "Asia/Tokyo"), "Asia/Tokyo");
        assert_eq!(choose_zone(true, "not a zone", "../../x"), FALLBACK_TZ);
        assert!(is_zone_name("Etc/GMT+5") && is_zone_name("UTC"));
        assert!(!is_zone_name("a//b") && !is_zone_name("$(x)") && !is_zone_name(""));
    }

    #[test]
    fn parses_observation_sections() {
        let text = "@@canary:status@@\nall good\n@@canary:status-exit=1@@\n@@canary:containers@@\n\
                    {\"name\":\"tor\",\"id\":\"a1\",\"started\":\"t\",\"state\":\"running\",\"health\":null}\n\n\
                    @@canary:env@@\nXVB_ENABLED=true\n@@canary:api@@\n{\"x\":1}\n@@canary:fingerprint@@\nabc\n@@canary:end@@\n";
        let p = parse_observation(text).unwrap();
        assert_eq!(p.status, "all good\n");
        assert_eq!(p.status_exit, 1);
        assert_eq!(p.env, "XVB_ENABLED=true\n");
        assert_eq!(p.api.trim(), "{\"x\":1}");
        assert_eq!(p.fingerprint, "abc");
        assert!(
            parse_observation("@@canary:status@@\n").is_none(),
            "cut short"
        );
    }

    #[test]
    fn parses_docker_and_fake_container_lists() {
        let docker = r#"{"name":"monerod","container":"/pithead-monerod-1","id":"f00","docker_state":{"Status":"running","StartedAt":"2026-01-01T00:00:00Z","Health":{"Status":"healthy","Log":[]}}}
{"name":"tor","container":"/pithead-tor-1","id":"b4r","docker_state":{"Status":"exited","StartedAt":"2026-01-01T00:00:01Z"}}"#;
        let c = parse_containers(docker);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "monerod");
        assert_eq!(c[0].health.as_deref(), Some("healthy"));
        assert_eq!(c[1].state, "exited");
        assert_eq!(c[1].health, None);
        let fake =
            r#"[{"Service":"p2pool","ID":"1","StartedAt":"s","State":"Running","Health":""}]"#;
        let c = parse_containers(fake);
        assert_eq!(c[0].name, "p2pool");
        assert_eq!(c[0].state, "running");
        assert_eq!(c[0].health, None);
    }

    #[test]
    fn finds_the_archive_a_backup_printed() {
        assert_eq!(
            backup_archive("Backup written: backups/pithead-backup-20261125-030703.tar.gz\n")
                .as_deref(),
            Some("backups/pithead-backup-20261125-030703.tar.gz")
        );
        assert_eq!(
            backup_archive("saved to '/srv/pithead/backups/pithead-backup-1-2.tar.gz.enc'.")
                .as_deref(),
            Some("/srv/pithead/backups/pithead-backup-1-2.tar.gz.enc")
        );
        assert_eq!(backup_archive("Backup failed: disk full"), None);
        assert_eq!(backup_archive("backups/other-1.tar.gz"), None);
    }

    #[test]
    fn compose_follows_the_container_list() {
        let words = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let sudo = words(&["sudo"]);
        let pithead = words(&["sudo", "./pithead"]);
        let docker = ContainerList::DockerCompose;
        assert_eq!(
            compose_invocation(&docker, "v2", &sudo, &pithead),
            words(&["sudo", "docker", "compose"])
        );
        assert_eq!(
            compose_invocation(&docker, "v1", &sudo, &pithead),
            words(&["sudo", "docker-compose"])
        );
        assert_eq!(
            compose_invocation(&ContainerList::PitheadPs, "v1", &sudo, &pithead),
            words(&["sudo", "./pithead", "compose"])
        );
    }

    #[test]
    fn each_fault_action_owes_its_recovery() {
        let m = || "monerod".to_string();
        assert_eq!(owed_by(&Action::Stop(m())), [Action::Start(m())]);
        assert_eq!(owed_by(&Action::Freeze(m())), [Action::Thaw(m())]);
        assert_eq!(owed_by(&Action::Remove(m())), [Action::UpService(m())]);
        assert_eq!(owed_by(&Action::Down), [Action::Up]);
        assert_eq!(
            owed_by(&Action::EmptyProxyToken),
            [Action::RestoreProxyToken, Action::Up]
        );
        // Recoveries and self-contained actions owe nothing.
        for a in [
            Action::Start(m()),
            Action::Up,
            Action::Backup,
            Action::Restart { service: None },
        ] {
            assert!(owed_by(&a).is_empty(), "{a:?}");
        }
    }

    #[test]
    fn not_ready_names_each_problem() {
        let obs = Observation {
            status_exit: 1,
            containers: parse_containers(
                r#"{"name":"a","id":"1","state":"running","health":"starting"}
{"name":"b","id":"2","state":"running","health":"healthy"}
{"name":"c","id":"3","state":"exited"}
{"name":"d","id":"4","state":"restarting"}"#,
            ),
            env: Default::default(),
            api: Default::default(),
            secret_fingerprint: String::new(),
        };
        // An exited container is the oracle's business, not readiness's.
        assert_eq!(
            not_ready(&obs),
            vec![
                "pithead status exited 1",
                "a is starting",
                "d is restarting"
            ]
        );
    }
}
