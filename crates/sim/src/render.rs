//! `render_env` of the simulated stack: settings + preserved secrets → the .env posture, with
//! the key spellings of Pithead (pithead-model.md §3.3), and the Caddyfile's inputs.
//!
//! .env is a fixed table indexed by [`Key`], so a diff is a walk over one array and a container's
//! inputs are a list of indices: no hashing, no maps, on the hot path of a walk.

use std::borrow::Cow;

use super::config::Settings;

macro_rules! keys {
    ($($k:ident),* $(,)?) => {
        /// A .env key the simulated stack renders.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Key { $($k),* }

        impl Key {
            /// Every key, in table order.
            pub const ALL: &'static [Key] = &[$(Key::$k),*];
            /// The .env spelling.
            pub const fn name(self) -> &'static str {
                match self { $(Key::$k => stringify!($k)),* }
            }
        }
    };
}

keys! {
    COMPOSE_PROFILES, DEPLOYMENT_COMPLETED, NETWORK_SUBNET, NETWORK_PREFIX,
    MONERO_DATA_DIR, TARI_DATA_DIR, P2POOL_DATA_DIR, DASHBOARD_DATA_DIR, TOR_DATA_DIR,
    CLEARNET_STATE_DIR, CONTROL_DIR, CADDY_LOG_DIR, PROXY_TLS_DIR, PITHEAD_TLS_DIR,
    MONERO_NODE_USERNAME, MONERO_NODE_PASSWORD, MONERO_WALLET_ADDRESS, MONERO_VIEW_KEY,
    PAYOUT_SCAN_HEIGHT, PAYOUT_CONFIRM_ENABLED, WALLET_RPC_USERNAME, WALLET_RPC_PASSWORD,
    MONERO_WALLET_RPC_URL, MONERO_PRUNE, MONERO_CLEARNET_SYNC, MONERO_PREP_THREADS,
    MONERO_OUT_PEERS, MONERO_RPC_BIND, MONERO_ZMQ_BIND, MONERO_NODE_HOST, MONERO_RPC_URL,
    MONERO_RPC_PORT, MONERO_ZMQ_PORT, MONERO_MEM_LIMIT,
    TARI_WALLET_ADDRESS, TARI_VIEW_KEY, TARI_SPEND_PUBLIC_KEY, TARI_WALLET_PASSWORD,
    TARI_WALLET_BIRTHDAY, TARI_PAYOUT_CONFIRM_ENABLED, TARI_WALLET_SECRET_FILE, TARI_MODE,
    TARI_GRPC_ADDRESS, TARI_GRPC_BIND, TARI_CLEARNET_SYNC, TARI_MEM_LIMIT, TARI_REQUIRED,
    MONERO_ONION_ADDRESS, TARI_ONION_ADDRESS, P2POOL_ONION_ADDRESS, DASHBOARD_ONION_ADDRESS,
    DASHBOARD_ONION_ENABLED, DASHBOARD_ONION_CLIENT_AUTH,
    P2POOL_FLAGS, P2POOL_PORT, P2POOL_URL, P2POOL_CLEARNET, STRATUM_BIND, STRATUM_PORT,
    PROXY_STRATUM_PASSWORD, PROXY_STRATUM_TLS, PROXY_API_PORT, PROXY_AUTH_TOKEN,
    PROXY_DONATE_LEVEL, XVB_ENABLED, XVB_TOR_ENABLED,
    DASHBOARD_SECURE, DASHBOARD_EXPOSE_PUBLIC_IP, DASHBOARD_TZ, DASHBOARD_AUTH_USER,
    DASHBOARD_FAIL_CLOSED, DASHBOARD_CHECK_UPDATES, HOST_IP, HOST_PORT,
    TOR_EGRESS_FIREWALL, TOR_AUTO_HEAL,
}

/// Number of keys in the table.
pub const N_KEYS: usize = Key::ALL.len();

/// The fingerprint's lines (pithead-model.md §3.4 and `[secrets]` of the model).
pub const FINGERPRINT_KEYS: [Key; 5] = [
    Key::PROXY_AUTH_TOKEN,
    Key::MONERO_ONION_ADDRESS,
    Key::TARI_ONION_ADDRESS,
    Key::P2POOL_ONION_ADDRESS,
    Key::DASHBOARD_ONION_ADDRESS,
];

/// Lines that never leave the box: the fingerprint lines plus passwords and keys.
pub fn is_secret(k: Key) -> bool {
    FINGERPRINT_KEYS.contains(&k)
        || matches!(
            k,
            Key::MONERO_NODE_USERNAME
                | Key::MONERO_NODE_PASSWORD
                | Key::MONERO_VIEW_KEY
                | Key::WALLET_RPC_PASSWORD
                | Key::TARI_VIEW_KEY
                | Key::TARI_WALLET_PASSWORD
                | Key::PROXY_STRATUM_PASSWORD
        )
}

/// A rendered .env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env(pub Box<[Cow<'static, str>]>);

impl Env {
    /// The value of one key.
    pub fn get(&self, k: Key) -> &str {
        &self.0[k as usize]
    }

    /// Keys whose values differ.
    pub fn changed<'a>(&'a self, other: &'a Env) -> impl Iterator<Item = Key> + 'a {
        Key::ALL
            .iter()
            .copied()
            .filter(move |k| !self.same(other, *k))
    }

    /// [`Env::changed`] as a set.
    pub fn changed_set(&self, other: &Env) -> KeySet {
        KeySet(
            Key::ALL
                .iter()
                .filter(|k| !self.same(other, **k))
                .fold(0, |acc, k| acc | 1 << *k as u32),
        )
    }

    /// Whether any of `keys` differs.
    pub fn differs_in(&self, other: &Env, keys: &[Key]) -> bool {
        keys.iter().any(|k| !self.same(other, *k))
    }

    /// Whether `k` holds the same value in both. Most values are borrowed from the same
    /// static strings, so the pointers settle it before any byte is compared.
    fn same(&self, other: &Env, k: Key) -> bool {
        let (a, b) = (self.get(k), other.get(k));
        a.len() == b.len() && (a.as_ptr() == b.as_ptr() || a == b)
    }

    /// sha256 hex of the sorted fingerprint lines, one newline each.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut lines: Vec<String> = FINGERPRINT_KEYS
            .iter()
            .map(|k| format!("{}={}\n", k.name(), self.get(*k)))
            .collect();
        lines.sort();
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// A set of keys (one bit per key of the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeySet(u128);

impl KeySet {
    /// Number of keys in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The keys, in table order.
    pub fn iter(self) -> impl Iterator<Item = Key> {
        Key::ALL
            .iter()
            .copied()
            .filter(move |k| self.0 & (1 << *k as u32) != 0)
    }
}

const _: () = assert!(N_KEYS <= 128, "KeySet holds one bit per key");

/// The .env-only values `load_preserved_state` carries from one render to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preserved {
    pub proxy_auth_token: String,
    pub wallet_rpc_password: String,
    pub tari_wallet_password: String,
    pub monero_onion: String,
    pub tari_onion: String,
    pub p2pool_onion: String,
    pub dashboard_onion: String,
    pub host_ip: String,
}

/// What the render does wrong under injected faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderFaults {
    /// #1855: TARI_REQUIRED from config even with tari.mode=off.
    pub tari_required_ignores_off: bool,
    /// #2649: the raw clearnet flags under the firewall.
    pub raw_clearnet: bool,
    /// #746: keep --mini when the previous flags had it and the pool is main.
    pub stale_mini: bool,
    /// #695: DASHBOARD_DATA_DIR through the symlinked $PWD.
    pub symlinked_pwd: bool,
}

/// Where Pithead is installed (a macro so the paths below it are literals, built once).
macro_rules! install_dir {
    () => {
        "/opt/pithead"
    };
}
/// The install dir as reached through its symlink (#695).
macro_rules! symlinked_dir {
    () => {
        "/srv/pithead-current"
    };
}
const INSTALL_DIR: &str = install_dir!();

/// The strings joined, in one allocation (what `format!` would build, without its machinery).
fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Renders .env. `previous` is the .env on disk (for the #746 fault's in-place flag edit).
pub fn render(s: &Settings, p: &Preserved, previous: Option<&Env>, f: RenderFaults) -> Env {
    let mut v: Vec<Cow<'static, str>> = vec![Cow::Borrowed(""); N_KEYS];
    macro_rules! set {
        ($k:expr, $val:expr $(,)?) => {
            v[$k as usize] = Cow::from($val)
        };
    }
    let b = |x: bool| Cow::Borrowed(if x { "true" } else { "false" });
    let local_tari = s.tari_mode == "local";

    let mut profiles = String::new();
    for (on, name) in [
        (s.monero_mode_local, "local_node"),
        (local_tari, "local_tari"),
        (!s.monero_view_key.is_empty(), "payout_confirm"),
        (!s.tari_view_key.is_empty(), "tari_payout_confirm"),
    ] {
        if on {
            if !profiles.is_empty() {
                profiles.push(',');
            }
            profiles.push_str(name);
        }
    }
    set!(Key::COMPOSE_PROFILES, profiles);
    set!(Key::DEPLOYMENT_COMPLETED, Cow::Borrowed("true"));
    set!(Key::NETWORK_SUBNET, s.subnet.clone());
    set!(Key::NETWORK_PREFIX, s.prefix.clone());
    let abs = |d: &str| -> Cow<'static, str> {
        match d {
            // The default data dirs, as literals: no allocation for the common case.
            "./data/monero" => Cow::Borrowed(concat!(install_dir!(), "/data/monero")),
            "./data/tari" => Cow::Borrowed(concat!(install_dir!(), "/data/tari")),
            "./data/p2pool" => Cow::Borrowed(concat!(install_dir!(), "/data/p2pool")),
            _ => match d.strip_prefix("./") {
                Some(rel) => Cow::Owned(cat(&[INSTALL_DIR, "/", rel])),
                None => Cow::Owned(d.to_string()),
            },
        }
    };
    set!(Key::MONERO_DATA_DIR, abs(&s.monero_data_dir));
    set!(Key::TARI_DATA_DIR, abs(&s.tari_data_dir));
    set!(Key::P2POOL_DATA_DIR, abs(&s.p2pool_data_dir));
    set!(
        Key::DASHBOARD_DATA_DIR,
        if f.symlinked_pwd {
            concat!(symlinked_dir!(), "/data/dashboard")
        } else {
            concat!(install_dir!(), "/data/dashboard")
        },
    );
    set!(Key::TOR_DATA_DIR, concat!(install_dir!(), "/data/tor"));
    set!(
        Key::CLEARNET_STATE_DIR,
        Cow::Borrowed("./data/clearnet-state")
    );
    set!(Key::CONTROL_DIR, Cow::Borrowed("./data/control"));
    set!(Key::CADDY_LOG_DIR, Cow::Borrowed("./data/caddy-logs"));
    set!(
        Key::PROXY_TLS_DIR,
        concat!(install_dir!(), "/data/proxy-tls")
    );
    set!(Key::PITHEAD_TLS_DIR, concat!(install_dir!(), "/data/tls"));

    set!(Key::MONERO_NODE_USERNAME, s.node_username.clone());
    set!(Key::MONERO_NODE_PASSWORD, s.node_password.clone());
    set!(Key::MONERO_WALLET_ADDRESS, s.monero_wallet.clone());
    set!(Key::MONERO_VIEW_KEY, s.monero_view_key.clone());
    set!(Key::PAYOUT_SCAN_HEIGHT, Cow::Borrowed("auto"));
    set!(
        Key::PAYOUT_CONFIRM_ENABLED,
        b(!s.monero_view_key.is_empty()),
    );
    set!(Key::WALLET_RPC_USERNAME, Cow::Borrowed("wallet"));
    set!(Key::WALLET_RPC_PASSWORD, p.wallet_rpc_password.clone());
    set!(
        Key::MONERO_WALLET_RPC_URL,
        cat(&["http://", &s.prefix, ".30:18082"]),
    );
    set!(Key::MONERO_PRUNE, if s.monero_prune { "1" } else { "0" },);
    let clearnet_ok = !s.firewall || f.raw_clearnet;
    set!(
        Key::MONERO_CLEARNET_SYNC,
        b(s.monero_clearnet && clearnet_ok),
    );
    set!(Key::MONERO_PREP_THREADS, Cow::Borrowed("4"));
    set!(Key::MONERO_OUT_PEERS, s.out_peers.to_string());
    set!(
        Key::MONERO_RPC_BIND,
        if s.rpc_lan { "0.0.0.0" } else { "127.0.0.1" },
    );
    set!(
        Key::MONERO_ZMQ_BIND,
        if s.zmq_lan { "0.0.0.0" } else { "127.0.0.1" },
    );
    if s.monero_mode_local {
        set!(Key::MONERO_NODE_HOST, cat(&[&s.prefix, ".26"]));
        set!(Key::MONERO_RPC_URL, Cow::Borrowed("http://127.0.0.1:18081"));
        set!(Key::MONERO_RPC_PORT, Cow::Borrowed("18081"));
        set!(Key::MONERO_ZMQ_PORT, Cow::Borrowed("18083"));
    } else {
        set!(Key::MONERO_NODE_HOST, s.monero_remote_host.clone());
        set!(
            Key::MONERO_RPC_URL,
            format!("http://{}:{}", s.monero_remote_host, s.monero_rpc_port),
        );
        set!(Key::MONERO_RPC_PORT, s.monero_rpc_port.to_string());
        set!(Key::MONERO_ZMQ_PORT, s.monero_zmq_port.to_string());
    }
    set!(
        Key::MONERO_MEM_LIMIT,
        if s.monero_mem_limit == "auto" {
            Cow::Borrowed("6g")
        } else {
            Cow::Owned(s.monero_mem_limit.clone())
        },
    );

    set!(Key::TARI_WALLET_ADDRESS, s.tari_wallet.clone());
    set!(Key::TARI_VIEW_KEY, s.tari_view_key.clone());
    set!(Key::TARI_SPEND_PUBLIC_KEY, s.tari_spend_key.clone());
    set!(Key::TARI_WALLET_PASSWORD, p.tari_wallet_password.clone());
    set!(Key::TARI_WALLET_BIRTHDAY, Cow::Borrowed("auto"));
    set!(
        Key::TARI_PAYOUT_CONFIRM_ENABLED,
        b(!s.tari_view_key.is_empty()),
    );
    set!(
        Key::TARI_WALLET_SECRET_FILE,
        Cow::Borrowed("./data/tari-wallet-secret.env"),
    );
    set!(Key::TARI_MODE, s.tari_mode);
    set!(
        Key::TARI_GRPC_ADDRESS,
        if s.tari_mode == "remote" {
            format!("{}:{}", s.tari_remote_host, s.tari_grpc_port)
        } else {
            cat(&[&s.prefix, ".27:18142"])
        },
    );
    set!(
        Key::TARI_GRPC_BIND,
        if s.tari_grpc_lan {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        },
    );
    set!(Key::TARI_CLEARNET_SYNC, b(s.tari_clearnet && clearnet_ok));
    set!(
        Key::TARI_MEM_LIMIT,
        if local_tari {
            Cow::Owned(s.tari_mem_limit.clone())
        } else {
            Cow::Borrowed("0m")
        },
    );
    let off_forces = s.tari_mode == "off" && !f.tari_required_ignores_off;
    set!(Key::TARI_REQUIRED, b(s.tari_required && !off_forces));

    set!(Key::MONERO_ONION_ADDRESS, p.monero_onion.clone());
    set!(Key::TARI_ONION_ADDRESS, p.tari_onion.clone());
    set!(Key::P2POOL_ONION_ADDRESS, p.p2pool_onion.clone());
    set!(Key::DASHBOARD_ONION_ADDRESS, p.dashboard_onion.clone());
    set!(Key::DASHBOARD_ONION_ENABLED, b(s.onion_enabled));
    set!(Key::DASHBOARD_ONION_CLIENT_AUTH, b(s.onion_client_auth));

    let mut flags = match s.pool {
        "mini" => "--mini",
        "nano" => "--nano",
        _ => "",
    };
    if f.stale_mini
        && s.pool == "main"
        && previous.is_some_and(|e| e.get(Key::P2POOL_FLAGS).contains("--mini"))
    {
        flags = "--mini";
    }
    set!(Key::P2POOL_FLAGS, flags);
    set!(
        Key::P2POOL_PORT,
        match s.pool {
            "main" => "37889",
            "mini" => "37888",
            _ => "37890",
        },
    );
    set!(Key::P2POOL_URL, cat(&[&s.prefix, ".28:3333"]));
    set!(Key::P2POOL_CLEARNET, b(s.p2pool_clearnet));
    set!(Key::STRATUM_BIND, s.stratum_bind.clone());
    set!(Key::STRATUM_PORT, s.stratum_port.to_string());
    set!(Key::PROXY_STRATUM_PASSWORD, String::new());
    set!(Key::PROXY_STRATUM_TLS, b(s.stratum_tls));
    set!(Key::PROXY_API_PORT, Cow::Borrowed("3344"));
    set!(Key::PROXY_AUTH_TOKEN, p.proxy_auth_token.clone());
    set!(Key::PROXY_DONATE_LEVEL, s.donate_level.to_string());
    set!(Key::XVB_ENABLED, b(s.xvb_enabled));
    set!(Key::XVB_TOR_ENABLED, b(s.xvb_tor));

    set!(Key::DASHBOARD_SECURE, b(s.secure));
    set!(Key::DASHBOARD_EXPOSE_PUBLIC_IP, b(s.expose_public_ip));
    set!(Key::DASHBOARD_TZ, Cow::Borrowed("UTC"));
    set!(Key::DASHBOARD_AUTH_USER, s.auth_user.clone());
    set!(Key::DASHBOARD_FAIL_CLOSED, b(s.fail_closed));
    set!(Key::DASHBOARD_CHECK_UPDATES, b(s.check_updates));
    set!(Key::HOST_IP, p.host_ip.clone());
    set!(Key::HOST_PORT, s.dashboard_port.clone());
    set!(Key::TOR_EGRESS_FIREWALL, b(s.firewall));
    set!(Key::TOR_AUTO_HEAL, b(s.tor_auto_heal));
    Env(v.into_boxed_slice())
}

/// The .env keys the Caddyfile is rendered from: a change means `compose restart caddy`.
pub const CADDYFILE_KEYS: &[Key] = &[
    Key::DASHBOARD_SECURE,
    Key::HOST_IP,
    Key::HOST_PORT,
    Key::DASHBOARD_AUTH_USER,
    Key::DASHBOARD_ONION_ENABLED,
    Key::DASHBOARD_ONION_ADDRESS,
    Key::DASHBOARD_EXPOSE_PUBLIC_IP,
];

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{baseline, parse};

    fn preserved() -> Preserved {
        preserved_with("t")
    }

    /// Test secrets with this proxy token (the memo's tests key renders by it).
    pub(crate) fn preserved_with(token: &str) -> Preserved {
        Preserved {
            proxy_auth_token: token.into(),
            wallet_rpc_password: "w".into(),
            tari_wallet_password: "tw".into(),
            monero_onion: "m.onion".into(),
            tari_onion: "t.onion".into(),
            p2pool_onion: "p.onion".into(),
            dashboard_onion: "placeholder".into(),
            host_ip: "192.168.1.50".into(),
        }
    }

    #[test]
    fn key_names_round_trip_and_are_unique() {
        let names: std::collections::BTreeSet<_> = Key::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), N_KEYS);
        assert_eq!(Key::ALL[Key::TARI_REQUIRED as usize], Key::TARI_REQUIRED);
    }

    #[test]
    fn baseline_renders_pitheads_spellings() {
        let s = parse(&baseline()).unwrap();
        let e = render(&s, &preserved(), None, RenderFaults::default());
        assert_eq!(e.get(Key::COMPOSE_PROFILES), "local_node,local_tari");
        assert_eq!(e.get(Key::P2POOL_FLAGS), "--mini");
        assert_eq!(e.get(Key::P2POOL_PORT), "37888");
        assert_eq!(e.get(Key::MONERO_PRUNE), "1");
        assert_eq!(e.get(Key::MONERO_NODE_HOST), "172.28.0.26");
        assert_eq!(e.get(Key::TARI_GRPC_ADDRESS), "172.28.0.27:18142");
        assert_eq!(e.get(Key::TARI_MEM_LIMIT), "auto");
        assert_eq!(e.get(Key::TARI_REQUIRED), "true");
        assert_eq!(e.fingerprint().len(), 64);
    }

    #[test]
    fn tari_off_forces_tari_required_false_unless_faulty() {
        let mut c = baseline();
        c["tari"]["mode"] = "off".into();
        let s = parse(&c).unwrap();
        let e = render(&s, &preserved(), None, RenderFaults::default());
        assert_eq!(e.get(Key::TARI_REQUIRED), "false");
        assert_eq!(e.get(Key::TARI_MEM_LIMIT), "0m");
        assert_eq!(e.get(Key::COMPOSE_PROFILES), "local_node");
        let f = RenderFaults {
            tari_required_ignores_off: true,
            ..Default::default()
        };
        assert_eq!(
            render(&s, &preserved(), None, f).get(Key::TARI_REQUIRED),
            "true"
        );
    }
}
