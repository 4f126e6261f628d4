//! config.json: read sparsely with Pithead's reference defaults, and validated the way
//! Pithead refuses (pithead-model.md §1.3). Every problem is collected, so one apply reports
//! them all; any problem means exit 1 with nothing written.

use serde_json::Value;

/// The config values the fake renders, after defaults.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Config {
    pub monero_mode: String,
    pub monero_wallet: String,
    pub monero_view_key: String,
    pub payout_scan_height: String,
    pub node_username: String,
    pub node_password: String,
    pub prune: bool,
    pub monero_clearnet: bool,
    pub rpc_lan: bool,
    pub zmq_lan: bool,
    pub monero_remote_host: String,
    pub monero_rpc_port: u64,
    pub monero_zmq_port: u64,
    pub out_peers: u64,
    pub prep_threads: String,
    pub monero_mem_limit: String,
    pub monero_data_dir: String,

    pub tari_mode: String,
    pub tari_wallet: String,
    pub tari_view_key: String,
    pub tari_spend_key: String,
    pub tari_birthday: String,
    pub tari_grpc_lan: bool,
    pub tari_clearnet: bool,
    pub tari_remote_host: String,
    pub tari_grpc_port: u64,
    pub tari_mem_limit: String,
    pub tari_data_dir: String,

    pub pool: String,
    pub stratum_bind: String,
    pub stratum_port: u64,
    pub stratum_password: String,
    pub stratum_tls: bool,
    pub p2pool_clearnet: bool,
    pub p2pool_data_dir: String,
    pub donate_level: u64,

    pub xvb_enabled: bool,
    pub xvb_tor: bool,
    pub xvb_url: String,
    pub xvb_donor_id: String,
    pub xvb_donation_level: String,

    pub secure: bool,
    pub tari_required: bool,
    pub dashboard_host: String,
    pub dashboard_port: String,
    pub auth_user: String,
    pub auth_password: String,
    pub onion_enabled: bool,
    pub onion_client_auth: bool,
    pub control_enabled: bool,
    pub fail_closed: bool,
    pub check_updates: bool,
    pub dashboard_data_dir: String,
    /// `dashboard.timezone`: "auto" (or empty) renders the host's zone into DASHBOARD_TZ.
    pub dashboard_timezone: String,

    pub subnet: String,
    pub firewall: bool,
    pub tor_auto_heal: bool,
    pub tor_data_dir: String,
}

/// The placeholder wallet values of config.reference.json, which Pithead refuses.
pub const PLACEHOLDERS: [&str; 3] = [
    "YOUR_MONERO_WALLET_ADDRESS",
    "YOUR_TARI_WALLET_ADDRESS",
    "placeholder",
];

struct Reader<'a> {
    root: &'a Value,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn get(&self, path: &str) -> Option<&Value> {
        let mut v = self.root;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        if v.is_null() { None } else { Some(v) }
    }

    fn string(&mut self, path: &str, default: &str) -> String {
        match self.get(path) {
            None => default.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                self.errors
                    .push(format!("{path} must be a string (got {other})"));
                default.to_string()
            }
        }
    }

    fn boolean(&mut self, path: &str, default: bool) -> bool {
        match self.get(path) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.errors
                    .push(format!("{path} must be true or false (got {other})"));
                default
            }
        }
    }

    fn int(&mut self, path: &str, default: u64, min: u64, max: u64) -> u64 {
        let value = match self.get(path) {
            None => return default,
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            Some(_) => None,
        };
        match value {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                let got = self.get(path).cloned().unwrap_or(Value::Null);
                self.errors.push(format!(
                    "{path} must be an integer from {min} to {max} (got {got})"
                ));
                default
            }
        }
    }

    fn choice(&mut self, path: &str, default: &str, allowed: &[&str]) -> String {
        let value = self.string(path, default);
        if !allowed.contains(&value.as_str()) {
            self.errors.push(format!(
                "{path} must be one of {} (got {value:?})",
                allowed.join(", ")
            ));
        }
        value
    }
}

fn control_char_paths(value: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.chars().any(char::is_control) => out.push(path.join(".")),
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                control_char_paths(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                control_char_paths(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_base58(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() && !b"0OIl".contains(&b))
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b))
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The first three octets of a `X.Y.Z.0/24` subnet, or `None` when it is not one.
pub fn subnet_prefix(subnet: &str) -> Option<String> {
    let net = subnet.strip_suffix(".0/24")?;
    let octets: Vec<&str> = net.split('.').collect();
    (octets.len() == 3
        && octets
            .iter()
            .all(|o| o.parse::<u8>().is_ok() && !o.is_empty()))
    .then(|| net.to_string())
}

/// Parses and validates config.json text. `Err` holds every problem found.
pub fn parse(text: &str) -> Result<Config, Vec<String>> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| vec![format!("config.json is not valid JSON: {e}")])?;
    if !root.is_object() {
        return Err(vec!["config.json must hold a JSON object".into()]);
    }
    let mut bad = Vec::new();
    control_char_paths(&root, &mut Vec::new(), &mut bad);
    if !bad.is_empty() {
        return Err(bad
            .into_iter()
            .map(|p| {
                format!("{p} holds a control character; remove it (it would inject .env lines)")
            })
            .collect());
    }
    let mut r = Reader {
        root: &root,
        errors: Vec::new(),
    };
    let c = Config {
        monero_mode: r.choice("monero.mode", "local", &["local", "remote"]),
        monero_wallet: r.string("monero.wallet_address", ""),
        monero_view_key: r.string("monero.view_key", ""),
        payout_scan_height: r.string("monero.payout_scan_height", "auto"),
        node_username: r.string("monero.node_username", ""),
        node_password: r.string("monero.node_password", ""),
        prune: r.boolean("monero.prune", true),
        monero_clearnet: r.boolean("monero.clearnet_initial_sync", false),
        rpc_lan: r.boolean("monero.rpc_lan_access", false),
        zmq_lan: r.boolean("monero.zmq_lan_access", false),
        monero_remote_host: r.string("monero.remote.host", "node.remote-monero-host.com"),
        monero_rpc_port: r.int("monero.remote.rpc_port", 18081, 1, 65535),
        monero_zmq_port: r.int("monero.remote.zmq_port", 18083, 1, 65535),
        out_peers: r.int("monero.out_peers", 48, 8, 1024),
        prep_threads: r.string("monero.prep_blocks_threads", "auto"),
        monero_mem_limit: r.string("monero.mem_limit", "auto"),
        monero_data_dir: r.string("monero.data_dir", "auto"),

        tari_mode: r.choice("tari.mode", "local", &["local", "remote", "off"]),
        tari_wallet: r.string("tari.wallet_address", ""),
        tari_view_key: r.string("tari.view_key", ""),
        tari_spend_key: r.string("tari.spend_public_key", ""),
        tari_birthday: r.string("tari.payout_scan_birthday", "auto"),
        tari_grpc_lan: r.boolean("tari.grpc_lan_access", false),
        tari_clearnet: r.boolean("tari.clearnet_initial_sync", false),
        tari_remote_host: r.string("tari.remote.host", "tari-node.lan"),
        tari_grpc_port: r.int("tari.remote.grpc_port", 18142, 1, 65535),
        tari_mem_limit: r.string("tari.mem_limit", "auto"),
        tari_data_dir: r.string("tari.data_dir", "auto"),

        pool: r.choice("p2pool.pool", "mini", &["main", "mini", "nano"]),
        stratum_bind: r.string("p2pool.stratum_bind", "0.0.0.0"),
        stratum_port: r.int("p2pool.stratum_port", 3333, 1, 65535),
        stratum_password: r.string("p2pool.stratum_password", ""),
        stratum_tls: r.boolean("p2pool.stratum_tls", false),
        p2pool_clearnet: r.boolean("p2pool.clearnet", false),
        p2pool_data_dir: r.string("p2pool.data_dir", "auto"),
        donate_level: r.int("proxy.donate_level", 0, 0, 99),

        xvb_enabled: r.boolean("xvb.enabled", true),
        xvb_tor: r.boolean("xvb.tor", true),
        xvb_url: r.string("xvb.url", "na.xmrvsbeast.com:4247"),
        xvb_donor_id: r.string("xvb.donor_id", "auto"),
        xvb_donation_level: r.string("xvb.donation_level", "auto"),

        secure: r.boolean("dashboard.secure", true),
        tari_required: r.boolean("dashboard.tari_required", true),
        dashboard_host: r.string("dashboard.host", "auto"),
        dashboard_port: r.string("dashboard.port", "auto"),
        auth_user: r.string("dashboard.auth.username", "admin"),
        auth_password: r.string("dashboard.auth.password", ""),
        onion_enabled: r.boolean("dashboard.onion.enabled", false),
        onion_client_auth: r.boolean("dashboard.onion.client_auth", true),
        control_enabled: r.boolean("dashboard.control.enabled", false),
        fail_closed: r.boolean("dashboard.fail_closed", false),
        check_updates: r.boolean("dashboard.check_for_updates", true),
        dashboard_data_dir: r.string("dashboard.data_dir", "auto"),
        dashboard_timezone: r.string("dashboard.timezone", "auto"),

        subnet: r.string("network.subnet", "172.28.0.0/24"),
        firewall: r.boolean("network.tor_egress_firewall", true),
        tor_auto_heal: r.boolean("tor.auto_heal", false),
        tor_data_dir: r.string("tor.data_dir", "auto"),
    };
    let mut errors = r.errors;
    cross_check(&c, &mut errors);
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(errors)
    }
}

fn cross_check(c: &Config, errors: &mut Vec<String>) {
    let mut err = |m: String| errors.push(m);
    let w = &c.monero_wallet;
    if w.is_empty() || PLACEHOLDERS.contains(&w.as_str()) {
        err("monero.wallet_address is required (a primary address starting with 4)".into());
    } else if w.len() != 95 || !w.starts_with('4') || !is_base58(w) {
        // The fake checks shape only; Pithead also verifies the Keccak checksum.
        err("monero.wallet_address must be a primary address: 95 base58 characters starting with 4 (subaddresses and integrated addresses are refused)".into());
    }
    if c.tari_mode != "off" {
        let t = &c.tari_wallet;
        if t.is_empty() || PLACEHOLDERS.contains(&t.as_str()) {
            err("tari.wallet_address is required unless tari.mode is off".into());
        } else if !is_base58(t) || t.len() < 30 {
            err("tari.wallet_address must be a base58 Tari address without whitespace".into());
        }
    }
    if !c.monero_view_key.is_empty() {
        if c.monero_mode != "local" {
            err("monero.view_key needs monero.mode=local (payout confirmation scans the local node); clear it or switch to local".into());
        } else if !is_hex64(&c.monero_view_key) {
            err("monero.view_key must be 64 lowercase hex characters".into());
        }
        if c.payout_scan_height != "auto" && c.payout_scan_height.parse::<u64>().is_err() {
            err("monero.payout_scan_height must be auto or an integer".into());
        }
    }
    let tari_keys = (!c.tari_view_key.is_empty(), !c.tari_spend_key.is_empty());
    if tari_keys != (false, false) {
        if c.tari_mode != "local" {
            err("tari.view_key needs tari.mode=local".into());
        } else if tari_keys != (true, true) {
            err("tari.view_key and tari.spend_public_key must be set together".into());
        } else if !is_hex64(&c.tari_view_key) || !is_hex64(&c.tari_spend_key) {
            err("tari.view_key and tari.spend_public_key must be 64 hex characters".into());
        }
    }
    if subnet_prefix(&c.subnet).is_none() {
        err(format!(
            "network.subnet must look like X.Y.Z.0/24 (got {:?})",
            c.subnet
        ));
    }
    if c.monero_mode == "remote" && !is_host(&c.monero_remote_host) {
        err("monero.remote.host is required in remote mode: a bare hostname or IP, no port".into());
    }
    if c.tari_mode == "remote" && !is_host(&c.tari_remote_host) {
        err("tari.remote.host is required in remote mode: a bare hostname or IP, no port".into());
    }
    if !is_ipv4(&c.stratum_bind) {
        err(format!(
            "p2pool.stratum_bind must be an IPv4 address (got {:?})",
            c.stratum_bind
        ));
    }
    let pw = &c.stratum_password;
    if !pw.is_empty()
        && pw != "auto"
        && (pw.len() > 128
            || !pw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:@-".contains(&b)))
    {
        err("p2pool.stratum_password must be empty, auto, or 1..128 of [A-Za-z0-9._:@-]".into());
    }
    let pass = &c.auth_password;
    if !pass.is_empty() && (pass.len() < 8 || pass.len() > 128 || pass.contains('"')) {
        err(
            "dashboard.auth.password must be 8..128 printable characters without a double quote"
                .into(),
        );
    }
    if c.dashboard_port != "auto" && c.dashboard_port.parse::<u16>().map_or(true, |p| p == 0) {
        err("dashboard.port must be auto or 1..65535".into());
    }
    if c.dashboard_host != "auto" && !is_host(&c.dashboard_host) {
        err("dashboard.host must be auto or a bare host name or IP".into());
    }
    for (key, dir) in [
        ("monero.data_dir", &c.monero_data_dir),
        ("tari.data_dir", &c.tari_data_dir),
        ("p2pool.data_dir", &c.p2pool_data_dir),
        ("dashboard.data_dir", &c.dashboard_data_dir),
        ("tor.data_dir", &c.tor_data_dir),
    ] {
        if dir != "auto" && !dir.is_empty() {
            let bad = !dir.starts_with('/')
                || dir.contains("..")
                || dir.contains("//")
                || dir.contains("/./")
                || dir.contains(':')
                || ["/", "/home", "/root", "/mnt", "/media"].contains(&dir.trim_end_matches('/'));
            if bad {
                err(format!(
                    "{key} must be auto or an absolute path that is not a system root (got {dir:?})"
                ));
            }
        }
    }
}

/// Sets `monero.node_username`/`node_password` in config.json text, as Pithead writes
/// generated node credentials back on the first local apply.
pub fn with_node_creds(text: &str, username: &str, password: &str) -> Option<String> {
    let mut root: Value = serde_json::from_str(text).ok()?;
    let monero = root
        .as_object_mut()?
        .entry("monero")
        .or_insert_with(|| Value::Object(Default::default()));
    let monero = monero.as_object_mut()?;
    monero.insert("node_username".into(), Value::String(username.into()));
    monero.insert("node_password".into(), Value::String(password.into()));
    let mut out = serde_json::to_string_pretty(&root).ok()?;
    out.push('\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "monero": {"wallet_address": crate::setup::fake_monero_address()},
            "tari": {"wallet_address": crate::setup::fake_tari_address()},
        })
    }

    fn errors_with(path: &str, value: serde_json::Value) -> Vec<String> {
        let mut v = base();
        let (block, key) = path.split_once('.').unwrap();
        if let Some((sub, leaf)) = key.split_once('.') {
            v[block][sub][leaf] = value;
        } else {
            v[block][key] = value;
        }
        parse(&v.to_string()).err().unwrap_or_default()
    }

    #[test]
    fn the_reference_defaults_apply_to_a_sparse_config() {
        let c = parse(&base().to_string()).unwrap();
        assert_eq!(
            (
                c.monero_mode.as_str(),
                c.tari_mode.as_str(),
                c.pool.as_str()
            ),
            ("local", "local", "mini")
        );
        assert!(c.prune && c.secure && c.tari_required && c.xvb_enabled && c.firewall);
        assert_eq!(c.subnet, "172.28.0.0/24");
    }

    #[test]
    fn an_explicit_false_is_honoured() {
        let mut v = base();
        v["network"] = serde_json::json!({"tor_egress_firewall": false});
        assert!(!parse(&v.to_string()).unwrap().firewall);
    }

    #[test]
    fn refusals_name_the_key() {
        assert!(errors_with("p2pool.pool", "big".into())[0].contains("p2pool.pool"));
        assert!(errors_with("tari.mode", "maybe".into())[0].contains("tari.mode"));
        assert!(errors_with("monero.out_peers", 4.into())[0].contains("monero.out_peers"));
        assert!(errors_with("proxy.donate_level", 100.into())[0].contains("donate_level"));
        assert!(errors_with("monero.wallet_address", "8abc".into())[0].contains("primary address"));
        assert!(errors_with("network.subnet", "10.0.0.0/16".into())[0].contains("network.subnet"));
        assert!(
            errors_with("monero.data_dir", "relative/dir".into())[0].contains("monero.data_dir")
        );
        assert!(errors_with("dashboard.host", "a\u{7}b".into())[0].contains("control character"));
        assert!(errors_with("xvb.enabled", "yes".into())[0].contains("true or false"));
    }

    #[test]
    fn cross_key_rules() {
        let mut v = base();
        v["monero"]["mode"] = "remote".into();
        v["monero"]["remote"] = serde_json::json!({"host": ""});
        let e = parse(&v.to_string()).unwrap_err();
        assert!(e.iter().any(|m| m.contains("monero.remote.host")), "{e:?}");
        v["monero"]["remote"]["host"] = "node.example".into();
        v["monero"]["view_key"] = "a".repeat(64).into();
        let e = parse(&v.to_string()).unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("view_key needs monero.mode=local")),
            "{e:?}"
        );
        let mut off = base();
        off["tari"] = serde_json::json!({"mode": "off"});
        assert!(
            parse(&off.to_string()).is_ok(),
            "no Tari wallet needed when off"
        );
        let mut half = base();
        half["tari"]["view_key"] = "c".repeat(64).into();
        assert!(
            parse(&half.to_string()).is_err(),
            "view and spend keys go together"
        );
    }

    #[test]
    fn node_creds_are_written_back() {
        let text = with_node_creds(&base().to_string(), "u", "p").unwrap();
        let c = parse(&text).unwrap();
        assert_eq!(
            (c.node_username.as_str(), c.node_password.as_str()),
            ("u", "p")
        );
    }
}
