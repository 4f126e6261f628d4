//! What the model predicts a config renders to and what an apply between two configs touches.
//! The planner prices steps with [`Model::predict`]; the oracle checks the box against it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Config, DerivedSource, Model, Supplied, fill_templates, label_of};

/// What a config renders to on the box, according to the model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    /// Active profiles, in declaration order.
    pub profiles: Vec<String>,
    /// Containers that must run, in declaration order.
    pub services: Vec<String>,
    /// Rendered .env keys the model knows about.
    pub env: BTreeMap<String, String>,
}

/// What one apply from `prev` to `next` does, according to the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// .env keys whose value changes.
    pub changed_env: Vec<String>,
    /// Containers that appear (their profile became active).
    pub created: Vec<String>,
    /// Containers that go away (their profile became inactive).
    pub removed: Vec<String>,
    /// Containers replaced because an input changed.
    pub recreated: Vec<String>,
    /// Containers restarted in place (a mounted file changed, or a dependency restarted).
    pub restarted: Vec<String>,
    /// Containers an operation may also restart (a failover that may or may not fire within
    /// its window); empty for applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub may_restart: Vec<String>,
    /// The apply needs a full down then up (a cold axis changed).
    pub cold: bool,
    /// Estimated seconds of the step; 0 for a no-op.
    pub cost: f64,
}

impl Prediction {
    /// Whether the apply changes nothing ("No configuration changes detected").
    pub fn is_noop(&self) -> bool {
        self.changed_env.is_empty() && !self.cold
    }
}

impl Model {
    /// Renders an *effective* config.
    pub fn render(&self, effective: &Config, supplied: &Supplied) -> Rendered {
        let profiles: Vec<String> = self
            .profiles
            .iter()
            .filter(|p| p.when.as_ref().is_some_and(|w| w.holds(&effective.0)))
            .map(|p| p.name.clone())
            .collect();
        let services = self
            .services
            .iter()
            .filter(|s| s.profile.as_ref().is_none_or(|p| profiles.contains(p)))
            .map(|s| s.name.clone())
            .collect();
        let env = self
            .env
            .iter()
            .filter_map(|d| {
                self.derive_value(d, effective, &profiles, supplied)
                    .map(|v| (d.key.clone(), label_of(&v)))
            })
            .collect();
        Rendered {
            profiles,
            services,
            env,
        }
    }

    /// Expected `/api/state` fields for an effective config (dotted path → JSON).
    pub fn expected_api(
        &self,
        effective: &Config,
        supplied: &Supplied,
    ) -> BTreeMap<String, serde_json::Value> {
        let profiles = self.render(effective, supplied).profiles;
        self.api
            .iter()
            .filter_map(|d| {
                self.derive_value(d, effective, &profiles, supplied)
                    .map(|v| (d.key.clone(), v))
            })
            .collect()
    }

    fn derive_value(
        &self,
        d: &super::Derived,
        effective: &Config,
        profiles: &[String],
        supplied: &Supplied,
    ) -> Option<serde_json::Value> {
        let case = d
            .cases
            .iter()
            .find(|c| c.when.as_ref().is_none_or(|w| w.holds(&effective.0)))?;
        Some(match &case.source {
            DerivedSource::Value(v) => fill_templates(v, supplied),
            DerivedSource::Profiles => serde_json::Value::String(profiles.join(",")),
            DerivedSource::Axis { axis, map } => {
                let value = &self.axes[*axis].values[effective.0[*axis] as usize];
                match map.get(&value.label) {
                    Some(v) => fill_templates(v, supplied),
                    None => fill_templates(&value.json, supplied),
                }
            }
        })
    }

    /// Predicts what an apply from one effective config to the next touches and costs.
    pub fn predict(&self, prev: &Config, next: &Config, supplied: &Supplied) -> Prediction {
        let a = self.render(prev, supplied);
        let b = self.render(next, supplied);
        let changed: BTreeSet<&str> = a
            .env
            .keys()
            .chain(b.env.keys())
            .filter(|k| a.env.get(*k) != b.env.get(*k))
            .map(String::as_str)
            .collect();
        let cold = self
            .axes
            .iter()
            .enumerate()
            .any(|(i, ax)| ax.cold && prev.0[i] != next.0[i]);
        let mut p = Prediction {
            changed_env: changed.iter().map(|s| s.to_string()).collect(),
            created: vec![],
            removed: vec![],
            recreated: vec![],
            restarted: vec![],
            may_restart: vec![],
            cold,
            cost: 0.0,
        };
        let mut touched: BTreeSet<&str> = BTreeSet::new();
        for s in &self.services {
            let (was, is) = (a.services.contains(&s.name), b.services.contains(&s.name));
            match (was, is) {
                (false, true) => {
                    p.created.push(s.name.clone());
                    touched.insert(&s.name);
                }
                (true, false) => p.removed.push(s.name.clone()),
                (true, true) if cold || s.inputs.iter().any(|k| changed.contains(k.as_str())) => {
                    p.recreated.push(s.name.clone());
                    touched.insert(&s.name);
                }
                _ => {}
            }
        }
        // Restarts: a changed mounted file, or a dependency that was recreated or restarted.
        // Iterate to a fixed point so chains of restart_with propagate.
        loop {
            let mut grew = false;
            for s in &self.services {
                if !b.services.contains(&s.name) || touched.contains(s.name.as_str()) {
                    continue;
                }
                let file_changed = s.restart_on.iter().any(|k| changed.contains(k.as_str()));
                let dep = s.restart_with.iter().any(|d| touched.contains(d.as_str()));
                if file_changed || dep {
                    p.restarted.push(s.name.clone());
                    touched.insert(&s.name);
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        if !p.is_noop() {
            let svc_cost = |n: &String| {
                self.services
                    .iter()
                    .find(|s| &s.name == n)
                    .map_or(0.0, |s| s.cost)
            };
            p.cost = self.apply_cost
                + p.created
                    .iter()
                    .chain(&p.recreated)
                    .chain(&p.restarted)
                    .map(svc_cost)
                    .sum::<f64>()
                + p.removed.len() as f64;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use crate::{BUILTIN_PITHEAD, Config, Model, Supplied, load_str};
    use std::path::Path;

    fn pithead() -> (Model, Supplied) {
        let m = load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap();
        let s = Supplied(
            [
                ("remote_tari_host", "tari.lan"),
                ("remote_monero_host", "node.lan"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        (m, s)
    }

    fn with(m: &Model, pairs: &[(&str, &str)]) -> Config {
        m.config_from_labels(&m.default_config(), pairs.iter().copied())
            .unwrap()
    }

    // The flips observed on the real CLI (pithead-model.md §8).
    #[test]
    fn tari_local_to_remote_matches_the_observed_recreate_set() {
        let (m, s) = pithead();
        let p = m.predict(
            &m.default_config(),
            &with(&m, &[("tari.mode", "remote")]),
            &s,
        );
        assert_eq!(p.recreated, ["tor", "p2pool", "dashboard"]);
        assert_eq!(p.removed, ["tari"]);
        assert_eq!(p.restarted, ["monerod"]);
        assert!(p.changed_env.contains(&"COMPOSE_PROFILES".to_string()));
    }

    #[test]
    fn common_flips_touch_what_pithead_touches() {
        let (m, s) = pithead();
        let base = m.default_config();
        let p = m.predict(&base, &with(&m, &[("dashboard.secure", "false")]), &s);
        assert!(p.recreated.is_empty());
        assert_eq!(p.restarted, ["caddy"]);
        let p = m.predict(&base, &with(&m, &[("p2pool.pool", "main")]), &s);
        assert_eq!(p.recreated, ["p2pool"]);
        let p = m.predict(&base, &with(&m, &[("monero.mode", "remote")]), &s);
        assert_eq!(p.recreated, ["tor", "p2pool", "dashboard"]);
        assert_eq!(p.removed, ["monerod"]);
        let p = m.predict(&base, &with(&m, &[("monero.rpc_lan_access", "true")]), &s);
        assert_eq!(p.recreated, ["monerod"]);
        assert!(m.predict(&base, &base, &s).is_noop());
        assert_eq!(m.predict(&base, &base, &s).cost, 0.0);
    }

    #[test]
    fn normalised_values_do_not_change_the_render() {
        let (m, s) = pithead();
        // tari off with tari_required left true renders TARI_REQUIRED=false.
        let raw = with(&m, &[("tari.mode", "off")]);
        let eff = m.effective(&raw);
        assert_eq!(m.render(&eff, &s).env["TARI_REQUIRED"], "false");
        // The planner's raw config keeps tari_required at its (overridden) default, and, the
        // firewall being on, writes the clearnet flags true for the stack to override too.
        let written = m.raw_for(&eff);
        assert_eq!(m.effective(&written), eff);
        assert_eq!(
            written,
            with(
                &m,
                &[
                    ("tari.mode", "off"),
                    ("monero.clearnet_initial_sync", "true"),
                    ("tari.clearnet_initial_sync", "true"),
                ]
            )
        );
        // Clearnet sync with the firewall on renders false.
        let raw = with(&m, &[("monero.clearnet_initial_sync", "true")]);
        assert_eq!(
            m.render(&m.effective(&raw), &s).env["MONERO_CLEARNET_SYNC"],
            "false"
        );
        // The planner writes that raw flag (the firewall is on by default), so the stack's
        // normalisation is exercised rather than agreed with.
        assert_eq!(
            m.raw_for(&m.effective(&raw)),
            with(
                &m,
                &[
                    ("monero.clearnet_initial_sync", "true"),
                    ("tari.clearnet_initial_sync", "true"),
                ]
            )
        );
    }
}
