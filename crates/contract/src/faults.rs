//! The catalogue of injected faults: each one a real Pithead bug class (pithead-model.md §7)
//! that a target can be told to reproduce by name. canary's simulated stack implements them
//! in-process and the fake box in another process; this is the one list of their names, so the
//! names are the contract (lowercase, hyphenated) and must never be reused for something else.
//!
//! Some faults show in a single step from the baseline; others only after a particular
//! sequence of transitions (`sequence_dependent`), which is what a static matrix cannot find.
//! Some need an operation (a restart, a node outage, an emptied token) and are invisible to
//! walks of config applies alone. `minimal_steps` is the length of the shortest known
//! reproducing sequence of transitions (applies and operations, each one step) from the
//! default baseline; the shrinker is measured against it.

use std::fmt;
use std::str::FromStr;

/// What the catalogue says about one fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FaultInfo {
    /// The contract name (`stale-caddy-scheme`).
    pub name: &'static str,
    /// The Pithead issue the bug class comes from (`#795`).
    pub issue: &'static str,
    /// One line: what goes wrong and after what.
    pub description: &'static str,
    /// Length of the known minimal reproducing transition sequence (applies and operations)
    /// from the default baseline.
    pub minimal_steps: usize,
    /// Whether it shows only after a particular sequence, never in a single config.
    pub sequence_dependent: bool,
    /// The name the fakes were first specified with, where it differs (still accepted by
    /// the fake box's `faults` file, never by canary's `--fault`).
    pub alias: Option<&'static str>,
}

/// A fault a target can inject. One variant per catalogue entry, in catalogue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// `stale-caddy-scheme`
    StaleCaddyScheme,
    /// `leftover-profile-container`
    LeftoverProfileContainer,
    /// `renamed-leftover-container`
    RenamedLeftoverContainer,
    /// `rotated-proxy-token`
    RotatedProxyToken,
    /// `tari-required-ignores-off`
    TariRequiredIgnoresOff,
    /// `lost-apply-incomplete-marker`
    LostApplyIncompleteMarker,
    /// `tor-without-monerod-restart`
    TorWithoutMonerodRestart,
    /// `apply-as-restart`
    ApplyAsRestart,
    /// `spurious-path-diff`
    SpuriousPathDiff,
    /// `stale-mini-flag`
    StaleMiniFlag,
    /// `raw-clearnet-flag`
    RawClearnetFlag,
    /// `restart-reverts-args`
    RestartRevertsArgs,
    /// `restart-tor-strands-monerod`
    RestartTorStrandsMonerod,
    /// `premature-readmit`
    PrematureReadmit,
    /// `up-accepts-empty-token`
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

    /// The catalogue entry of this fault.
    pub fn info(self) -> &'static FaultInfo {
        &CATALOGUE[self as usize]
    }

    /// The contract name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The fault with this name or its old alias (what the fake box's `faults` file accepts).
    pub fn from_name_or_alias(name: &str) -> Option<Fault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name || f.info().alias == Some(name))
    }

    /// The name this fault was first specified with, where it differs.
    pub fn alias(self) -> Option<&'static str> {
        self.info().alias
    }

    /// A bit for fault sets.
    pub const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown fault '{name}'; the known faults are: {}\n  hint: run `canary faults` for what each one does",
    known_names().join(", ")
)]
pub struct UnknownFault {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        let t = s.trim();
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == t)
            .ok_or_else(|| UnknownFault { name: t.into() })
    }
}

/// Parses repeated `--fault NAME` values; the first unknown name is an error listing the known
/// ones. Duplicates are kept once.
pub fn parse_all<S: AsRef<str>>(names: &[S]) -> Result<Vec<Fault>, UnknownFault> {
    let mut out: Vec<Fault> = Vec::new();
    for n in names {
        let f: Fault = n.as_ref().parse()?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

fn known_names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|i| i.name).collect()
}

/// The whole catalogue, in a stable order.
pub fn catalogue() -> &'static [FaultInfo] {
    &CATALOGUE
}

/// The catalogue entry with this name.
pub fn find(name: &str) -> Option<&'static FaultInfo> {
    CATALOGUE.iter().find(|i| i.name == name)
}

static CATALOGUE: [FaultInfo; 15] = [
    FaultInfo {
        name: "stale-caddy-scheme",
        issue: "#1052",
        description: "caddy is restarted only when the Caddyfile turns insecure; after secure \
                      true→false→true caddy keeps serving the stale http site",
        minimal_steps: 2,
        sequence_dependent: true,
        alias: None,
    },
    FaultInfo {
        name: "leftover-profile-container",
        issue: "#795",
        description: "apply skips the `compose rm -sf` of deactivated profiles, so a tari \
                      local→remote switch leaves minotari_node running",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: Some("orphan-profile-container"),
    },
    FaultInfo {
        name: "renamed-leftover-container",
        issue: "#2595",
        description: "re-creating a profile's container after it was removed (local→remote→local) \
                      leaves the old one behind renamed `<12hex>_<name>`",
        minimal_steps: 2,
        sequence_dependent: true,
        alias: None,
    },
    FaultInfo {
        name: "rotated-proxy-token",
        issue: "#153",
        description: "an apply that recreates xmrig-proxy mints a new PROXY_AUTH_TOKEN, breaking \
                      the secret fingerprint",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: Some("token-rotated-by-apply"),
    },
    FaultInfo {
        name: "tari-required-ignores-off",
        issue: "#1855",
        description: "TARI_REQUIRED is rendered from dashboard.tari_required even with tari.mode=off, \
                      so the dashboard waits for a Tari node that does not exist",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: None,
    },
    FaultInfo {
        name: "lost-apply-incomplete-marker",
        issue: "#125",
        description: "a failed `up` drops the .env.apply-incomplete marker, so after a refused hot \
                      subnet change and `pithead down` the retrying apply does nothing and the \
                      stack stays down",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: Some("failed-recreate-not-retried"),
    },
    FaultInfo {
        name: "tor-without-monerod-restart",
        issue: "#972",
        description: "tor is recreated on a profile change without restarting monerod, which is \
                      stranded at 0 peers",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: Some("tor-recreate-skips-monerod"),
    },
    FaultInfo {
        name: "apply-as-restart",
        issue: "#273",
        description: "apply runs `compose restart` instead of recreating, so changed containers \
                      keep their old args",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: Some("apply-is-restart"),
    },
    FaultInfo {
        name: "spurious-path-diff",
        issue: "#695",
        description: "a changing apply commits DASHBOARD_DATA_DIR through the symlinked $PWD, so \
                      the next apply sees a spurious diff and is never a no-op",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: Some("spurious-diff"),
    },
    FaultInfo {
        name: "stale-mini-flag",
        issue: "#746",
        description: "P2POOL_FLAGS keeps --mini after a switch from mini to main, so p2pool stays \
                      on the mini sidechain",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: None,
    },
    FaultInfo {
        name: "raw-clearnet-flag",
        issue: "#2649",
        description: "render_env writes the raw clearnet_initial_sync flag while the Tor egress \
                      firewall is on",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: None,
    },
    FaultInfo {
        name: "restart-reverts-args",
        issue: "#273",
        description: "apply hot-loads new args into changed containers but keeps their old \
                      container config, so a later `pithead restart` brings back the old args \
                      (p2pool on its old sidechain)",
        minimal_steps: 2,
        sequence_dependent: true,
        alias: None,
    },
    FaultInfo {
        name: "restart-tor-strands-monerod",
        issue: "#972",
        description: "`pithead restart tor` restarts tor alone, so monerod keeps its dead circuits \
                      and is stranded at 0 peers",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: None,
    },
    FaultInfo {
        name: "premature-readmit",
        issue: "#31",
        description: "after a node outage the dashboard readmits xmrig-proxy on the first healthy \
                      poll of monerod instead of after the stable window",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: None,
    },
    FaultInfo {
        name: "up-accepts-empty-token",
        issue: "#153",
        description: "`pithead up` starts with an empty PROXY_AUTH_TOKEN (recreating xmrig-proxy \
                      with an unauthenticated control API) instead of refusing",
        minimal_steps: 1,
        sequence_dependent: false,
        alias: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_and_enum_agree() {
        assert_eq!(catalogue().len(), Fault::ALL.len());
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>().unwrap(), f);
            assert_eq!(find(f.name()), Some(f.info()));
        }
    }

    #[test]
    fn names_are_lowercase_hyphenated_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for i in catalogue() {
            assert!(
                i.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                i.name
            );
            assert!(seen.insert(i.name), "duplicate {}", i.name);
            assert!(i.issue.starts_with('#'));
            assert!(i.minimal_steps >= 1);
            assert!(!i.description.contains('\n'));
        }
        assert!(catalogue().iter().filter(|i| i.sequence_dependent).count() >= 3);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = parse_all(&["stale-caddy-scheme", "nope"]).unwrap_err();
        assert_eq!(e.name, "nope");
        let msg = e.to_string();
        assert!(msg.contains("unknown fault 'nope'"));
        assert!(msg.contains("stale-caddy-scheme") && msg.contains("raw-clearnet-flag"));
        assert_eq!(
            parse_all(&["apply-as-restart", "apply-as-restart"]).unwrap(),
            vec![Fault::ApplyAsRestart]
        );
    }
}
