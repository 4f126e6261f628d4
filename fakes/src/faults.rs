//! Injected faults: known Pithead bug classes (pithead-model.md §7) that the fake box can be
//! told to reproduce, so canary can prove it catches them. The catalogue (names, the older
//! aliases the fakes were first specified with) is the contract crate's, shared with canary's
//! simulated stack; this module reads which of them a box has switched on.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, bail};

pub use pithead_contract::faults::Fault;

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
            match Fault::from_name_or_alias(name) {
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
        Faults(
            names
                .iter()
                .filter_map(|n| Fault::from_name_or_alias(n))
                .collect(),
        )
    }

    /// Whether `fault` is switched on.
    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }
}
