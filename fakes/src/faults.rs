//! Injected faults: known Pithead bug classes (pithead-model.md §7) that the fake box can be
//! told to reproduce, so canary can prove it catches them. The names are the contract shared
//! with canary's simulated stack; this is the fake's own copy of them (no dependency on
//! canary), plus the older aliases the fakes were first specified with.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, bail};

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// caddy is not restarted when the Caddyfile turns secure (false→true): it keeps serving
    /// the stale http:// site it loaded (#1052).
    StaleCaddyScheme,
    /// apply skips the `compose rm -sf` of deactivated profiles: the container of a
    /// just-deactivated profile keeps running (#795).
    LeftoverProfileContainer,
    /// re-creating a profile's container after it was removed leaves the old one behind,
    /// renamed `<12hex>_<name>` (#2595).
    RenamedLeftoverContainer,
    /// an apply that recreates xmrig-proxy mints a new PROXY_AUTH_TOKEN, breaking the secret
    /// fingerprint (#153).
    RotatedProxyToken,
    /// TARI_REQUIRED is rendered from `dashboard.tari_required` even when tari.mode=off, so
    /// the sync gate never opens (#1855).
    TariRequiredIgnoresOff,
    /// apply does not keep the `.env.apply-incomplete` marker, so after a failed `up` a
    /// re-apply sees no diff and does nothing (#125).
    LostApplyIncompleteMarker,
    /// a tor recreate does not restart monerod (#972).
    TorWithoutMonerodRestart,
    /// apply restarts the existing containers with their old args instead of recreating the
    /// changed ones (#273).
    ApplyAsRestart,
    /// DASHBOARD_DATA_DIR alternates between two spellings of the same directory, so every
    /// apply sees a diff and recreates the dashboard (#695).
    SpuriousPathDiff,
    /// P2POOL_FLAGS keeps `--mini` after a switch from mini to main (#746).
    StaleMiniFlag,
    /// MONERO/TARI_CLEARNET_SYNC are rendered raw while the Tor egress firewall is on (#2649).
    RawClearnetFlag,
    /// `pithead restart` brings containers back with the args they had before the last
    /// recreate, not the current ones (#273).
    RestartRevertsArgs,
    /// `pithead restart tor` leaves monerod alone, stranded without its Tor link (#972).
    RestartTorStrandsMonerod,
    /// The dashboard's failover readmits workers as soon as monerod answers again, without
    /// the NODE_RECOVERY_AFTER_SEC window (#31).
    PrematureReadmit,
    /// `pithead up` starts the stack with an empty PROXY_AUTH_TOKEN: an unauthenticated
    /// xmrig-proxy control API (#153, #203).
    UpAcceptsEmptyToken,
}

impl Fault {
    /// Every fault, in catalogue order.
    pub const ALL: [Fault; 15] = [
        Fault::StaleCaddyScheme,
        Fault::LeftoverProfileContainer,
        Fault::RenamedLeftoverContainer,
        Fault::RotatedProxyToken,
        Fault::TariRequiredIgnoresOff,
        Fault::LostApplyIncompleteMarker,
        Fault::TorWithoutMonerodRestart,
        Fault::ApplyAsRestart,
        Fault::SpuriousPathDiff,
        Fault::StaleMiniFlag,
        Fault::RawClearnetFlag,
        Fault::RestartRevertsArgs,
        Fault::RestartTorStrandsMonerod,
        Fault::PrematureReadmit,
        Fault::UpAcceptsEmptyToken,
    ];

    /// The fault's name in the `faults` file and `PITHEAD_FAKE_FAULTS` (canary's catalogue).
    pub fn name(self) -> &'static str {
        match self {
            Fault::StaleCaddyScheme => "stale-caddy-scheme",
            Fault::LeftoverProfileContainer => "leftover-profile-container",
            Fault::RenamedLeftoverContainer => "renamed-leftover-container",
            Fault::RotatedProxyToken => "rotated-proxy-token",
            Fault::TariRequiredIgnoresOff => "tari-required-ignores-off",
            Fault::LostApplyIncompleteMarker => "lost-apply-incomplete-marker",
            Fault::TorWithoutMonerodRestart => "tor-without-monerod-restart",
            Fault::ApplyAsRestart => "apply-as-restart",
            Fault::SpuriousPathDiff => "spurious-path-diff",
            Fault::StaleMiniFlag => "stale-mini-flag",
            Fault::RawClearnetFlag => "raw-clearnet-flag",
            Fault::RestartRevertsArgs => "restart-reverts-args",
            Fault::RestartTorStrandsMonerod => "restart-tor-strands-monerod",
            Fault::PrematureReadmit => "premature-readmit",
            Fault::UpAcceptsEmptyToken => "up-accepts-empty-token",
        }
    }

    /// The name this fault was first specified with, where it differs.
    pub fn alias(self) -> Option<&'static str> {
        match self {
            Fault::LeftoverProfileContainer => Some("orphan-profile-container"),
            Fault::RotatedProxyToken => Some("token-rotated-by-apply"),
            Fault::LostApplyIncompleteMarker => Some("failed-recreate-not-retried"),
            Fault::TorWithoutMonerodRestart => Some("tor-recreate-skips-monerod"),
            Fault::ApplyAsRestart => Some("apply-is-restart"),
            Fault::SpuriousPathDiff => Some("spurious-diff"),
            _ => None,
        }
    }

    /// Parses a fault name or alias.
    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name || f.alias() == Some(name))
    }
}

/// The faults switched on for one box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(BTreeSet<Fault>);

impl Faults {
    /// Reads `<dir>/faults` (names separated by commas or whitespace, `#` comments) and
    /// `PITHEAD_FAKE_FAULTS`; an unknown name is an error so a typo never runs a clean box.
    pub fn load(dir: &Path) -> Result<Faults> {
        let mut text = std::fs::read_to_string(dir.join("faults")).unwrap_or_default();
        text = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        if let Ok(env) = std::env::var("PITHEAD_FAKE_FAULTS") {
            text.push('\n');
            text.push_str(&env);
        }
        let mut set = BTreeSet::new();
        for name in text.split(|c: char| c == ',' || c.is_whitespace()) {
            if name.is_empty() {
                continue;
            }
            match Fault::parse(name) {
                Some(f) => {
                    set.insert(f);
                }
                None => bail!(
                    "unknown fault {name:?}; known faults: {}",
                    Fault::ALL.map(Fault::name).join(", ")
                ),
            }
        }
        Ok(Faults(set))
    }

    /// Faults from a list of names; unknown names are ignored (for tests and setup).
    pub fn load_from_names(names: &[&str]) -> Faults {
        Faults(names.iter().filter_map(|n| Fault::parse(n)).collect())
    }

    /// Whether `fault` is switched on.
    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }
}
