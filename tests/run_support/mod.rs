//! A small scripted target for the runner's tests: it behaves as the model says (it renders
//! with the model and touches what `Model::predict` names), on a virtual clock, with knobs that
//! break it in the ways the runner must cope with. It is test-only; the oracle's independence
//! from it does not matter here, because these tests pin the runner, not the oracle.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use canary::model::{BUILTIN_PITHEAD, Config, Model, Supplied, fill_templates, load_str};
use canary::oracle::NO_CHANGES;
use canary::plan::Step;
use canary::target::{CommandResult, ContainerState, Observation, Target, TargetError};
use serde_json::{Value, json};

pub fn pithead() -> Model {
    load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap()
}

/// Steps from the default config through `axis=label` changes, each applied in turn.
pub fn walk(model: &Model, changes: &[&[(&str, &str)]]) -> Vec<Step> {
    let mut cur = model.default_config();
    let mut raws = Vec::new();
    for pairs in changes {
        cur = model
            .config_from_labels(&cur, pairs.iter().copied())
            .unwrap();
        raws.push(cur.clone());
    }
    canary::run::steps_from(model, &Supplied::default(), &model.default_config(), raws)
}

/// The step-loop bench's walk: `n` random valid steps from the default config, each changing
/// one or two axes (seeded, so the bench and the golden journal test run the same walk).
pub fn bench_walk(model: &Model, n: usize) -> Vec<Step> {
    use rand::Rng;
    let supplied = Supplied::default();
    let mut rng = canary::rng::Seed::from_u64(1).rng("bench-walk");
    let mut cur = model.default_config();
    let mut raws = Vec::with_capacity(n);
    while raws.len() < n {
        let mut next = cur.clone();
        for _ in 0..rng.random_range(1..=2) {
            let a = rng.random_range(0..model.axes.len());
            let v = rng.random_range(0..model.axes[a].values.len()) as u16;
            next.0[a] = v;
        }
        let allowed = (0..model.axes.len()).all(|a| model.value_allowed(a, next.0[a], &supplied));
        if allowed && model.violation(&next.0).is_none() {
            raws.push(next.clone());
            cur = next;
        }
    }
    canary::run::steps_from(model, &supplied, &model.default_config(), raws)
}

/// A box that does what the model says, unless told otherwise.
pub struct ScriptedTarget {
    model: Model,
    supplied: Supplied,
    config: Value,
    applied: Config,
    env: BTreeMap<String, String>,
    containers: Vec<ContainerState>,
    generation: u64,
    now: Duration,
    ready_at: Duration,
    applies: usize,
    fingerprint: String,
    /// Simulated time from an apply to ready.
    pub ready_delay: Duration,
    /// Applies (1-based count) that are refused with exit 1.
    pub refuse_applies: BTreeSet<usize>,
    /// Applies (1-based count) after which the secret fingerprint changes.
    pub rotate_at_apply: Option<usize>,
    /// Apply count at which `apply` fails as a target error (a lost connection).
    pub lose_connection_at_apply: Option<usize>,
    /// Whether `wait` moves the clock (a broken clock must not hang the runner).
    pub clock_moves: bool,
    /// Observations taken so far.
    pub observes: usize,
}

impl ScriptedTarget {
    pub fn new(model: Model) -> ScriptedTarget {
        let supplied = Supplied::default();
        let applied = model.default_config();
        let config = canary::run::config_json(
            &json!({"config_version": "2.0.0"}),
            &model,
            &supplied,
            &applied,
        );
        let rendered = model.render(&applied, &supplied);
        let containers = rendered
            .services
            .iter()
            .map(|n| ContainerState {
                name: n.clone(),
                id: format!("{n}-0"),
                started: "0".into(),
                state: "running".into(),
                health: None,
            })
            .collect();
        ScriptedTarget {
            model,
            supplied,
            config,
            applied,
            env: rendered.env,
            containers,
            generation: 0,
            now: Duration::ZERO,
            ready_at: Duration::ZERO,
            applies: 0,
            fingerprint: "fp0".into(),
            ready_delay: Duration::from_secs(30),
            refuse_applies: BTreeSet::new(),
            rotate_at_apply: None,
            lose_connection_at_apply: None,
            clock_moves: true,
            observes: 0,
        }
    }

    fn parse(&self) -> Config {
        let mut c = self.model.default_config();
        for (i, axis) in self.model.axes.iter().enumerate() {
            let got = canary::oracle::lookup(&self.config, &axis.path);
            if let Some(got) = got
                && let Some(v) = axis
                    .values
                    .iter()
                    .position(|v| fill_templates(&v.json, &self.supplied) == *got)
            {
                c.0[i] = v as u16;
            }
        }
        c
    }

    fn bump(&mut self) -> String {
        self.generation += 1;
        self.generation.to_string()
    }
}

impl Target for ScriptedTarget {
    fn name(&self) -> &str {
        "scripted"
    }

    fn describe(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("kind".to_string(), "scripted test target".to_string())])
    }

    async fn read_config(&mut self) -> Result<Value, TargetError> {
        Ok(self.config.clone())
    }

    async fn write_config(&mut self, config: &Value) -> Result<(), TargetError> {
        self.config = config.clone();
        Ok(())
    }

    async fn apply(&mut self) -> Result<CommandResult, TargetError> {
        self.applies += 1;
        self.now += Duration::from_secs(6);
        if self.lose_connection_at_apply == Some(self.applies) {
            return Err(TargetError::Connection("connection reset by peer".into()));
        }
        if self.rotate_at_apply == Some(self.applies) {
            self.fingerprint = format!("fp{}", self.applies);
        }
        if self.refuse_applies.contains(&self.applies) {
            return Ok(CommandResult {
                exit_code: 1,
                output: "error: refused by the script".into(),
            });
        }
        let next = self.model.effective(&self.parse());
        if next == self.applied {
            return Ok(CommandResult {
                exit_code: 0,
                output: format!("{NO_CHANGES}. Nothing to apply."),
            });
        }
        let p = self.model.predict(&self.applied, &next, &self.supplied);
        self.containers.retain(|c| !p.removed.contains(&c.name));
        for name in p.recreated.clone() {
            let g = self.bump();
            if let Some(c) = self.containers.iter_mut().find(|c| c.name == name) {
                c.id = format!("{name}-{g}");
                c.started = g;
            }
        }
        for name in p.restarted.clone() {
            let g = self.bump();
            if let Some(c) = self.containers.iter_mut().find(|c| c.name == name) {
                c.started = g;
            }
        }
        for name in p.created.clone() {
            let g = self.bump();
            self.containers.push(ContainerState {
                name: name.clone(),
                id: format!("{name}-{g}"),
                started: g,
                state: "running".into(),
                health: None,
            });
        }
        self.env = self.model.render(&next, &self.supplied).env;
        self.applied = next;
        self.ready_at = self.now + self.ready_delay;
        Ok(CommandResult {
            exit_code: 0,
            output: "Configuration applied.".into(),
        })
    }

    async fn observe(&mut self) -> Result<Observation, TargetError> {
        self.observes += 1;
        let ready = self.now >= self.ready_at;
        // Until ready, the dashboard does not answer (a box still coming up).
        let mut api = serde_json::Value::Null;
        if ready {
            api = json!({});
            for (path, v) in self.model.expected_api(&self.applied, &self.supplied) {
                canary::run::set_dotted(&mut api, &path, v);
            }
        }
        Ok(Observation {
            status_exit: if ready { 0 } else { 1 },
            containers: self.containers.clone(),
            env: self.env.clone().into(),
            api: api.into(),
            secret_fingerprint: self.fingerprint.clone(),
        })
    }

    async fn wait(&mut self, duration: Duration) {
        if self.clock_moves {
            self.now += duration;
        }
    }

    fn elapsed(&self) -> Duration {
        self.now
    }
}
