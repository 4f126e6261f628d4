//! The fake `pithead` CLI: the subcommands canary and the bash suite drive, with Pithead's
//! messages and exit codes (pithead-model.md §3). Every subcommand returns its exit code;
//! output goes to stdout, errors to stderr as `error: ...`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::{self, Config};
use crate::engine::{self, Engine, UpReport};
use crate::faults::{Fault, Faults};
use crate::render::{self, Env, RenderInput};
use crate::select;
use crate::stack::{self, Stack};

/// The secret .env keys whose values the preview never echoes.
const SECRET_KEYS: [&str; 9] = [
    "PROXY_AUTH_TOKEN",
    "MONERO_NODE_PASSWORD",
    "MONERO_NODE_USERNAME",
    "WALLET_RPC_PASSWORD",
    "TARI_WALLET_PASSWORD",
    "MONERO_VIEW_KEY",
    "TARI_VIEW_KEY",
    "PROXY_STRATUM_PASSWORD",
    "DASHBOARD_AUTH_HASH_B64",
];

const USAGE: &str = "\
usage: pithead <command> [options]

commands (the fake pithead CLI):
  apply [-y]                    render .env from config.json and recreate what changed
  status                        container verdicts; exit 1 on a problem
  doctor [--json]               read-only checks; exit 1 if any FAILs
  up | down                     start (from the existing .env) or stop the stack
  restart [SERVICE]             restart everything or one service, keeping its old args
  backup -y --no-encrypt        archive config.json, .env, Caddyfile, tor and dashboard data
  restore -y ARCHIVE            restore an archive into a stopped stack
  ps [--format json]            one line per container: NAME ID STARTED STATE HEALTH
  compose stop|start|rm|restart|kill [-s SIGNAL]|up [-d] SERVICE...
  render                        re-render .env and the Caddyfile, touching no container
";

/// Runs the CLI with `args` (without the program name) in `stack`; returns the exit code.
pub fn run(stack: &Stack, args: &[String]) -> i32 {
    match dispatch(stack, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn dispatch(stack: &Stack, args: &[String]) -> Result<i32> {
    let Some(cmd) = args.first() else {
        print!("{USAGE}");
        return Ok(0);
    };
    let rest = &args[1..];
    if rest.iter().any(|a| a == "-h" || a == "--help")
        || cmd == "help"
        || cmd == "--help"
        || cmd == "-h"
    {
        // The last line says which tari.mode values this build has: canary's model variants
        // detect an older build by it, without changing the box.
        print!("{USAGE}");
        println!(
            "\nconfig values of this build:\n  tari.mode: {}",
            stack.tari_modes().join("|")
        );
        return Ok(0);
    }
    // Pithead cd's into its own directory; paths in .env are relative to it.
    std::env::set_current_dir(&stack.dir)
        .with_context(|| format!("cannot enter the stack directory {}", stack.dir.display()))?;
    let read_only = matches!(cmd.as_str(), "status" | "doctor" | "ps")
        || (cmd == "compose" && rest.first().map(String::as_str) == Some("ps"));
    let _lock = if !read_only {
        match lock(stack)? {
            Some(file) => Some(file),
            None => {
                eprintln!(
                    "error: another pithead command holds {}; try again later",
                    stack.dir.join(".pithead.lock").display()
                );
                return Ok(75);
            }
        }
    } else {
        None
    };
    match cmd.as_str() {
        "apply" => {
            let mut yes = false;
            for a in rest {
                match a.as_str() {
                    "-y" | "--yes" => yes = true,
                    other => bail!("unknown option for apply: {other}"),
                }
            }
            if !yes {
                bail!("the fake CLI does not prompt; run `pithead apply -y`");
            }
            apply(stack)
        }
        "status" => {
            no_args("status", rest)?;
            status(stack)
        }
        "doctor" => {
            let json = match rest {
                [] => false,
                [j] if j == "--json" => true,
                _ => bail!("usage: pithead doctor [--json]"),
            };
            doctor(stack, json)
        }
        "up" => {
            no_args("up", rest)?;
            up(stack)
        }
        "down" => {
            no_args("down", rest)?;
            let mut engine = select::open(stack)?;
            engine.down()?;
            println!("Stack stopped.");
            Ok(0)
        }
        "restart" => {
            if rest.len() > 1 {
                bail!("usage: pithead restart [SERVICE]");
            }
            if let Some(s) = rest.first() {
                check_service(s)?;
            }
            require_env(stack)?;
            let mut engine = select::open(stack)?;
            let done = engine.restart(rest)?;
            println!("Restarted: {}", done.join(" "));
            Ok(0)
        }
        "backup" => backup(stack, rest),
        "restore" => restore(stack, rest),
        "ps" => {
            let json = match rest {
                [] => false,
                [f, j] if f == "--format" && j == "json" => true,
                [f] if f == "--format=json" => true,
                _ => bail!("usage: pithead ps [--format json]"),
            };
            ps(stack, json)
        }
        "compose" => compose(stack, rest),
        "render" => {
            no_args("render", rest)?;
            let (_, new, _) = prepare(stack)?;
            write_env(stack, &new)?;
            stack::write_private(&stack.caddyfile(), render::caddyfile(&new).as_bytes())?;
            println!("Rendered .env and Caddyfile.");
            Ok(0)
        }
        other => bail!("unknown command {other:?}; run `pithead help`"),
    }
}

/// Takes the mutation lock (flock on `.pithead.lock`), waiting up to PITHEAD_LOCK_TIMEOUT
/// seconds (default 300); `None` on timeout, which Pithead reports as exit 75 (EX_TEMPFAIL).
fn lock(stack: &Stack) -> Result<Option<std::fs::File>> {
    let path = std::env::var_os("PITHEAD_LOCK_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| stack.dir.join(".pithead.lock"));
    let timeout: u64 = std::env::var("PITHEAD_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        if let Some(file) = stack::try_lock(&path)? {
            return Ok(Some(file));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn no_args(cmd: &str, rest: &[String]) -> Result<()> {
    match rest.first() {
        Some(a) => bail!("unknown option for {cmd}: {a}"),
        None => Ok(()),
    }
}

fn check_service(s: &str) -> Result<()> {
    if !stack::is_service(s) {
        bail!(
            "unknown service {s:?}; one of: {}",
            stack::SERVICES
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

fn require_env(stack: &Stack) -> Result<Env> {
    if !stack.env().is_file() {
        bail!(
            "{} not found: this stack was never set up (run setup first)",
            stack.env().display()
        );
    }
    Env::read(&stack.env())
}

fn read_config(stack: &Stack) -> Result<(String, Config)> {
    let text = std::fs::read_to_string(stack.config())
        .with_context(|| format!("cannot read {}", stack.config().display()))?;
    match config::parse(&text) {
        Ok(c) => Ok((text, c)),
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            bail!(
                "config.json is invalid ({} problem(s)); nothing was changed",
                errors.len()
            )
        }
    }
}

/// Validates, loads the secrets and renders: (old .env, new .env, faults).
fn prepare(stack: &Stack) -> Result<(Env, Env, Faults)> {
    let old = require_env(stack)?;
    let faults = Faults::load(&stack.dir)?;
    let (text, mut cfg) = read_config(stack)?;
    // An older build has no tari.mode off: refused, nothing changed (§8).
    let modes = stack.tari_modes();
    if !modes.contains(&cfg.tari_mode) {
        let quoted: Vec<String> = modes.iter().map(|m| format!("{m:?}")).collect();
        bail!(
            "tari.mode must be {}",
            match quoted.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => quoted.join(""),
            }
        );
    }
    let onion = old.value("P2POOL_ONION_ADDRESS");
    if onion.is_empty() || onion == "placeholder" || old.value("DEPLOYMENT_COMPLETED") != "true" {
        bail!(
            "Stack is not fully provisioned (no P2Pool onion or DEPLOYMENT_COMPLETED); run setup first"
        );
    }
    // Local mode with blank node credentials: generate them and write them back (§1.3).
    if cfg.monero_mode == "local" && (cfg.node_username.is_empty() || cfg.node_password.is_empty())
    {
        cfg.node_username = format!("monero{}", &render::random_hex(3));
        cfg.node_password = render::random_hex(16);
        let updated = config::with_node_creds(&text, &cfg.node_username, &cfg.node_password)
            .context("cannot write the generated node credentials into config.json")?;
        stack::write_private(&stack.config(), updated.as_bytes())?;
        println!("Generated Monero node RPC credentials and saved them to config.json.");
    }
    let new = render::render_env(
        &cfg,
        &RenderInput {
            old: &old,
            faults: &faults,
            stack_dir: &stack.dir,
            host_timezone: &render::host_timezone(),
        },
    );
    Ok((old, new, faults))
}

fn write_env(stack: &Stack, env: &Env) -> Result<()> {
    stack::write_private(&stack.env(), env.to_text().as_bytes())
}

/// Keys whose line differs between two .env files (sorted).
pub fn changed_keys(old: &Env, new: &Env) -> Vec<String> {
    let a: BTreeSet<String> = old.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let b: BTreeSet<String> = new.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let keys: BTreeSet<String> = a
        .symmetric_difference(&b)
        .map(|l| l.split('=').next().unwrap_or("").to_string())
        .collect();
    keys.into_iter().collect()
}

fn apply(stack: &Stack) -> Result<i32> {
    let (old, mut new, faults) = prepare(stack)?;
    // rotated-proxy-token: an apply that recreates xmrig-proxy mints a new token (#153).
    if faults.has(Fault::RotatedProxyToken)
        && engine::config_hash("xmrig-proxy", &old) != engine::config_hash("xmrig-proxy", &new)
    {
        new.set("PROXY_AUTH_TOKEN", render::random_hex(24));
    }
    let changed = changed_keys(&old, &new);
    let marker = stack.marker();
    if changed.is_empty() && !marker.exists() {
        println!("No configuration changes detected. Nothing to apply.");
        return Ok(0);
    }
    if changed.is_empty() {
        println!("A previous apply did not finish; retrying the recreate.");
    } else {
        println!("Changes:");
        for key in &changed {
            if SECRET_KEYS.contains(&key.as_str()) || key.ends_with("_ONION_ADDRESS") {
                println!("  {key}: (changed, value not shown)");
            } else {
                println!("  {key}: {:?} -> {:?}", old.value(key), new.value(key));
            }
        }
    }
    write_env(stack, &new)?;
    let caddy_old = std::fs::read_to_string(stack.caddyfile()).unwrap_or_default();
    let caddy_new = render::caddyfile(&new);
    let caddy_changed = caddy_old != caddy_new;
    // stale-caddy-scheme: the restart is skipped when the site turns secure again (#1052).
    let became_secure =
        old.value("DASHBOARD_SECURE") == "false" && new.value("DASHBOARD_SECURE") == "true";
    let restart_caddy = caddy_changed && !(faults.has(Fault::StaleCaddyScheme) && became_secure);
    if caddy_changed {
        stack::write_private(&stack.caddyfile(), caddy_new.as_bytes())?;
    }
    if !faults.has(Fault::LostApplyIncompleteMarker) {
        stack::write_private(&marker, b"")?;
    }
    let mut engine = select::open(stack)?;
    let result = if faults.has(Fault::ApplyAsRestart) {
        engine.restart(&[]).map(|r| UpReport {
            restarted: r,
            ..Default::default()
        })
    } else {
        compose_up_checked(engine.as_mut(), &new, &faults)
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("warning: docker compose up failed: {e:#}");
            eprintln!(
                "error: Apply incomplete: .env was updated but the stack was not fully recreated. Re-run `pithead apply -y` to retry."
            );
            return Ok(1);
        }
    };
    print_report(&report);
    let caddy_fresh = report
        .created
        .iter()
        .chain(&report.recreated)
        .chain(&report.restarted)
        .any(|s| s == "caddy");
    if restart_caddy && !caddy_fresh {
        engine.restart(&["caddy".to_string()])?;
        println!(" Container caddy  Restarted (Caddyfile changed)");
    }
    let _ = std::fs::remove_file(&marker);
    println!("Configuration applied.");
    if let Some(site) =
        render::caddy_site(&std::fs::read_to_string(stack.caddyfile()).unwrap_or_default())
    {
        println!("Dashboard: {site}");
    }
    Ok(0)
}

/// `compose rm -sf` of the services of deactivated profiles (#795), then `up`.
fn compose_up_checked(engine: &mut dyn Engine, env: &Env, faults: &Faults) -> Result<UpReport> {
    if !faults.has(Fault::LeftoverProfileContainer) {
        let active = stack::active_services(env.value("COMPOSE_PROFILES"));
        let inactive: Vec<String> = stack::SERVICES
            .iter()
            .filter(|(s, p)| p.is_some() && !active.contains(s))
            .map(|(s, _)| s.to_string())
            .collect();
        engine.remove(&inactive)?;
    }
    engine.up(env)
}

fn print_report(r: &UpReport) {
    for (list, word) in [
        (&r.created, "Created"),
        (&r.recreated, "Recreated"),
        (&r.restarted, "Restarted"),
        (&r.started, "Started"),
    ] {
        for s in list {
            println!(" Container {s}  {word}");
        }
    }
}

fn up(stack: &Stack) -> Result<i32> {
    let env = require_env(stack)?;
    if env.value("DEPLOYMENT_COMPLETED") != "true" {
        bail!("Stack is not fully provisioned (DEPLOYMENT_COMPLETED is not true); run setup first");
    }
    let faults = Faults::load(&stack.dir)?;
    // up-accepts-empty-token: the guard is missing (#153, #203).
    if env.value("PROXY_AUTH_TOKEN").is_empty() && !faults.has(Fault::UpAcceptsEmptyToken) {
        bail!(
            "PROXY_AUTH_TOKEN is empty in .env: refusing to start an unauthenticated xmrig-proxy control API. Run `pithead apply -y` to mint a token."
        );
    }
    let mut engine = select::open(stack)?;
    match compose_up_checked(engine.as_mut(), &env, &faults) {
        Ok(r) => {
            print_report(&r);
            println!("Stack is up.");
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: docker compose up failed: {e:#}");
            Ok(1)
        }
    }
}

fn ps(stack: &Stack, json: bool) -> Result<i32> {
    let mut engine = select::open(stack)?;
    let lines = engine.ps()?;
    if json {
        println!("{}", serde_json::to_string(&lines)?);
    } else {
        for l in lines {
            println!(
                "{} {} {} {} {}",
                l.name,
                l.id,
                l.started,
                l.state,
                l.health.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(0)
}

fn dashboard_state(stack: &Stack) -> Option<serde_json::Value> {
    let port = *stack.settings().ok()?.ports.get("dashboard")?;
    let (code, body) =
        crate::http::request(port, "GET", "/api/state", None, Duration::from_millis(1500))?;
    (code == 200)
        .then(|| serde_json::from_str(&body).ok())
        .flatten()
}

fn status(stack: &Stack) -> Result<i32> {
    let env = require_env(stack)?;
    let mut engine = select::open(stack)?;
    let lines = engine.ps()?;
    let find = |s: &str| lines.iter().find(|l| l.name == s);
    let node_ok = |s: &str| {
        find(s).is_some_and(|l| l.state == "running" && l.health.as_deref() == Some("healthy"))
    };
    let mut problems = 0;
    for service in stack::active_services(env.value("COMPOSE_PROFILES")) {
        let (state, health) = match find(service) {
            Some(l) => (l.state.clone(), l.health.clone()),
            None => ("missing".to_string(), None),
        };
        let shown = match &health {
            Some(h) => format!("{state} ({h})"),
            None => state.clone(),
        };
        let fine = state == "running" && health.as_deref() != Some("unhealthy");
        if fine {
            println!("  ✓ {service:<15} {shown}");
        } else if ["p2pool", "xmrig-proxy"].contains(&service)
            && ["created", "exited", "stopped"].contains(&state.as_str())
        {
            let node_down = (env
                .value("COMPOSE_PROFILES")
                .split(',')
                .any(|p| p == "local_node")
                && !node_ok("monerod"))
                || (env.value("TARI_MODE") == "local" && !node_ok("tari"));
            let why = if node_down {
                "node down"
            } else {
                "held until sync"
            };
            println!("  - {service:<15} {shown} (likely intentional: {why})");
        } else {
            problems += 1;
            println!("  ✗ {service:<15} {shown}");
        }
    }
    if let Some(api) = dashboard_state(stack) {
        for chain in ["monero", "tari"] {
            let s = &api["sync"][chain];
            if s["state"].as_str().is_some_and(|st| st != "done") {
                println!(
                    "  {chain} sync: {} {}/{}",
                    s["state"].as_str().unwrap_or("?"),
                    s["current"],
                    s["target"]
                );
            }
        }
    }
    if problems == 0 {
        println!("Stack is healthy.");
        Ok(0)
    } else {
        println!("{problems} problem(s) found.");
        Ok(1)
    }
}

fn doctor(stack: &Stack, json: bool) -> Result<i32> {
    let env = require_env(stack)?;
    let settings = stack.settings()?;
    let mut engine = select::open(stack)?;
    let lines = engine.ps()?;
    let running = |s: &str| lines.iter().any(|l| l.name == s && l.state == "running");
    let mut checks: Vec<(&str, &str, String)> = Vec::new();
    checks.push(("engine", "OK", "fake process engine is available".into()));
    checks.push(("ntp", "OK", "clock is NTP-synchronized".into()));
    if env.value("TOR_EGRESS_FIREWALL") == "true" {
        checks.push((
            "firewall",
            "OK",
            "Tor egress firewall: egress firewall is installed".into(),
        ));
    } else {
        checks.push((
            "firewall",
            "WARN",
            "Tor egress firewall is disabled (network.tor_egress_firewall=false)".into(),
        ));
    }
    if running("tor") {
        checks.push(("tor", "OK", "tor is running".into()));
    } else {
        checks.push(("tor", "FAIL", "tor is not running: no Tor egress".into()));
    }
    if running("xmrig-proxy") {
        checks.push((
            "stratum",
            "OK",
            format!(
                "stratum: workers can connect on port {}",
                env.value("STRATUM_PORT")
            ),
        ));
    } else {
        checks.push((
            "stratum",
            "WARN",
            "xmrig-proxy is not running: workers cannot connect".into(),
        ));
    }
    let dash_port = settings.ports.get("dashboard").copied().unwrap_or(8000);
    match crate::http::request(
        dash_port,
        "GET",
        "/api/state",
        None,
        Duration::from_millis(1500),
    ) {
        Some((200, _)) => checks.push((
            "dashboard",
            "OK",
            format!("dashboard answers on 127.0.0.1:{dash_port}"),
        )),
        _ => checks.push((
            "dashboard",
            "FAIL",
            format!("dashboard does not answer on 127.0.0.1:{dash_port}"),
        )),
    }
    for service in stack::active_services(env.value("COMPOSE_PROFILES")) {
        if !running(service) && !["p2pool", "xmrig-proxy"].contains(&service) {
            checks.push((
                "containers",
                "FAIL",
                format!("container {service} is not running"),
            ));
        }
    }
    let count = |lvl: &str| checks.iter().filter(|c| c.1 == lvl).count();
    let (ok, warn, fail) = (count("OK"), count("WARN"), count("FAIL"));
    let code = i32::from(fail > 0);
    if json {
        let value = serde_json::json!({
            "version": concat!("fake-", env!("CARGO_PKG_VERSION")),
            "exit": code,
            "summary": {"ok": ok, "warn": warn, "fail": fail},
            "checks": checks.iter().map(|(n, l, m)| serde_json::json!({"name": n, "level": l, "message": m})).collect::<Vec<_>>(),
        });
        println!("{value}");
    } else {
        for (_, level, msg) in &checks {
            println!("[{level:<4}] {msg}");
        }
        if fail == 0 && warn == 0 {
            println!("All checks passed.");
        } else {
            println!("{fail} failed, {warn} warning(s).");
        }
    }
    Ok(code)
}

fn compose(stack: &Stack, args: &[String]) -> Result<i32> {
    let Some(verb) = args.first() else {
        bail!("usage: pithead compose stop|start|rm|restart|kill|ps ...")
    };
    let mut rest: Vec<String> = args[1..].to_vec();
    let mut signal = libc::SIGKILL;
    if verb == "kill" && rest.first().map(String::as_str) == Some("-s") {
        let name = rest.get(1).cloned().unwrap_or_default();
        signal = match name.trim_start_matches("SIG") {
            "STOP" => libc::SIGSTOP,
            "CONT" => libc::SIGCONT,
            "TERM" => libc::SIGTERM,
            "KILL" => libc::SIGKILL,
            "INT" => libc::SIGINT,
            other => bail!("unsupported signal {other:?} (STOP, CONT, TERM, KILL, INT)"),
        };
        rest.drain(..2);
    }
    if verb == "rm" || verb == "up" {
        // `rm -sf`, `up -d`: the fake always stops first and always detaches.
        rest.retain(|a| !a.starts_with('-'));
    }
    for s in &rest {
        check_service(s)?;
    }
    let mut engine = select::open(stack)?;
    match verb.as_str() {
        "stop" => engine.stop(&rest)?,
        "start" => engine.start(&rest)?,
        "restart" => {
            engine.restart(&rest)?;
        }
        "rm" => {
            if rest.is_empty() {
                bail!("compose rm needs a service name");
            }
            engine.remove(&rest)?
        }
        "kill" => engine.kill(&rest, signal)?,
        "ps" => return ps(stack, false),
        "up" => {
            let env = require_env(stack)?;
            let r = if rest.is_empty() {
                engine.up(&env)?
            } else {
                engine.up_services(&env, &rest)?
            };
            print_report(&r);
        }
        other => bail!("unsupported compose verb {other:?}"),
    }
    Ok(0)
}

const ARCHIVED: [&str; 3] = ["config.json", ".env", "Caddyfile"];
const ARCHIVED_DIRS: [&str; 2] = ["data/tor", "data/dashboard"];

fn backup(stack: &Stack, args: &[String]) -> Result<i32> {
    let (mut yes, mut plain) = (false, false);
    for a in args {
        match a.as_str() {
            "-y" | "--yes" => yes = true,
            "--no-encrypt" => plain = true,
            "--with-chains" => {}
            other => bail!("unknown option for backup: {other}"),
        }
    }
    if !yes {
        bail!("the fake CLI does not prompt; run `pithead backup -y --no-encrypt`");
    }
    if !plain {
        bail!(
            "no encryption in the fake: pass --no-encrypt (Pithead refuses -y without a passphrase too)"
        );
    }
    for f in ["config.json", ".env"] {
        if !stack.dir.join(f).is_file() {
            bail!("{f} must be a regular file to back up");
        }
    }
    std::fs::create_dir_all(stack.dir.join("backups"))?;
    let base = format!("pithead-backup-{}", stack::compact_timestamp());
    let mut name = format!("{base}.tar.gz");
    let mut n = 1;
    while stack.dir.join("backups").join(&name).exists() {
        n += 1;
        name = format!("{base}-{n}.tar.gz");
    }
    // Everything but caddy is stopped while the archive is written, then started again.
    let mut engine = select::open(stack)?;
    let running: Vec<String> = engine
        .ps()?
        .into_iter()
        .filter(|l| l.state == "running" && l.name != "caddy")
        .map(|l| l.name)
        .collect();
    engine.stop(&running)?;
    let written = write_archive(stack, &stack.dir.join("backups").join(&name));
    engine.start(&running)?;
    written?;
    println!("Backup written: backups/{name}");
    Ok(0)
}

fn write_archive(stack: &Stack, path: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_private()
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for f in ARCHIVED {
        let p = stack.dir.join(f);
        if p.is_file() {
            tar.append_path_with_name(&p, f)?;
        }
    }
    for d in ARCHIVED_DIRS {
        let p = stack.dir.join(d);
        if p.is_dir() {
            tar.append_dir_all(d, &p)?;
        }
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()?;
    Ok(())
}

trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}

impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}

fn restore(stack: &Stack, args: &[String]) -> Result<i32> {
    let mut yes = false;
    let mut archive: Option<PathBuf> = None;
    for a in args {
        match a.as_str() {
            "-y" | "--yes" => yes = true,
            s if s.starts_with('-') => bail!("unknown option for restore: {s}"),
            s => archive = Some(PathBuf::from(s)),
        }
    }
    if !yes {
        bail!("the fake CLI does not prompt; run `pithead restore -y ARCHIVE`");
    }
    let Some(archive) = archive else {
        bail!("usage: pithead restore -y ARCHIVE")
    };
    let path = if archive.is_absolute() {
        archive
    } else {
        stack.dir.join(archive)
    };
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(b"Salted__") {
        bail!(
            "{} is encrypted; the fake cannot decrypt archives",
            path.display()
        );
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        bail!(
            "{} is neither a gzip archive nor an encrypted one",
            path.display()
        );
    }
    let mut engine = select::open(stack)?;
    if engine.ps()?.iter().any(|l| l.state == "running") {
        bail!("The stack is running; stop it first with `pithead down`, then restore");
    }
    // A full listing first: nothing is touched unless the archive reads cleanly.
    let mut entries = Vec::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    for entry in tar.entries().context("the archive is corrupt")? {
        let mut entry = entry.context("the archive is corrupt")?;
        let rel = entry.path()?.into_owned();
        let ok = rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
            && (ARCHIVED.iter().any(|f| rel == Path::new(f))
                || ARCHIVED_DIRS.iter().any(|d| rel.starts_with(d)));
        if !ok {
            bail!(
                "the archive holds an unexpected path {}; refusing to restore",
                rel.display()
            );
        }
        let is_dir = entry.header().entry_type().is_dir();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).context("the archive is corrupt")?;
        entries.push((rel, is_dir, data));
    }
    if !entries
        .iter()
        .any(|(p, _, _)| p == Path::new("config.json"))
    {
        bail!("the archive holds no config.json");
    }
    for (rel, is_dir, data) in &entries {
        let dest = stack.dir.join(rel);
        if *is_dir {
            std::fs::create_dir_all(&dest)?;
        } else {
            stack::write_private(&dest, data)?;
        }
    }
    let (_, new, _) = prepare(stack)?;
    write_env(stack, &new)?;
    stack::write_private(&stack.caddyfile(), render::caddyfile(&new).as_bytes())?;
    println!("Restore complete. Start the stack with: pithead up");
    Ok(0)
}
