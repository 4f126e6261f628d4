//! config.json as the simulated `pithead` reads it: sparse JSON with reference defaults,
//! validated the way `parse_and_validate_config` does (pithead-model.md §1.3). Every refusal is
//! an `error:` line, exit 1, nothing written.

use serde_json::{Map, Value, json};

/// The wallet placeholders of config.reference.json; a config still holding one is refused.
pub const MONERO_PLACEHOLDER: &str = "YOUR_MONERO_PRIMARY_ADDRESS";
/// See [`MONERO_PLACEHOLDER`].
pub const TARI_PLACEHOLDER: &str = "YOUR_TARI_WALLET_ADDRESS";

/// The settings the simulated stack renders from, after defaults and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub pool: &'static str,
    pub stratum_bind: String,
    pub stratum_port: u64,
    pub stratum_tls: bool,
    pub p2pool_clearnet: bool,
    pub p2pool_data_dir: String,
    pub donate_level: u64,
    pub xvb_enabled: bool,
    pub xvb_tor: bool,
    pub monero_mode_local: bool,
    pub monero_wallet: String,
    pub monero_view_key: String,
    pub monero_prune: bool,
    pub monero_clearnet: bool,
    pub rpc_lan: bool,
    pub zmq_lan: bool,
    pub monero_remote_host: String,
    pub monero_rpc_port: u64,
    pub monero_zmq_port: u64,
    pub monero_data_dir: String,
    pub monero_mem_limit: String,
    pub out_peers: u64,
    pub node_username: String,
    pub node_password: String,
    pub tari_mode: &'static str,
    pub tari_wallet: String,
    pub tari_view_key: String,
    pub tari_spend_key: String,
    pub tari_grpc_lan: bool,
    pub tari_clearnet: bool,
    pub tari_remote_host: String,
    pub tari_grpc_port: u64,
    pub tari_data_dir: String,
    pub tari_mem_limit: String,
    pub secure: bool,
    pub expose_public_ip: bool,
    pub dashboard_port: String,
    pub tari_required: bool,
    pub fail_closed: bool,
    pub check_updates: bool,
    pub onion_enabled: bool,
    pub onion_client_auth: bool,
    pub auth_user: String,
    pub auth_password: String,
    pub firewall: bool,
    pub subnet: String,
    pub prefix: String,
    pub tor_auto_heal: bool,
}

/// The config.json of a freshly provisioned box: Pithead's reference defaults, the wallet
/// addresses and the node credentials the first apply wrote back.
pub fn baseline() -> Value {
    json!({
        "config_version": "2.0.0",
        "p2pool": {
            "pool": "mini", "stratum_bind": "0.0.0.0", "stratum_port": 3333,
            "stratum_password": "", "stratum_tls": false, "clearnet": false, "data_dir": "auto"
        },
        "proxy": { "donate_level": 0 },
        "local_miner": { "enabled": false },
        "xvb": {
            "enabled": true, "url": "na.xmrvsbeast.com:4247", "donor_id": "auto",
            "donation_level": "auto", "tor": true, "standby": { "source": "" }
        },
        "monero": {
            "wallet_address": format!("4{}", "8".repeat(94)),
            "view_key": "", "payout_scan_height": "auto", "mode": "local",
            "node_username": "pithead-a1b2c3", "node_password": "Zq8vNf3kLm2pXr7tWb9c",
            "prune": true, "clearnet_initial_sync": false, "rpc_lan_access": false,
            "zmq_lan_access": false,
            "remote": { "host": "node.remote-monero-host.com", "rpc_port": 18081, "zmq_port": 18083 },
            "prep_blocks_threads": "auto", "out_peers": 48, "data_dir": "auto", "mem_limit": "auto"
        },
        "tari": {
            "wallet_address": format!("12{}", "H".repeat(64)),
            "view_key": "", "spend_public_key": "", "payout_scan_birthday": "auto",
            "mode": "local", "grpc_lan_access": false, "clearnet_initial_sync": false,
            "remote": { "host": "tari-node.lan", "grpc_port": 18142 },
            "data_dir": "auto", "mem_limit": "auto",
            "explorer_url": "https://textexplorer.tari.com"
        },
        "workers": { "api_port": 8080, "api_auth": "none", "api_token": "", "list": [] },
        "dashboard": {
            "secure": true, "host": "auto", "expose_public_ip": false, "port": "auto",
            "timezone": "auto", "auth": { "username": "admin", "password": "" },
            "onion": { "enabled": false, "client_auth": true }, "control": { "enabled": false },
            "hashrate_drop_threshold": 50, "hashrate_drop_minutes": 10, "tari_required": true,
            "fail_closed": false, "check_for_updates": true, "data_dir": "auto"
        },
        "healthchecks": { "ping_url": "" },
        "telegram": {
            "enabled": false, "bot_token": "", "chat_id": "", "daily_summary_time": "08:00",
            "commands": { "enabled": false }
        },
        "notifications": { "webhooks": [], "ntfy": { "url": "", "token": "" }, "tor": true },
        "tor": { "data_dir": "auto", "auto_heal": false },
        "network": { "subnet": "172.28.0.0/24", "tor_egress_firewall": true }
    })
}

/// Reads and validates a config; `Err` holds the `error:` line Pithead would print.
pub fn parse(config: &Value) -> Result<Settings, String> {
    let root = config
        .as_object()
        .ok_or("config.json must be a JSON object")?;
    // A cheap scan first; the path of the offending leaf is only worked out when there is one.
    if has_control(config) {
        check_strings(config, &mut String::new())?;
    }
    let dashboard = Section::of(root, "dashboard");
    let monero = Section::of(root, "monero");
    let network = Section::of(root, "network");
    let p2pool = Section::of(root, "p2pool");
    let proxy = Section::of(root, "proxy");
    let tari = Section::of(root, "tari");
    let tor = Section::of(root, "tor");
    let workers = Section::of(root, "workers");
    let xvb = Section::of(root, "xvb");
    let dashboard_auth = dashboard.section("auth");
    let dashboard_onion = dashboard.section("onion");
    let monero_remote = monero.section("remote");
    let tari_remote = tari.section("remote");

    let pool = match p2pool.str("pool", "mini")? {
        "main" => "main",
        "mini" => "mini",
        "nano" => "nano",
        other => {
            return Err(format!(
                "p2pool.pool must be main, mini or nano (got '{other}')"
            ));
        }
    };
    let monero_mode_local = match monero.str("mode", "local")? {
        "local" => true,
        "remote" => false,
        other => {
            return Err(format!(
                "monero.mode must be local or remote (got '{other}')"
            ));
        }
    };
    let tari_mode = match tari.str("mode", "local")? {
        "local" => "local",
        "remote" => "remote",
        "off" => "off",
        other => {
            return Err(format!(
                "tari.mode must be local, remote or off (got '{other}')"
            ));
        }
    };
    match workers.str("api_auth", "none")? {
        "none" | "name" | "token" => {}
        other => {
            return Err(format!(
                "workers.api_auth must be none, name or token (got '{other}')"
            ));
        }
    }

    let monero_wallet = monero.str("wallet_address", "")?.to_string();
    if monero_wallet.is_empty() || monero_wallet == MONERO_PLACEHOLDER {
        return Err("monero.wallet_address is required (set your primary address)".into());
    }
    if monero_wallet.len() != 95 || !monero_wallet.starts_with('4') {
        return Err(
            "monero.wallet_address must be a primary address (95 characters, starting with 4)"
                .into(),
        );
    }
    let tari_wallet = tari.str("wallet_address", "")?.to_string();
    if tari_mode != "off" && (tari_wallet.is_empty() || tari_wallet == TARI_PLACEHOLDER) {
        return Err("tari.wallet_address is required unless tari.mode is off".into());
    }

    let monero_view_key = monero.str("view_key", "")?.to_string();
    if !monero_view_key.is_empty() {
        if !monero_mode_local {
            return Err(
                "monero.view_key needs monero.mode=local (payout confirmation runs \
                        a local wallet-rpc)"
                    .into(),
            );
        }
        if !is_hex64(&monero_view_key) {
            return Err("monero.view_key must be 64 lowercase hex characters".into());
        }
    }
    let tari_view_key = tari.str("view_key", "")?.to_string();
    let tari_spend_key = tari.str("spend_public_key", "")?.to_string();
    if !tari_view_key.is_empty() || !tari_spend_key.is_empty() {
        if tari_mode != "local" {
            return Err("tari.view_key needs tari.mode=local".into());
        }
        if !is_hex64(&tari_view_key) || !is_hex64(&tari_spend_key) {
            return Err(
                "tari.view_key and tari.spend_public_key must both be 64 hex characters".into(),
            );
        }
    }

    let monero_remote_host = monero_remote
        .str("host", "node.remote-monero-host.com")?
        .to_string();
    let monero_rpc_port = monero_remote.port("rpc_port", 18081)?;
    let monero_zmq_port = monero_remote.port("zmq_port", 18083)?;
    if !monero_mode_local && !is_host(&monero_remote_host) {
        return Err(
            "monero.remote.host is required in remote mode: a bare host name or IP \
                    (never host:port)"
                .into(),
        );
    }
    let tari_remote_host = tari_remote.str("host", "tari-node.lan")?.to_string();
    let tari_grpc_port = tari_remote.port("grpc_port", 18142)?;
    if tari_mode == "remote" && !is_host(&tari_remote_host) {
        return Err("tari.remote.host is required in remote mode: a bare host name or IP".into());
    }

    let stratum_bind = p2pool.str("stratum_bind", "0.0.0.0")?.to_string();
    if stratum_bind.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!(
            "p2pool.stratum_bind must be an IPv4 address (got '{stratum_bind}')"
        ));
    }
    let stratum_port = p2pool.port("stratum_port", 3333)?;
    let donate_level = proxy.int("donate_level", 0)?;
    if donate_level > 99 {
        return Err("proxy.donate_level must be an integer 0..99".into());
    }
    let out_peers = monero.int("out_peers", 48)?;
    if !(8..=1024).contains(&out_peers) {
        return Err("monero.out_peers must be an integer 8..1024".into());
    }

    let subnet = network.str("subnet", "172.28.0.0/24")?.to_string();
    let prefix = subnet_prefix(&subnet)
        .ok_or_else(|| format!("network.subnet must look like X.Y.Z.0/24 (got '{subnet}')"))?;

    let dashboard_port = match dashboard.get("port") {
        None => String::new(),
        Some(Value::String(s)) if s == "auto" || s.is_empty() => String::new(),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(p) if (1..=65535).contains(&p) => p.to_string(),
            _ => return Err("dashboard.port must be auto or 1..65535".into()),
        },
        Some(_) => return Err("dashboard.port must be auto or 1..65535".into()),
    };

    Ok(Settings {
        pool,
        stratum_bind,
        stratum_port,
        stratum_tls: p2pool.bool("stratum_tls", false)?,
        p2pool_clearnet: p2pool.bool("clearnet", false)?,
        p2pool_data_dir: p2pool.dir("data_dir", "./data/p2pool")?,
        donate_level,
        xvb_enabled: xvb.bool("enabled", true)?,
        xvb_tor: xvb.bool("tor", true)?,
        monero_mode_local,
        monero_wallet,
        monero_view_key,
        monero_prune: monero.bool("prune", true)?,
        monero_clearnet: monero.bool("clearnet_initial_sync", false)?,
        rpc_lan: monero.bool("rpc_lan_access", false)?,
        zmq_lan: monero.bool("zmq_lan_access", false)?,
        monero_remote_host,
        monero_rpc_port,
        monero_zmq_port,
        monero_data_dir: monero.dir("data_dir", "./data/monero")?,
        monero_mem_limit: monero.str("mem_limit", "auto")?.to_string(),
        out_peers,
        node_username: monero.str("node_username", "")?.to_string(),
        node_password: monero.str("node_password", "")?.to_string(),
        tari_mode,
        tari_wallet,
        tari_view_key,
        tari_spend_key,
        tari_grpc_lan: tari.bool("grpc_lan_access", false)?,
        tari_clearnet: tari.bool("clearnet_initial_sync", false)?,
        tari_remote_host,
        tari_grpc_port,
        tari_data_dir: tari.dir("data_dir", "./data/tari")?,
        tari_mem_limit: tari.str("mem_limit", "auto")?.to_string(),
        secure: dashboard.bool("secure", true)?,
        expose_public_ip: dashboard.bool("expose_public_ip", false)?,
        dashboard_port,
        tari_required: dashboard.bool("tari_required", true)?,
        fail_closed: dashboard.bool("fail_closed", false)?,
        check_updates: dashboard.bool("check_for_updates", true)?,
        onion_enabled: dashboard_onion.bool("enabled", false)?,
        onion_client_auth: dashboard_onion.bool("client_auth", true)?,
        auth_user: dashboard_auth.str("username", "admin")?.to_string(),
        auth_password: dashboard_auth.str("password", "")?.to_string(),
        firewall: network.bool("tor_egress_firewall", true)?,
        subnet,
        prefix,
        tor_auto_heal: tor.bool("auto_heal", false)?,
    })
}

fn has_control(v: &Value) -> bool {
    match v {
        Value::String(s) => str_has_control(s),
        Value::Object(m) => m.values().any(has_control),
        Value::Array(a) => a.iter().any(has_control),
        _ => false,
    }
}

/// Whether `s` holds a control character (`char::is_control`: C0, DEL, C1). Scans bytes
/// first: C1 controls are U+0080..U+009F, encoded after a 0xC2 lead byte, so a string with
/// no byte below 0x20, no 0x7F and no 0xC2 has none, and most strings are settled there.
fn str_has_control(s: &str) -> bool {
    // A fold with no early exit: the compiler turns it into a vector loop.
    let suspect = s
        .bytes()
        .fold(false, |acc, b| acc | (b < 0x20) | (b == 0x7f) | (b == 0xc2));
    suspect && s.chars().any(char::is_control)
}

/// No string leaf may hold a control character: it would inject lines into .env.
fn check_strings(v: &Value, path: &mut String) -> Result<(), String> {
    match v {
        Value::String(s) if str_has_control(s) => {
            return Err(format!(
                "{} holds a control character; remove it (it would inject .env lines)",
                if path.is_empty() { "a value" } else { path }
            ));
        }
        Value::Object(m) => {
            for (k, v) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                check_strings(v, path)?;
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for v in a {
                check_strings(v, path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// One object of config.json (`monero`, `monero.remote`), read key by key. Each section is
/// found once per parse, and its keys by a scan, not a hash: a section holds a dozen keys
/// or so, and comparing lengths rules out most of them without reading a byte.
#[derive(Clone, Copy)]
struct Section<'a> {
    /// `None` when the object is absent or not an object: every field takes its default.
    map: Option<&'a Map<String, Value>>,
    name: &'static str,
    /// The enclosing section's name, for a nested one.
    parent: Option<&'static str>,
}

impl<'a> Section<'a> {
    /// The top-level object `name`.
    fn of(root: &'a Map<String, Value>, name: &'static str) -> Section<'a> {
        Section {
            map: root.get(name).and_then(Value::as_object),
            name,
            parent: None,
        }
    }

    /// The object `name` inside this one.
    fn section(&self, name: &'static str) -> Section<'a> {
        Section {
            map: self.raw(name).and_then(Value::as_object),
            name,
            parent: Some(self.name),
        }
    }

    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map?.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The dotted path of a key, for messages.
    fn path(&self, key: &str) -> String {
        match self.parent {
            Some(p) => format!("{p}.{}.{key}", self.name),
            None => format!("{}.{key}", self.name),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        // An explicit null is treated as absent, as jq's `// default` does for null.
        self.raw(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, want: &str, got: &Value) -> String {
        format!("{} must be {want} (got {got})", self.path(key))
    }

    fn str(&self, key: &str, default: &'static str) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    // An explicit `false` is honoured, never replaced by the default (#294).
    fn bool(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.wrong(key, "true or false", v)),
        }
    }

    fn int(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                self.wrong(key, "a non-negative integer", &Value::Number(n.clone()))
            }),
            Some(v) => Err(self.wrong(key, "an integer", v)),
        }
    }

    fn port(&self, key: &str, default: u64) -> Result<u64, String> {
        let p = self.int(key, default)?;
        if (1..=65535).contains(&p) {
            Ok(p)
        } else {
            Err(format!(
                "{} must be a port 1..65535 (got {p})",
                self.path(key)
            ))
        }
    }

    /// A data dir: auto or empty means `default` (./data/<svc>); otherwise an absolute,
    /// clean path.
    fn dir(&self, key: &str, default: &'static str) -> Result<String, String> {
        let d = self.str(key, "auto")?;
        if d.is_empty() || d == "auto" {
            return Ok(default.to_string());
        }
        if !d.starts_with('/')
            || d.contains("..")
            || d.contains("//")
            || d.contains("/./")
            || d.contains(':')
            || d == "/"
        {
            return Err(format!(
                "{} must be auto or a clean absolute path (got '{d}')",
                self.path(key)
            ));
        }
        Ok(d.to_string())
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `X.Y.Z.0/24` → `X.Y.Z`.
fn subnet_prefix(subnet: &str) -> Option<String> {
    let net = subnet.strip_suffix(".0/24")?;
    let octets: Vec<&str> = net.split('.').collect();
    if octets.len() != 3
        || !octets
            .iter()
            .all(|o| o.parse::<u8>().is_ok() && !o.is_empty())
    {
        return None;
    }
    Some(net.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn set(path: &str, v: Value) -> Value {
        let mut c = baseline();
        let mut cur = &mut c;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            cur = cur.as_object_mut().unwrap().entry(*p).or_insert(json!({}));
        }
        cur.as_object_mut()
            .unwrap()
            .insert(parts[parts.len() - 1].into(), v);
        c
    }

    #[test]
    fn the_baseline_is_valid_with_reference_defaults() {
        let s = parse(&baseline()).unwrap();
        assert_eq!(s.pool, "mini");
        assert!(s.secure && s.monero_mode_local && s.firewall);
        assert_eq!(s.prefix, "172.28.0");
    }

    #[test]
    fn refusals_name_the_key() {
        for (path, v, needle) in [
            ("monero.mode", json!("cloud"), "monero.mode"),
            ("tari.mode", json!("maybe"), "tari.mode"),
            ("p2pool.pool", json!("mega"), "p2pool.pool"),
            ("monero.prune", json!("true"), "monero.prune"),
            ("p2pool.stratum_port", json!("3333"), "stratum_port"),
            (
                "dashboard.auth.username",
                json!("a\nB=1"),
                "control character",
            ),
            ("network.subnet", json!("10.0.0.0/16"), "network.subnet"),
            (
                "monero.wallet_address",
                json!(MONERO_PLACEHOLDER),
                "wallet_address",
            ),
        ] {
            let e = parse(&set(path, v)).unwrap_err();
            assert!(e.contains(needle), "{path}: {e}");
        }
        let remote_with_key = set("monero.mode", json!("remote"));
        let mut c = remote_with_key.clone();
        c["monero"]["view_key"] = json!("a".repeat(64));
        assert!(parse(&c).unwrap_err().contains("view_key"));
        let mut c = remote_with_key;
        c["monero"]["remote"]["host"] = json!("node:18081");
        assert!(parse(&c).unwrap_err().contains("remote.host"));
        assert!(parse(&json!([1])).is_err());
    }

    /// Messages name the whole dotted path, nested sections included.
    #[test]
    fn refusals_spell_the_full_path() {
        for (path, v, message) in [
            (
                "monero.remote.rpc_port",
                json!(0),
                "monero.remote.rpc_port must be a port 1..65535 (got 0)",
            ),
            (
                "p2pool.stratum_port",
                json!("3333"),
                "p2pool.stratum_port must be an integer (got \"3333\")",
            ),
            (
                "dashboard.onion.enabled",
                json!(1),
                "dashboard.onion.enabled must be true or false (got 1)",
            ),
            (
                "tari.data_dir",
                json!("data/tari"),
                "tari.data_dir must be auto or a clean absolute path (got 'data/tari')",
            ),
        ] {
            assert_eq!(parse(&set(path, v)).unwrap_err(), message);
        }
        // A section that is not an object reads as absent: every field takes its default.
        let mut c = baseline();
        c["tor"] = json!("on");
        assert!(!parse(&c).unwrap().tor_auto_heal);
    }

    #[test]
    fn explicit_false_is_honoured_and_absent_takes_defaults() {
        let s = parse(&set("network.tor_egress_firewall", json!(false))).unwrap();
        assert!(!s.firewall);
        let mut c = baseline();
        c.as_object_mut().unwrap().remove("network");
        c["p2pool"].as_object_mut().unwrap().remove("pool");
        let s = parse(&c).unwrap();
        assert!(s.firewall);
        assert_eq!(s.pool, "mini");
        assert_eq!(s.subnet, "172.28.0.0/24");
    }
}

#[cfg(test)]
mod control_tests {
    use super::str_has_control;

    #[test]
    fn byte_prefilter_agrees_with_char_is_control() {
        for s in [
            "plain",
            "tab\there",
            "nl\n",
            "del\u{7f}",
            "c1\u{85}",
            "c1\u{9f}end",
            "é ok",
            "\u{a0} nbsp",
            "",
        ] {
            assert_eq!(str_has_control(s), s.chars().any(char::is_control), "{s:?}");
        }
    }
}
