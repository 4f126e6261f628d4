//! The compose services of the simulated stack: their profiles, the .env keys each one
//! interpolates (a change recreates it, pithead-model.md §2.1) and how long each takes to
//! become healthy.

use super::render::Key::{self, *};

/// The profiles a COMPOSE_PROFILES value turns on, one bit per profile a service names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active(u8);

impl Active {
    /// Reads a COMPOSE_PROFILES value: comma-separated names, each a whole profile.
    pub fn of(profiles: &str) -> Active {
        Active(profiles.split(',').fold(0, |acc, t| acc | profile_bit(t)))
    }
}

/// The bit of a profile some service names; 0 for any other string.
fn profile_bit(p: &str) -> u8 {
    match p {
        "local_node" => 1,
        "payout_confirm" => 2,
        "local_tari" => 4,
        "tari_payout_confirm" => 8,
        _ => 0,
    }
}

/// A service of Pithead's docker-compose.yml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Svc {
    Tor,
    Monerod,
    WalletRpc,
    Tari,
    TariWallet,
    P2pool,
    XmrigProxy,
    Dashboard,
    DockerProxy,
    DockerControl,
    Caddy,
}

/// Every service, in the order compose brings them up (dependencies first).
pub const ALL: [Svc; 11] = [
    Svc::Tor,
    Svc::Monerod,
    Svc::WalletRpc,
    Svc::Tari,
    Svc::TariWallet,
    Svc::P2pool,
    Svc::XmrigProxy,
    Svc::Dashboard,
    Svc::DockerProxy,
    Svc::DockerControl,
    Svc::Caddy,
];

impl Svc {
    /// The container name.
    pub const fn name(self) -> &'static str {
        match self {
            Svc::Tor => "tor",
            Svc::Monerod => "monerod",
            Svc::WalletRpc => "wallet-rpc",
            Svc::Tari => "tari",
            Svc::TariWallet => "tari-wallet",
            Svc::P2pool => "p2pool",
            Svc::XmrigProxy => "xmrig-proxy",
            Svc::Dashboard => "dashboard",
            Svc::DockerProxy => "docker-proxy",
            Svc::DockerControl => "docker-control",
            Svc::Caddy => "caddy",
        }
    }

    /// The service with this container name.
    pub fn from_name(name: &str) -> Option<Svc> {
        ALL.into_iter().find(|s| s.name() == name)
    }

    /// The compose profile gating the service, if any.
    pub const fn profile(self) -> Option<&'static str> {
        match self {
            Svc::Monerod => Some("local_node"),
            Svc::WalletRpc => Some("payout_confirm"),
            Svc::Tari => Some("local_tari"),
            Svc::TariWallet => Some("tari_payout_confirm"),
            _ => None,
        }
    }

    /// Whether the service is on `mining_net` (whose subnet a hot apply cannot change).
    pub const fn on_mining_net(self) -> bool {
        !matches!(
            self,
            Svc::Dashboard | Svc::Caddy | Svc::DockerProxy | Svc::DockerControl
        )
    }

    /// Whether the service runs in a stack whose COMPOSE_PROFILES is `profiles`
    /// (membership, never substring or equality: #1301, #1478).
    pub fn active(self, profiles: &str) -> bool {
        self.active_in(Active::of(profiles))
    }

    /// [`Svc::active`] against profiles read once (a walk asks this of every service on
    /// every observation).
    pub fn active_in(self, active: Active) -> bool {
        self.profile()
            .is_none_or(|p| active.0 & profile_bit(p) != 0)
    }

    /// The .env keys the container interpolates.
    pub const fn inputs(self) -> &'static [Key] {
        match self {
            Svc::Tor => &[
                NETWORK_PREFIX,
                COMPOSE_PROFILES,
                DASHBOARD_ONION_ENABLED,
                DASHBOARD_ONION_CLIENT_AUTH,
                TOR_DATA_DIR,
            ],
            Svc::Monerod => &[
                MONERO_MEM_LIMIT,
                MONERO_NODE_USERNAME,
                MONERO_NODE_PASSWORD,
                MONERO_ONION_ADDRESS,
                MONERO_PRUNE,
                MONERO_CLEARNET_SYNC,
                MONERO_PREP_THREADS,
                MONERO_OUT_PEERS,
                NETWORK_PREFIX,
                MONERO_DATA_DIR,
                CLEARNET_STATE_DIR,
                MONERO_RPC_BIND,
                MONERO_ZMQ_BIND,
            ],
            Svc::WalletRpc => &[
                MONERO_NODE_USERNAME,
                MONERO_NODE_PASSWORD,
                NETWORK_PREFIX,
                WALLET_RPC_USERNAME,
                WALLET_RPC_PASSWORD,
                MONERO_WALLET_ADDRESS,
                MONERO_VIEW_KEY,
                PAYOUT_SCAN_HEIGHT,
            ],
            Svc::Tari => &[
                TARI_MEM_LIMIT,
                TARI_CLEARNET_SYNC,
                TARI_DATA_DIR,
                CLEARNET_STATE_DIR,
                TARI_GRPC_BIND,
                NETWORK_PREFIX,
            ],
            Svc::TariWallet => &[
                TARI_GRPC_ADDRESS,
                TARI_WALLET_BIRTHDAY,
                NETWORK_PREFIX,
                TARI_WALLET_SECRET_FILE,
            ],
            Svc::P2pool => &[
                P2POOL_DATA_DIR,
                MONERO_NODE_HOST,
                MONERO_RPC_PORT,
                MONERO_NODE_USERNAME,
                MONERO_NODE_PASSWORD,
                MONERO_ZMQ_PORT,
                MONERO_WALLET_ADDRESS,
                TARI_GRPC_ADDRESS,
                TARI_WALLET_ADDRESS,
                P2POOL_ONION_ADDRESS,
                P2POOL_PORT,
                P2POOL_FLAGS,
                TARI_MODE,
                NETWORK_PREFIX,
            ],
            Svc::XmrigProxy => &[
                PROXY_TLS_DIR,
                STRATUM_BIND,
                STRATUM_PORT,
                PROXY_API_PORT,
                PROXY_AUTH_TOKEN,
                PROXY_STRATUM_PASSWORD,
                PROXY_STRATUM_TLS,
                P2POOL_URL,
                MONERO_WALLET_ADDRESS,
                PROXY_DONATE_LEVEL,
                NETWORK_PREFIX,
            ],
            Svc::Dashboard => &[
                P2POOL_DATA_DIR,
                DASHBOARD_DATA_DIR,
                CLEARNET_STATE_DIR,
                CONTROL_DIR,
                CADDY_LOG_DIR,
                HOST_IP,
                DASHBOARD_TZ,
                MONERO_NODE_HOST,
                MONERO_RPC_URL,
                MONERO_NODE_USERNAME,
                MONERO_NODE_PASSWORD,
                MONERO_PRUNE,
                MONERO_CLEARNET_SYNC,
                TARI_CLEARNET_SYNC,
                TOR_EGRESS_FIREWALL,
                TOR_AUTO_HEAL,
                P2POOL_CLEARNET,
                P2POOL_URL,
                MONERO_WALLET_ADDRESS,
                PAYOUT_CONFIRM_ENABLED,
                MONERO_WALLET_RPC_URL,
                WALLET_RPC_USERNAME,
                WALLET_RPC_PASSWORD,
                TARI_PAYOUT_CONFIRM_ENABLED,
                XVB_ENABLED,
                XVB_TOR_ENABLED,
                PROXY_API_PORT,
                PROXY_AUTH_TOKEN,
                STRATUM_PORT,
                TARI_GRPC_ADDRESS,
                TARI_MODE,
                NETWORK_PREFIX,
                NETWORK_SUBNET,
                DASHBOARD_CHECK_UPDATES,
                DASHBOARD_ONION_ENABLED,
                DASHBOARD_ONION_CLIENT_AUTH,
                DASHBOARD_ONION_ADDRESS,
                TARI_REQUIRED,
                DASHBOARD_FAIL_CLOSED,
            ],
            Svc::Caddy => &[CADDY_LOG_DIR, PITHEAD_TLS_DIR],
            Svc::DockerProxy | Svc::DockerControl => &[],
        }
    }

    /// Range of milliseconds from start to healthy (the healthcheck's first pass).
    pub const fn health_ms(self) -> (u64, u64) {
        match self {
            Svc::Tor => (5_000, 40_000),
            Svc::Monerod => (5_000, 20_000),
            Svc::WalletRpc | Svc::TariWallet => (5_000, 30_000),
            Svc::Tari => (5_000, 30_000),
            Svc::P2pool => (3_000, 15_000),
            Svc::XmrigProxy => (2_000, 8_000),
            Svc::Dashboard => (3_000, 10_000),
            Svc::DockerProxy | Svc::DockerControl | Svc::Caddy => (1_000, 3_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every profile a service names has its own bit, and membership is by whole name.
    #[test]
    fn profiles_are_read_by_whole_name() {
        for s in ALL {
            if let Some(p) = s.profile() {
                assert_ne!(profile_bit(p), 0, "{p}");
                assert!(s.active(p) && s.active(&format!("x,{p}")));
                assert!(!s.active(&format!("{p}_x")) && !s.active(&p[1..]) && !s.active(""));
            } else {
                assert!(s.active(""));
            }
        }
        assert!(!Svc::Tari.active("local_tari_x,local_node"));
        assert!(Svc::TariWallet.active("local_tari,tari_payout_confirm"));
        assert!(!Svc::TariWallet.active("local_tari,payout_confirm"));
    }
}
