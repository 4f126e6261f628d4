//! Injected faults: known Pithead bug classes (pithead-model.md §7) that the fake box can be
//! told to reproduce, so canary can prove it catches them. The names are the contract shared
//! with canary's simulated stack; this is the fake's own copy of them.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, bail};

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// apply neither regenerates the Caddyfile nor restarts caddy: the site keeps its old
    /// scheme after a `dashboard.secure` flip.
    StaleCaddyScheme,
    /// apply skips the `compose rm -sf` of deactivated profiles: the container of a
    /// just-deactivated profile keeps running (#795).
    OrphanProfileContainer,
    /// apply mints a new PROXY_AUTH_TOKEN every time, breaking the secret fingerprint (#153).
    TokenRotatedByApply,
    /// TARI_REQUIRED is rendered from `dashboard.tari_required` even when tari.mode=off, so
    /// the sync gate never opens (#1855).
    TariRequiredIgnoresOff,
    /// apply does not leave the `.env.apply-incomplete` marker, so after a failed `up` a
    /// re-apply sees no diff and does nothing (#125).
    FailedRecreateNotRetried,
    /// a tor recreate does not restart monerod (#972).
    TorRecreateSkipsMonerod,
    /// apply restarts the existing containers with their old args instead of recreating the
    /// changed ones (#273).
    ApplyIsRestart,
    /// a derived path key alternates between two spellings of the same directory, so every
    /// apply sees a diff and recreates its containers (#695).
    SpuriousDiff,
}

impl Fault {
    /// Every fault, in catalogue order.
    pub const ALL: [Fault; 8] = [
        Fault::StaleCaddyScheme,
        Fault::OrphanProfileContainer,
        Fault::TokenRotatedByApply,
        Fault::TariRequiredIgnoresOff,
        Fault::FailedRecreateNotRetried,
        Fault::TorRecreateSkipsMonerod,
        Fault::ApplyIsRestart,
        Fault::SpuriousDiff,
    ];

    /// The fault's name in the `faults` file and `PITHEAD_FAKE_FAULTS`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::StaleCaddyScheme => "stale-caddy-scheme",
            Fault::OrphanProfileContainer => "orphan-profile-container",
            Fault::TokenRotatedByApply => "token-rotated-by-apply",
            Fault::TariRequiredIgnoresOff => "tari-required-ignores-off",
            Fault::FailedRecreateNotRetried => "failed-recreate-not-retried",
            Fault::TorRecreateSkipsMonerod => "tor-recreate-skips-monerod",
            Fault::ApplyIsRestart => "apply-is-restart",
            Fault::SpuriousDiff => "spurious-diff",
        }
    }

    /// Parses a fault name.
    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
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
