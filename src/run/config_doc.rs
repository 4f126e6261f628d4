//! The box's config.json as a walk writes it: the [`Baseline`] every step's document is built
//! on, a raw config's document on top of it ([`config_json`]), the [`WalkCache`] of documents
//! and expectations a walk reuses, and the raw config a document describes
//! ([`config_of_json`]).

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::model::{Config, Model, Supplied};
use crate::oracle::{self, ExpectedCache};
use crate::plan::Step;
use crate::target::{Observation, Target, TargetError};

use super::Position;

/// The box before the first step: what every step's config.json is built on and what its
/// secrets are held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// The box's config.json as it was.
    pub config: serde_json::Value,
    /// The first observation.
    pub observation: Observation,
}

impl Baseline {
    /// The secret fingerprint every step must keep.
    pub fn fingerprint(&self) -> &str {
        &self.observation.secret_fingerprint
    }

    /// sha256 of the baseline config.json (canonical JSON text), hex.
    pub fn config_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.config.to_string().as_bytes()))
    }
}

/// Reads the box's config.json and observes it once.
pub async fn snapshot<T: Target>(target: &mut T) -> Result<Baseline, TargetError> {
    let config = target.read_config().await?;
    let observation = target.observe().await?;
    Ok(Baseline {
        config,
        observation,
    })
}

/// Sets `value` at a dotted path (`monero.remote.host`), creating objects on the way and
/// replacing any non-object in the way.
pub fn set_dotted(doc: &mut serde_json::Value, path: &str, value: serde_json::Value) {
    let mut cur = doc;
    let mut parts = path.split('.').peekable();
    while let Some(key) = parts.next() {
        if !cur.is_object() {
            *cur = serde_json::Value::Object(serde_json::Map::new());
        }
        let map = cur.as_object_mut().expect("made an object above");
        if parts.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        cur = map
            .entry(key.to_string())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    }
}

/// The config.json of a raw config: the baseline's JSON with every key the config sets
/// ([`Model::overrides`]) written at its dotted path. Keys the baseline has and the config
/// does not set are kept, so a box's own settings survive the walk.
pub fn config_json(
    baseline: &serde_json::Value,
    model: &Model,
    supplied: &Supplied,
    raw: &Config,
) -> serde_json::Value {
    let mut doc = baseline.clone();
    for (path, value) in model.overrides(raw, supplied) {
        set_dotted(&mut doc, &path, value);
    }
    doc
}

/// What a walk computes once per distinct config and reuses: the oracle's expectations by
/// effective config and config.json by raw config. The fuzzer keeps one across walks of the
/// same model, supplied prerequisites and baseline; [`run_walk`](super::run_walk) makes a fresh one.
#[derive(Debug, Default)]
pub struct WalkCache {
    pub(super) expected: ExpectedCache,
    config_json: HashMap<Config, Arc<serde_json::Value>>,
    /// The baseline config.json the cached documents were built on.
    baseline: Option<serde_json::Value>,
    /// sha256 of config.json at the last backup operation: what a restore must bring back.
    /// Kept here because box runs feed the runner one step at a time with one cache.
    pub(super) backup_config: Option<String>,
    /// Where the box really is, for walks whose box may refuse a planned apply.
    pub(super) position: Position,
}

impl WalkCache {
    /// An empty cache.
    pub fn new() -> WalkCache {
        WalkCache::default()
    }

    /// Starts a walk (or its resumed rest) at the raw config `start`, so the steps after an
    /// apply the box refuses can be predicted from where the box is ([`Position`]).
    pub fn begin_at(&mut self, start: Config) {
        self.position = Position::at(start);
    }

    /// Records a step that ran outside [`run_walk_cached`](super::run_walk_cached) (a resumed step judged again).
    pub fn step_ran(&mut self, model: &Model, step: &Step) {
        self.position.ran(model, step, false);
    }

    /// Forgets the cached documents unless they were built on `baseline` (once per walk: a
    /// deep comparison per step would cost more than the lookup it guards).
    pub(super) fn rebase(&mut self, baseline: &serde_json::Value) {
        if self.baseline.as_ref() != Some(baseline) {
            self.config_json.clear();
            self.baseline = Some(baseline.clone());
        }
    }

    /// config.json for `raw`; call [`WalkCache::rebase`] first.
    pub(super) fn config_json(
        &mut self,
        baseline: &serde_json::Value,
        model: &Model,
        supplied: &Supplied,
        raw: &Config,
    ) -> Arc<serde_json::Value> {
        if let Some(doc) = self.config_json.get(raw) {
            return Arc::clone(doc);
        }
        let doc = Arc::new(config_json(baseline, model, supplied, raw));
        self.config_json.insert(raw.clone(), Arc::clone(&doc));
        doc
    }
}

/// The raw config a config.json describes: each axis's value whose JSON is at the axis's
/// path, the default where the key is absent or holds a value the model does not list.
pub fn config_of_json(model: &Model, supplied: &Supplied, doc: &serde_json::Value) -> Config {
    let mut c = model.default_config();
    for (i, axis) in model.axes.iter().enumerate() {
        let Some(found) = oracle::lookup(doc, &axis.path) else {
            continue;
        };
        if let Some(v) = axis
            .values
            .iter()
            .position(|v| &crate::model::fill_templates(&v.json, supplied) == found)
        {
            c.0[i] = v as u16;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_dotted_creates_and_replaces() {
        let mut doc = json!({"monero": {"mode": "local", "prune": true}, "x": 1});
        set_dotted(&mut doc, "monero.mode", json!("remote"));
        set_dotted(&mut doc, "monero.remote.host", json!("node.lan"));
        set_dotted(&mut doc, "x.y", json!(2));
        assert_eq!(
            doc,
            json!({"monero": {"mode": "remote", "prune": true, "remote": {"host": "node.lan"}}, "x": {"y": 2}})
        );
    }

    #[test]
    fn config_json_keeps_the_baselines_other_keys() {
        let m = crate::run::test_pithead();
        let s = Supplied::default();
        let base = json!({"config_version": "2.0.0", "p2pool": {"wallet": "4abc", "pool": "main"}});
        let raw = m
            .config_from_labels(&m.default_config(), [("p2pool.pool", "nano")])
            .unwrap();
        let doc = config_json(&base, &m, &s, &raw);
        assert_eq!(doc["config_version"], "2.0.0");
        assert_eq!(doc["p2pool"]["wallet"], "4abc");
        assert_eq!(doc["p2pool"]["pool"], "nano");
        assert_eq!(doc["tari"]["mode"], "local");
    }
}
