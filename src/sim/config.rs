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
    let r = Reader::new(root);

    let pool = match r.str("p2pool.pool", "mini")? {
        "main" => "main",
        "mini" => "mini",
        "nano" => "nano",
        other => {
            return Err(format!(
                "p2pool.pool must be main, mini or nano (got '{other}')"
            ));
        }
    };
    let monero_mode_local = match r.str("monero.mode", "local")? {
        "local" => true,
        "remote" => false,
        other => {
            return Err(format!(
                "monero.mode must be local or remote (got '{other}')"
            ));
        }
    };
    let tari_mode = match r.str("tari.mode", "local")? {
        "local" => "local",
        "remote" => "remote",
        "off" => "off",
        other => {
            return Err(format!(
                "tari.mode must be local, remote or off (got '{other}')"
            ));
        }
    };
    match r.str("workers.api_auth", "none")? {
        "none" | "name" | "token" => {}
        other => {
            return Err(format!(
                "workers.api_auth must be none, name or token (got '{other}')"
            ));
        }
    }

    let monero_wallet = r.str("monero.wallet_address", "")?.to_string();
    if monero_wallet.is_empty() || monero_wallet == MONERO_PLACEHOLDER {
        return Err("monero.wallet_address is required (set your primary address)".into());
    }
    if monero_wallet.len() != 95 || !monero_wallet.starts_with('4') {
        return Err(
            "monero.wallet_address must be a primary address (95 characters, starting with 4)"
                .into(),
        );
    }
    let tari_wallet = r.str("tari.wallet_address", "")?.to_string();
    if tari_mode != "off" && (tari_wallet.is_empty() || tari_wallet == TARI_PLACEHOLDER) {
        return Err("tari.wallet_address is required unless tari.mode is off".into());
    }

    let monero_view_key = r.str("monero.view_key", "")?.to_string();
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
    let tari_view_key = r.str("tari.view_key", "")?.to_string();
    let tari_spend_key = r.str("tari.spend_public_key", "")?.to_string();
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

    let monero_remote_host = r
        .str("monero.remote.host", "node.remote-monero-host.com")?
        .to_string();
    let monero_rpc_port = r.port("monero.remote.rpc_port", 18081)?;
    let monero_zmq_port = r.port("monero.remote.zmq_port", 18083)?;
    if !monero_mode_local && !is_host(&monero_remote_host) {
        return Err(
            "monero.remote.host is required in remote mode: a bare host name or IP \
                    (never host:port)"
                .into(),
        );
    }
    let tari_remote_host = r.str("tari.remote.host", "tari-node.lan")?.to_string();
    let tari_grpc_port = r.port("tari.remote.grpc_port", 18142)?;
    if tari_mode == "remote" && !is_host(&tari_remote_host) {
        return Err("tari.remote.host is required in remote mode: a bare host name or IP".into());
    }

    let stratum_bind = r.str("p2pool.stratum_bind", "0.0.0.0")?.to_string();
    if stratum_bind.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!(
            "p2pool.stratum_bind must be an IPv4 address (got '{stratum_bind}')"
        ));
    }
    let stratum_port = r.port("p2pool.stratum_port", 3333)?;
    let donate_level = r.int("proxy.donate_level", 0)?;
    if donate_level > 99 {
        return Err("proxy.donate_level must be an integer 0..99".into());
    }
    let out_peers = r.int("monero.out_peers", 48)?;
    if !(8..=1024).contains(&out_peers) {
        return Err("monero.out_peers must be an integer 8..1024".into());
    }

    let subnet = r.str("network.subnet", "172.28.0.0/24")?.to_string();
    let prefix = subnet_prefix(&subnet)
        .ok_or_else(|| format!("network.subnet must look like X.Y.Z.0/24 (got '{subnet}')"))?;

    let dashboard_port = match r.get("dashboard.port") {
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
        stratum_tls: r.bool("p2pool.stratum_tls", false)?,
        p2pool_clearnet: r.bool("p2pool.clearnet", false)?,
        p2pool_data_dir: r.dir("p2pool.data_dir", "p2pool")?,
        donate_level,
        xvb_enabled: r.bool("xvb.enabled", true)?,
        xvb_tor: r.bool("xvb.tor", true)?,
        monero_mode_local,
        monero_wallet,
        monero_view_key,
        monero_prune: r.bool("monero.prune", true)?,
        monero_clearnet: r.bool("monero.clearnet_initial_sync", false)?,
        rpc_lan: r.bool("monero.rpc_lan_access", false)?,
        zmq_lan: r.bool("monero.zmq_lan_access", false)?,
        monero_remote_host,
        monero_rpc_port,
        monero_zmq_port,
        monero_data_dir: r.dir("monero.data_dir", "monero")?,
        monero_mem_limit: r.str("monero.mem_limit", "auto")?.to_string(),
        out_peers,
        node_username: r.str("monero.node_username", "")?.to_string(),
        node_password: r.str("monero.node_password", "")?.to_string(),
        tari_mode,
        tari_wallet,
        tari_view_key,
        tari_spend_key,
        tari_grpc_lan: r.bool("tari.grpc_lan_access", false)?,
        tari_clearnet: r.bool("tari.clearnet_initial_sync", false)?,
        tari_remote_host,
        tari_grpc_port,
        tari_data_dir: r.dir("tari.data_dir", "tari")?,
        tari_mem_limit: r.str("tari.mem_limit", "auto")?.to_string(),
        secure: r.bool("dashboard.secure", true)?,
        expose_public_ip: r.bool("dashboard.expose_public_ip", false)?,
        dashboard_port,
        tari_required: r.bool("dashboard.tari_required", true)?,
        fail_closed: r.bool("dashboard.fail_closed", false)?,
        check_updates: r.bool("dashboard.check_for_updates", true)?,
        onion_enabled: r.bool("dashboard.onion.enabled", false)?,
        onion_client_auth: r.bool("dashboard.onion.client_auth", true)?,
        auth_user: r.str("dashboard.auth.username", "admin")?.to_string(),
        auth_password: r.str("dashboard.auth.password", "")?.to_string(),
        firewall: r.bool("network.tor_egress_firewall", true)?,
        subnet,
        prefix,
        tor_auto_heal: r.bool("tor.auto_heal", false)?,
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

/// An object on the way to fields, by its dotted path (`None`: absent or not an object).
type Parent<'a> = (&'static str, Option<&'a Map<String, Value>>);

struct Reader<'a> {
    root: &'a Map<String, Value>,
    /// The objects holding the fields read so far, by dotted path (`monero.remote`): most
    /// fields share one with others, and every lookup in a `serde_json` map hashes its key.
    parents: std::cell::RefCell<Vec<Parent<'a>>>,
}

impl<'a> Reader<'a> {
    fn new(root: &'a Map<String, Value>) -> Reader<'a> {
        Reader {
            root,
            parents: std::cell::RefCell::new(Vec::with_capacity(16)),
        }
    }

    /// The object at a dotted path, if there is one.
    fn object(&self, path: &'static str) -> Option<&'a Map<String, Value>> {
        if let Some((_, found)) = self.parents.borrow().iter().find(|(p, _)| *p == path) {
            return *found;
        }
        let mut cur = self.root;
        for part in path.split('.') {
            match cur.get(part).and_then(Value::as_object) {
                Some(m) => cur = m,
                None => {
                    self.parents.borrow_mut().push((path, None));
                    return None;
                }
            }
        }
        self.parents.borrow_mut().push((path, Some(cur)));
        Some(cur)
    }

    fn get(&self, path: &'static str) -> Option<&'a Value> {
        let cur = match path.rsplit_once('.') {
            // A scan, not a hash: a section holds a dozen keys or so, and comparing their
            // lengths rules out most of them without reading a byte.
            Some((parent, key)) => self.object(parent)?.iter().find(|(k, _)| *k == key)?.1,
            None => self.root.get(path)?,
        };
        // An explicit null is treated as absent, as jq's `// default` does for null.
        (!cur.is_null()).then_some(cur)
    }

    fn wrong(path: &str, want: &str, got: &Value) -> String {
        format!("{path} must be {want} (got {got})")
    }

    fn str(&self, path: &'static str, default: &'static str) -> Result<&'a str, String> {
        match self.get(path) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(Self::wrong(path, "a string", v)),
        }
    }

    // An explicit `false` is honoured, never replaced by the default (#294).
    fn bool(&self, path: &'static str, default: bool) -> Result<bool, String> {
        match self.get(path) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(Self::wrong(path, "true or false", v)),
        }
    }

    fn int(&self, path: &'static str, default: u64) -> Result<u64, String> {
        match self.get(path) {
            None => Ok(default),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                Self::wrong(path, "a non-negative integer", &Value::Number(n.clone()))
            }),
            Some(v) => Err(Self::wrong(path, "an integer", v)),
        }
    }

    fn port(&self, path: &'static str, default: u64) -> Result<u64, String> {
        let p = self.int(path, default)?;
        if (1..=65535).contains(&p) {
            Ok(p)
        } else {
            Err(format!("{path} must be a port 1..65535 (got {p})"))
        }
    }

    /// A data dir: auto or empty means ./data/<svc>; otherwise an absolute, clean path.
    fn dir(&self, path: &'static str, svc: &str) -> Result<String, String> {
        let d = self.str(path, "auto")?;
        if d.is_empty() || d == "auto" {
            return Ok(format!("./data/{svc}"));
        }
        if !d.starts_with('/')
            || d.contains("..")
            || d.contains("//")
            || d.contains("/./")
            || d.contains(':')
            || d == "/"
        {
            return Err(format!(
                "{path} must be auto or a clean absolute path (got '{d}')"
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
mod tests {
    use super::*;

    fn set(path: &str, v: Value) -> Value {
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
