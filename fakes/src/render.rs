//! Rendering: config.json (plus the secrets kept in the old .env) to `.env` and the
//! Caddyfile, as `render_env` does (pithead-model.md §3.3). Also the .env file format and the
//! secret fingerprint.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::config::{Config, subnet_prefix};
use crate::faults::{Fault, Faults};

/// An .env file: ordered `KEY=value` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env(pub Vec<(String, String)>);

/// .env keys kept across applies by `load_preserved_state`.
pub const PRESERVED: [&str; 10] = [
    "PROXY_AUTH_TOKEN",
    "WALLET_RPC_PASSWORD",
    "TARI_WALLET_PASSWORD",
    "MONERO_ONION_ADDRESS",
    "TARI_ONION_ADDRESS",
    "P2POOL_ONION_ADDRESS",
    "DASHBOARD_ONION_ADDRESS",
    "DASHBOARD_ONION_CLIENT_PUBKEY",
    "DASHBOARD_ONION_CLIENT_PRIVKEY",
    "HOST_IP",
];

impl Env {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or "" when absent.
    pub fn value(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Sets `key`, keeping its position when present.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    /// Parses .env text; blank lines and comments are skipped, quoted values unescaped.
    pub fn parse(text: &str) -> Env {
        let mut entries = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                entries.push((k.trim().to_string(), unquote(v)));
            }
        }
        Env(entries)
    }

    /// Reads an .env file; a missing file is an error.
    pub fn read(path: &Path) -> Result<Env> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Env::parse(&text))
    }

    /// The file text: one `KEY=value` line each, quoting only where Pithead quotes.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={}\n", quote(v)))
            .collect()
    }

    /// The entries as a map.
    pub fn map(&self) -> BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }
}

fn needs_quotes(v: &str) -> bool {
    v.contains(['$', '"', '\'', '\\', '#', '\t', '\r', '\n'])
        || v.starts_with(' ')
        || v.ends_with(' ')
}

fn quote(v: &str) -> String {
    if !needs_quotes(v) {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_string();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `n` random bytes as hex, from the kernel (secrets are not part of any test seed).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let filled = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if filled.is_err() {
        // No /dev/urandom (a scratch image without /dev): fall back to time and pid.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        let digest = Sha256::digest(seed.as_bytes());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = digest[i % digest.len()];
        }
    }
    hex::encode(buf)
}

/// A fake v3 onion address (56 base32 characters and `.onion`).
pub fn fake_onion() -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let raw = hex::decode(random_hex(56)).unwrap_or_default();
    let name: String = raw
        .iter()
        .map(|b| alphabet[(*b as usize) % 32] as char)
        .collect();
    format!("{name}.onion")
}

/// The secret fingerprint: sha256 of the sorted PROXY_AUTH_TOKEN and *_ONION_ADDRESS lines,
/// one newline each (pithead-model.md §3.4).
pub fn secret_fingerprint(env_text: &str) -> String {
    let mut lines: Vec<&str> = env_text
        .lines()
        .filter(|l| {
            l.starts_with("PROXY_AUTH_TOKEN=")
                || l.split('=')
                    .next()
                    .is_some_and(|k| k.ends_with("_ONION_ADDRESS"))
        })
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for l in lines {
        hasher.update(l.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// What rendering needs besides the config.
#[derive(Debug, Clone)]
pub struct RenderInput<'a> {
    /// The current .env (for the preserved secrets).
    pub old: &'a Env,
    /// Faults switched on.
    pub faults: &'a Faults,
    /// The stack directory as the CLI resolved it (used by the spurious-diff fault).
    pub stack_dir: &'a Path,
    /// The host's zone as the calling process sees it ([`host_timezone`]): DASHBOARD_TZ when
    /// `dashboard.timezone` is auto.
    pub host_timezone: &'a str,
}

/// Pithead's `detect_host_timezone`: the caller's `TZ` first, then `timedatectl`, then
/// /etc/timezone, then the /etc/localtime link; anything not shaped like an IANA name gives
/// Etc/UTC. Following the caller's `TZ` is what makes an apply under another `TZ` change
/// DASHBOARD_TZ (pithead-model.md, host-dependent keys).
pub fn host_timezone() -> String {
    let mut tz = std::env::var("TZ").unwrap_or_default();
    if tz.is_empty()
        && let Ok(out) = std::process::Command::new("timedatectl")
            .args(["show", "-p", "Timezone", "--value"])
            .stderr(std::process::Stdio::null())
            .output()
        && out.status.success()
    {
        tz = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    if tz.is_empty() {
        tz = std::fs::read_to_string("/etc/timezone")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
    }
    if tz.is_empty()
        && let Ok(link) = std::fs::read_link("/etc/localtime")
    {
        let link = link.to_string_lossy();
        if let Some((_, zone)) = link.split_once("/zoneinfo/") {
            tz = zone.to_string();
        }
    }
    if is_zone_name(&tz) {
        tz
    } else {
        "Etc/UTC".to_string()
    }
}

/// Pithead's sanity check: `Area/City`, `UTC`, `Etc/GMT+5`...
fn is_zone_name(tz: &str) -> bool {
    !tz.is_empty()
        && tz.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        })
}

fn b(v: bool) -> &'static str {
    if v { "true" } else { "false" }
}

fn data_dir(configured: &str, service: &str) -> String {
    if configured == "auto" || configured.is_empty() {
        format!("./data/{service}")
    } else {
        configured.to_string()
    }
}

/// COMPOSE_PROFILES for a config, in Pithead's token order.
pub fn profiles(c: &Config) -> Vec<&'static str> {
    let mut p = Vec::new();
    if c.monero_mode == "local" {
        p.push("local_node");
    }
    if c.tari_mode == "local" {
        p.push("local_tari");
    }
    if c.monero_mode == "local" && !c.monero_view_key.is_empty() {
        p.push("payout_confirm");
    }
    if c.tari_mode == "local" && !c.tari_view_key.is_empty() {
        p.push("tari_payout_confirm");
    }
    p
}

/// Renders the new .env. Secrets come from `input.old` when present, else are generated.
pub fn render_env(c: &Config, input: &RenderInput) -> Env {
    let old = input.old;
    let keep = |key: &str, make: &dyn Fn() -> String| -> String {
        match old.get(key) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => make(),
        }
    };
    let prefix = subnet_prefix(&c.subnet).unwrap_or_else(|| "172.28.0".into());
    let local = c.monero_mode == "local";
    let tari_local = c.tari_mode == "local";
    let mut e = Env::default();

    // Paths. The spurious-path-diff fault spells the dashboard's data dir through the stack
    // directory on every other apply: the same directory, a different string (#695).
    let dashboard_dir = data_dir(&c.dashboard_data_dir, "dashboard");
    let dashboard_dir = if input.faults.has(Fault::SpuriousPathDiff)
        && old.value("DASHBOARD_DATA_DIR") == dashboard_dir
        && dashboard_dir == "./data/dashboard"
    {
        format!("{}/./data/dashboard", input.stack_dir.display())
    } else {
        dashboard_dir
    };
    e.set("MONERO_DATA_DIR", data_dir(&c.monero_data_dir, "monero"));
    e.set("TARI_DATA_DIR", data_dir(&c.tari_data_dir, "tari"));
    e.set("P2POOL_DATA_DIR", data_dir(&c.p2pool_data_dir, "p2pool"));
    e.set("DASHBOARD_DATA_DIR", dashboard_dir);
    e.set("TOR_DATA_DIR", data_dir(&c.tor_data_dir, "tor"));
    e.set("CLEARNET_STATE_DIR", "./data/clearnet-state");
    e.set("CONTROL_DIR", "./data/control");
    e.set("CADDY_LOG_DIR", "./data/caddy-logs");
    e.set("PROXY_TLS_DIR", "./data/proxy-tls");

    // Monero.
    e.set("MONERO_NODE_USERNAME", &c.node_username);
    e.set("MONERO_NODE_PASSWORD", &c.node_password);
    e.set("MONERO_WALLET_ADDRESS", &c.monero_wallet);
    e.set("MONERO_VIEW_KEY", &c.monero_view_key);
    e.set("PAYOUT_SCAN_HEIGHT", &c.payout_scan_height);
    e.set(
        "PAYOUT_CONFIRM_ENABLED",
        b(local && !c.monero_view_key.is_empty()),
    );
    e.set("WALLET_RPC_USERNAME", "wallet");
    e.set(
        "WALLET_RPC_PASSWORD",
        keep("WALLET_RPC_PASSWORD", &|| random_hex(16)),
    );
    e.set(
        "MONERO_WALLET_RPC_URL",
        format!("http://{prefix}.30:18082/json_rpc"),
    );
    e.set("MONERO_PRUNE", if c.prune { "1" } else { "0" });
    // #2649: the flags are forced off while the firewall is on (raw-clearnet-flag skips that).
    let raw = input.faults.has(Fault::RawClearnetFlag);
    e.set(
        "MONERO_CLEARNET_SYNC",
        b(c.monero_clearnet && (raw || !c.firewall)),
    );
    e.set("MONERO_PREP_THREADS", prep_threads(&c.prep_threads));
    e.set("MONERO_OUT_PEERS", c.out_peers.to_string());
    e.set(
        "MONERO_RPC_BIND",
        if c.rpc_lan { "0.0.0.0" } else { "127.0.0.1" },
    );
    e.set(
        "MONERO_ZMQ_BIND",
        if c.zmq_lan { "0.0.0.0" } else { "127.0.0.1" },
    );
    let (host, rpc, zmq) = if local {
        (format!("{prefix}.26"), 18081, 18083)
    } else {
        (
            c.monero_remote_host.clone(),
            c.monero_rpc_port,
            c.monero_zmq_port,
        )
    };
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    e.set("MONERO_NODE_HOST", &host);
    e.set(
        "MONERO_RPC_URL",
        if local {
            "http://127.0.0.1:18081".to_string()
        } else {
            format!("http://{url_host}:{rpc}")
        },
    );
    e.set("MONERO_RPC_PORT", rpc.to_string());
    e.set("MONERO_ZMQ_PORT", zmq.to_string());
    e.set(
        "MONERO_MEM_LIMIT",
        if c.monero_mem_limit == "auto" {
            "6g"
        } else {
            &c.monero_mem_limit
        },
    );

    // Tari.
    e.set("TARI_WALLET_ADDRESS", &c.tari_wallet);
    e.set("TARI_VIEW_KEY", &c.tari_view_key);
    e.set("TARI_SPEND_PUBLIC_KEY", &c.tari_spend_key);
    e.set(
        "TARI_WALLET_PASSWORD",
        keep("TARI_WALLET_PASSWORD", &|| random_hex(16)),
    );
    e.set("TARI_WALLET_BIRTHDAY", &c.tari_birthday);
    e.set(
        "TARI_PAYOUT_CONFIRM_ENABLED",
        b(tari_local && !c.tari_view_key.is_empty()),
    );
    e.set("TARI_MODE", &c.tari_mode);
    e.set(
        "TARI_GRPC_ADDRESS",
        if c.tari_mode == "remote" {
            format!("{}:{}", c.tari_remote_host, c.tari_grpc_port)
        } else {
            format!("{prefix}.27:18142")
        },
    );
    e.set(
        "TARI_GRPC_BIND",
        if c.tari_grpc_lan {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        },
    );
    e.set(
        "TARI_CLEARNET_SYNC",
        b(c.tari_clearnet && (raw || !c.firewall)),
    );
    e.set(
        "TARI_MEM_LIMIT",
        if !tari_local {
            "0m".to_string()
        } else if c.tari_mem_limit == "auto" {
            // Pithead derives it from MemTotal; the fake pins it so applies stay idempotent.
            "4g".to_string()
        } else {
            c.tari_mem_limit.clone()
        },
    );
    let required = if input.faults.has(Fault::TariRequiredIgnoresOff) {
        c.tari_required
    } else {
        c.tari_required && c.tari_mode != "off"
    };
    e.set("TARI_REQUIRED", b(required));

    // Onions: preserved once provisioned; the dashboard's stays a placeholder until enabled.
    for key in [
        "MONERO_ONION_ADDRESS",
        "TARI_ONION_ADDRESS",
        "P2POOL_ONION_ADDRESS",
    ] {
        e.set(key, keep(key, &fake_onion));
    }
    e.set(
        "DASHBOARD_ONION_ADDRESS",
        match old.get("DASHBOARD_ONION_ADDRESS") {
            Some(v) if !v.is_empty() && (v != "placeholder" || !c.onion_enabled) => v.to_string(),
            _ if c.onion_enabled => fake_onion(),
            _ => "placeholder".to_string(),
        },
    );
    for key in [
        "DASHBOARD_ONION_CLIENT_PUBKEY",
        "DASHBOARD_ONION_CLIENT_PRIVKEY",
    ] {
        e.set(key, keep(key, &|| "placeholder".to_string()));
    }
    e.set("DASHBOARD_ONION_ENABLED", b(c.onion_enabled));
    e.set("DASHBOARD_ONION_CLIENT_AUTH", b(c.onion_client_auth));

    // P2Pool and the proxy.
    let stale_mini = input.faults.has(Fault::StaleMiniFlag)
        && old
            .value("P2POOL_FLAGS")
            .split_whitespace()
            .any(|w| w == "--mini");
    let mut flags: Vec<String> = match c.pool.as_str() {
        "mini" => vec!["--mini".into()],
        "nano" => vec!["--nano".into()],
        // #746: a switch from mini to main keeps the stale --mini.
        _ if stale_mini => vec!["--mini".into()],
        _ => vec![],
    };
    if !c.p2pool_clearnet {
        flags.extend([
            "--socks5".to_string(),
            format!("{prefix}.25:9050"),
            "--socks5-proxy-type".into(),
            "tor".into(),
            "--no-dns".into(),
        ]);
    }
    e.set("P2POOL_FLAGS", flags.join(" "));
    e.set(
        "P2POOL_PORT",
        crate::daemons::pool::peer_port(&c.pool).to_string(),
    );
    e.set("P2POOL_URL", format!("{prefix}.28:3333"));
    e.set("P2POOL_CLEARNET", b(c.p2pool_clearnet));
    e.set("STRATUM_BIND", &c.stratum_bind);
    e.set("STRATUM_PORT", c.stratum_port.to_string());
    e.set(
        "PROXY_STRATUM_PASSWORD",
        if c.stratum_password == "auto" {
            keep("PROXY_STRATUM_PASSWORD", &|| random_hex(12))
        } else {
            c.stratum_password.clone()
        },
    );
    e.set("PROXY_STRATUM_TLS", b(c.stratum_tls));
    e.set("PROXY_API_PORT", "3344");
    // An emptied token is quietly re-minted by apply (only `up` fails closed, #153).
    e.set(
        "PROXY_AUTH_TOKEN",
        keep("PROXY_AUTH_TOKEN", &|| random_hex(24)),
    );
    e.set("PROXY_DONATE_LEVEL", c.donate_level.to_string());

    // XvB.
    e.set("XVB_ENABLED", b(c.xvb_enabled));
    e.set("XVB_TOR_ENABLED", b(c.xvb_tor));
    e.set("XVB_POOL_URL", &c.xvb_url);
    e.set(
        "XVB_DONOR_ID",
        if c.xvb_donor_id == "auto" {
            c.monero_wallet.chars().take(8).collect()
        } else {
            c.xvb_donor_id.clone()
        },
    );
    e.set("XVB_DONATION_LEVEL", &c.xvb_donation_level);

    // Dashboard and Caddy.
    e.set("DASHBOARD_SECURE", b(c.secure));
    e.set(
        "DASHBOARD_TZ",
        if c.dashboard_timezone == "auto" || c.dashboard_timezone.is_empty() {
            input.host_timezone
        } else {
            &c.dashboard_timezone
        },
    );
    e.set(
        "DASHBOARD_AUTH_USER",
        if c.auth_password.is_empty() {
            ""
        } else {
            &c.auth_user
        },
    );
    let pw_fp = if c.auth_password.is_empty() {
        String::new()
    } else {
        hex::encode(Sha256::digest(c.auth_password.as_bytes()))
    };
    e.set(
        "DASHBOARD_AUTH_HASH_B64",
        if pw_fp.is_empty() {
            String::new()
        } else {
            format!("fakehash-{}", &pw_fp[..16])
        },
    );
    e.set("DASHBOARD_AUTH_PW_FP", pw_fp);
    e.set("DASHBOARD_CONTROL_ENABLED", b(c.control_enabled));
    e.set("DASHBOARD_FAIL_CLOSED", b(c.fail_closed));
    e.set("DASHBOARD_CHECK_UPDATES", b(c.check_updates));
    e.set(
        "HOST_IP",
        if c.dashboard_host != "auto" {
            c.dashboard_host.clone()
        } else {
            keep("HOST_IP", &|| "127.0.0.1".into())
        },
    );
    e.set(
        "HOST_PORT",
        if c.dashboard_port == "auto" {
            ""
        } else {
            &c.dashboard_port
        },
    );

    // Network, Tor, Compose.
    e.set("NETWORK_SUBNET", &c.subnet);
    e.set("NETWORK_PREFIX", &prefix);
    e.set("TOR_EGRESS_FIREWALL", b(c.firewall));
    e.set("TOR_AUTO_HEAL", b(c.tor_auto_heal));
    e.set("COMPOSE_PROFILES", profiles(c).join(","));
    e.set("DEPLOYMENT_COMPLETED", "true");
    e
}

fn prep_threads(configured: &str) -> String {
    if configured != "auto" {
        return configured.to_string();
    }
    let n = std::thread::available_parallelism().map_or(4, |n| n.get());
    n.saturating_sub(2).clamp(4, 8).to_string()
}

/// The Caddyfile for an .env: one site block, https:// or http:// per DASHBOARD_SECURE.
pub fn caddyfile(env: &Env) -> String {
    let scheme = if env.value("DASHBOARD_SECURE") == "false" {
        "http"
    } else {
        "https"
    };
    let host = env
        .get("HOST_IP")
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1");
    let port = env.value("HOST_PORT");
    let site = if port.is_empty() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    };
    let mut text = format!(
        "# Rendered by the fake pithead CLI\n{{\n\tadmin 127.0.0.1:2019\n}}\n\n{site} {{\n"
    );
    if !env.value("DASHBOARD_AUTH_USER").is_empty() {
        text.push_str(&format!(
            "\tbasic_auth {{\n\t\t{} {}\n\t}}\n",
            env.value("DASHBOARD_AUTH_USER"),
            env.value("DASHBOARD_AUTH_HASH_B64")
        ));
    }
    text.push_str("\treverse_proxy 127.0.0.1:8000\n}\n");
    text
}

/// The site address of a Caddyfile: the first line that opens a block with a scheme.
pub fn caddy_site(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| (l.starts_with("https://") || l.starts_with("http://")) && l.ends_with('{'))
        .map(|l| l.trim_end_matches('{').trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn cfg(patch: serde_json::Value) -> Config {
        let mut v = serde_json::json!({
            "monero": {"wallet_address": crate::setup::fake_monero_address(), "node_username": "u", "node_password": "p"},
            "tari": {"wallet_address": crate::setup::fake_tari_address()},
        });
        for (block, inner) in patch.as_object().unwrap() {
            for (k, val) in inner.as_object().unwrap() {
                v[block][k] = val.clone();
            }
        }
        parse(&v.to_string()).unwrap()
    }

    fn render(c: &Config, old: &Env, faults: &Faults) -> Env {
        render_env(
            c,
            &RenderInput {
                old,
                faults,
                stack_dir: Path::new("/box"),
                host_timezone: "UTC",
            },
        )
    }

    #[test]
    fn profiles_and_node_keys_follow_the_modes() {
        let none = Faults::default();
        let local = render(&cfg(serde_json::json!({})), &Env::default(), &none);
        assert_eq!(local.value("COMPOSE_PROFILES"), "local_node,local_tari");
        assert_eq!(local.value("MONERO_NODE_HOST"), "172.28.0.26");
        let remote = render(
            &cfg(
                serde_json::json!({"monero": {"mode": "remote", "remote": {"host": "fd00::1"}}, "tari": {"mode": "off"}}),
            ),
            &Env::default(),
            &none,
        );
        assert_eq!(remote.value("COMPOSE_PROFILES"), "");
        assert_eq!(remote.value("MONERO_RPC_URL"), "http://[fd00::1]:18081");
        assert_eq!(remote.value("TARI_REQUIRED"), "false");
        assert_eq!(remote.value("TARI_MEM_LIMIT"), "0m");
        let faulty = Faults::load_from_names(&["tari-required-ignores-off"]);
        let off = cfg(serde_json::json!({"tari": {"mode": "off"}}));
        assert_eq!(
            render(&off, &Env::default(), &faulty).value("TARI_REQUIRED"),
            "true"
        );
    }

    #[test]
    fn dashboard_tz_follows_the_host_zone_on_auto_and_the_config_otherwise() {
        let none = Faults::default();
        let at = |c: &Config, zone: &str| {
            render_env(
                c,
                &RenderInput {
                    old: &Env::default(),
                    faults: &none,
                    stack_dir: Path::new("/box"),
                    host_timezone: zone,
                },
            )
            .value("DASHBOARD_TZ")
            .to_string()
        };
        let auto = cfg(serde_json::json!({}));
        assert_eq!(at(&auto, "Europe/Berlin"), "Europe/Berlin");
        assert_eq!(at(&auto, "UTC"), "UTC");
        let fixed = cfg(serde_json::json!({"dashboard": {"timezone": "America/Chicago"}}));
        assert_eq!(at(&fixed, "Europe/Berlin"), "America/Chicago");
        assert!(is_zone_name("Etc/GMT+5") && is_zone_name("UTC"));
        assert!(!is_zone_name("") && !is_zone_name("a//b") && !is_zone_name("x y"));
    }

    #[test]
    fn secrets_survive_a_render_and_fill_when_missing() {
        let none = Faults::default();
        let c = cfg(serde_json::json!({}));
        let first = render(&c, &Env::default(), &none);
        assert_eq!(first.value("PROXY_AUTH_TOKEN").len(), 48);
        let second = render(&c, &first, &none);
        assert_eq!(first, second, "rendering is idempotent");
        assert_eq!(
            secret_fingerprint(&first.to_text()),
            secret_fingerprint(&second.to_text())
        );
    }

    #[test]
    fn values_are_quoted_only_when_needed_and_round_trip() {
        let mut e = Env::default();
        e.set("FLAGS", "--mini --no-dns");
        e.set("ODD", "a$b \"c\" #d\n");
        let text = e.to_text();
        assert!(text.contains("FLAGS=--mini --no-dns\n"));
        assert_eq!(Env::parse(&text), e);
    }

    #[test]
    fn the_caddyfile_scheme_follows_secure() {
        let none = Faults::default();
        let secure = render(&cfg(serde_json::json!({})), &Env::default(), &none);
        assert_eq!(
            caddy_site(&caddyfile(&secure)).as_deref(),
            Some("https://127.0.0.1")
        );
        let plain = render(
            &cfg(serde_json::json!({"dashboard": {"secure": false, "port": "8443"}})),
            &Env::default(),
            &none,
        );
        assert_eq!(
            caddy_site(&caddyfile(&plain)).as_deref(),
            Some("http://127.0.0.1:8443")
        );
    }
}
