//! The stack model: axes and their values, gates, constraints, normalisations and the service
//! map, loaded from `strategies/*.toml` (see [`load`]) or from a PICT model (see [`pict`]).
//!
//! A [`Config`] is one value index per axis. The *raw* config is what canary writes into
//! `config.json`; the *effective* config is what the stack renders from it after the model's
//! normalisations (for Pithead, `tari.mode=off` renders `tari_required` false). Coverage is
//! counted on effective configs, because two raw configs with the same effective config put the
//! box in the same state.

pub mod errors;
pub mod expr;
mod load;
pub mod ops;
pub mod pict;
pub mod prereq;
mod services;
pub mod skip;
mod step;
pub mod variant;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use expr::{Expr, UNSET};
pub use load::{BUILTIN_PITHEAD, load_file, load_file_variant, load_str, load_variant};
pub use ops::{Action, OpGroup, OpKind, Operation, Transition};
pub use prereq::PrereqType;
pub use services::{Prediction, Rendered};
pub use step::Step;

/// One value of an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisValue {
    /// The name used in tables, constraints and on the command line (`local`, `true`, `set`).
    pub label: String,
    /// The JSON written into config.json. Strings may hold `${prerequisite}` templates.
    pub json: serde_json::Value,
}

/// A configuration axis: one key of config.json and the values a run varies it over.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted name, also the config.json path unless `path` says otherwise.
    pub name: String,
    /// Dotted config.json path the value is written to.
    pub path: String,
    /// The values, in declaration order.
    pub values: Vec<AxisValue>,
    /// Index of the default value (what the stack assumes when the key is absent).
    pub default: u16,
    /// A change of this axis cannot be hot-applied (needs down then up).
    pub cold: bool,
}

impl Axis {
    /// Index of the value with this label.
    pub fn value_index(&self, label: &str) -> Option<u16> {
        self.values
            .iter()
            .position(|v| v.label == label)
            .map(|i| i as u16)
    }
}

/// Something a gated value needs from the user (a data dir, a remote host, a key).
#[derive(Debug, Clone, PartialEq)]
pub struct Prerequisite {
    pub name: String,
    /// One line saying what to supply.
    pub help: String,
    /// Never printed, journaled or saved.
    pub secret: bool,
    /// The form a supplied value must take (`type = "host"` in the model).
    pub kind: PrereqType,
    /// What the simulated stack takes for it when nothing is supplied: the sim stands in for
    /// a remote node, a full data dir, a view key, a cold subnet change, so a walk on it
    /// covers every gated value. `None`: gated on the sim too.
    pub sim: Option<String>,
}

/// A value that is planned only when its prerequisites are supplied.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub axis: usize,
    pub value: u16,
    pub needs: Vec<String>,
    pub reason: String,
    /// Extra config.json keys written whenever the gated value is used (dotted path → JSON).
    pub sets: BTreeMap<String, serde_json::Value>,
}

/// A rule every raw config must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub text: String,
    pub expr: Expr,
    pub why: String,
}

/// When `when` holds, the stack renders `axis` as `value` whatever config.json says.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalisation {
    pub text: String,
    pub when: Expr,
    pub sets: Vec<(usize, u16)>,
    pub why: String,
}

/// A compose profile: active when its condition holds on the effective config.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// When it is active. `None`: no axis of the model drives it (a `[[profile]]` without
    /// `when`); it never renders, and its services and its COMPOSE_PROFILES token are not
    /// judged either way, so the model can name what the compose file has without predicting it.
    pub when: Option<Expr>,
    /// Line of its `[[profile]]` table in the model file (0 when not from a file).
    pub line: usize,
}

/// A container of the stack and what makes an apply touch it.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// The profile that must be active for the container to exist; `None` means always.
    pub profile: Option<String>,
    /// Rendered keys the container interpolates: a change recreates it.
    pub inputs: Vec<String>,
    /// Rendered keys of a mounted file: a change restarts it (apply runs `compose restart`).
    pub restart_on: Vec<String>,
    /// Services whose recreate or restart restarts this one (compose `depends_on` with
    /// `restart: true`).
    pub restart_with: Vec<String>,
    /// Rough seconds to get back to ready after a recreate; prices a step.
    pub cost: f64,
    /// Line of its `[[service]]` table in the model file (0 when not from a file).
    pub line: usize,
}

/// One case of a derived value: the first case whose `when` holds gives the value.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedCase {
    pub when: Option<Expr>,
    pub source: DerivedSource,
}

/// Where a derived value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DerivedSource {
    /// A fixed JSON value (strings may hold `${prerequisite}` templates).
    Value(serde_json::Value),
    /// The effective value of an axis, mapped by label when a map is given, else the axis'
    /// JSON value.
    Axis {
        axis: usize,
        map: BTreeMap<String, serde_json::Value>,
    },
    /// The active profiles joined with commas, in declaration order.
    Profiles,
}

/// A value the stack derives from the config: an .env key or an `/api/state` field.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    pub key: String,
    pub cases: Vec<DerivedCase>,
}

/// The model's `[readiness]` table: what legitimately takes long and how long a box must
/// stay unchanged to count as settled, per target (the oracle's settle rule reads it).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadinessModel {
    /// Consecutive equal polls that make a box settled.
    pub settle_polls: u32,
    /// The least seconds those polls span, by target name (`local`, `ssh`); `default` for
    /// the others.
    pub window: std::collections::BTreeMap<String, f64>,
    /// The window while a slow field is not yet at its expected value.
    pub slow_window: f64,
    /// Expected `/api/state` fields that legitimately take long (sync state).
    pub slow: Vec<String>,
    /// `/api/state` subtrees whose movement is progress (heights, percent).
    pub progress: Vec<String>,
}

impl Default for ReadinessModel {
    fn default() -> Self {
        ReadinessModel {
            settle_polls: 3,
            window: [("default".to_string(), 5.0)].into_iter().collect(),
            slow_window: 60.0,
            slow: Vec::new(),
            progress: Vec::new(),
        }
    }
}

/// A loaded, validated model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub description: String,
    /// Whether transition coverage is on when the user does not say.
    pub transitions_by_default: bool,
    /// Seconds a changing apply costs before any container work.
    pub apply_cost: f64,
    pub axes: Vec<Axis>,
    pub prerequisites: Vec<Prerequisite>,
    pub gates: Vec<Gate>,
    pub constraints: Vec<Constraint>,
    pub normalisations: Vec<Normalisation>,
    pub profiles: Vec<Profile>,
    pub services: Vec<Service>,
    /// Rendered .env keys.
    pub env: Vec<Derived>,
    /// Expected `/api/state` fields (dotted JSON paths).
    pub api: Vec<Derived>,
    /// .env keys whose sorted lines make the secret fingerprint.
    pub secret_env: Vec<String>,
    /// .env keys the oracle asserts on the box after every step.
    pub posture_env: Vec<String>,
    /// Steps that are not config applies: restarts, outages, backup and restore.
    pub operations: Vec<ops::Operation>,
    /// How a box is waited on after a step (`[readiness]`).
    pub readiness: ReadinessModel,
    /// Groups of axes to plan at a higher strength than the rest (`[[submodel]]`, PICT's
    /// `{ A, B, C } @ 3`).
    pub sub_models: Vec<SubModel>,
    /// Where the model came from, for messages.
    pub source: PathBuf,
    /// sha256 of the model's source text, hex (and of the variant's name, for a variant
    /// other than the default).
    pub hash: String,
    /// The variant in effect (`--variant`; empty for a model without variants).
    pub variant: String,
    /// The model's declared variants (`None`: it has none).
    pub variants: Option<variant::Variants>,
}

/// A group of axes planned at its own strength (PICT's sub-model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubModel {
    /// Axis indices, in the order given.
    pub axes: Vec<usize>,
    /// From 2 to 4, at most `axes.len()`.
    pub strength: usize,
}

/// A configuration: one value index per axis, in axis order.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Config(pub Vec<u16>);

/// Prerequisites the user supplied, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supplied(pub BTreeMap<String, String>);

impl Supplied {
    /// These values plus, for every prerequisite not supplied, the model's stand-in for the
    /// simulated stack ([`Prerequisite::sim`]). Never for a box: a box skips gated values
    /// loudly until the operator supplies them. Nor for those the user `declined` (a yes-no
    /// answered `no`): the sim leaves their values out too.
    pub fn with_sim_stand_ins(
        &self,
        model: &Model,
        declined: &std::collections::BTreeSet<String>,
    ) -> Supplied {
        let mut out = self.clone();
        for p in &model.prerequisites {
            if let Some(v) = &p.sim
                && !declined.contains(&p.name)
                && out.0.get(&p.name).is_none_or(|x| x.is_empty())
            {
                out.0.insert(p.name.clone(), v.clone());
            }
        }
        out
    }

    /// Whether every named prerequisite was supplied with a non-empty value.
    pub fn has_all(&self, names: &[String]) -> bool {
        names
            .iter()
            .all(|n| self.0.get(n).is_some_and(|v| !v.is_empty()))
    }
}

/// A gated value left out of a plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skip {
    pub axis: String,
    pub value: String,
    pub reason: String,
}

impl Model {
    /// Whether the model predicts profile `name` (declared, with a `when`).
    pub fn tracks_profile(&self, name: &str) -> bool {
        self.profiles
            .iter()
            .any(|p| p.name == name && p.when.is_some())
    }

    /// Index of the axis with this name.
    pub fn axis_index(&self, name: &str) -> Option<usize> {
        self.axes.iter().position(|a| a.name == name)
    }

    /// The config the stack assumes when config.json sets none of the axes.
    pub fn default_config(&self) -> Config {
        Config(self.axes.iter().map(|a| a.default).collect())
    }

    /// The label of a config's value on an axis.
    pub fn label(&self, axis: usize, value: u16) -> &str {
        &self.axes[axis].values[value as usize].label
    }

    /// The first constraint a raw config breaks, if any.
    pub fn violation(&self, config: &[u16]) -> Option<&Constraint> {
        self.constraints.iter().find(|c| !c.expr.holds(config))
    }

    /// The effective config: the raw one after every normalisation that applies.
    pub fn effective(&self, raw: &Config) -> Config {
        let mut out = raw.clone();
        // Normalisations read the raw config so their order does not matter.
        for n in &self.normalisations {
            if n.when.holds(&raw.0) {
                for &(axis, value) in &n.sets {
                    out.0[axis] = value;
                }
            }
        }
        out
    }

    /// Gated values whose prerequisites are missing, with the reason they are skipped.
    pub fn skipped(&self, supplied: &Supplied) -> Vec<Skip> {
        self.gates
            .iter()
            .filter(|g| !supplied.has_all(&g.needs))
            .map(|g| Skip {
                axis: self.axes[g.axis].name.clone(),
                value: self.label(g.axis, g.value).to_string(),
                reason: format!(
                    "{}; supply {}",
                    g.reason,
                    g.needs
                        .iter()
                        .map(|n| {
                            let yes_no = self
                                .prerequisites
                                .iter()
                                .any(|p| &p.name == n && p.kind == PrereqType::YesNo);
                            format!("--supply {n}={}", if yes_no { "yes" } else { "..." })
                        })
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            })
            .collect()
    }

    /// Whether a value may be planned with what was supplied.
    pub fn value_allowed(&self, axis: usize, value: u16, supplied: &Supplied) -> bool {
        self.gates
            .iter()
            .filter(|g| g.axis == axis && g.value == value)
            .all(|g| supplied.has_all(&g.needs))
    }

    /// The constraints of the space the planner covers: the raw constraints, each normalisation
    /// as an implication (so coverage is counted on effective configs), and each gated value
    /// whose prerequisites are missing as a ban.
    pub fn planning_constraints(&self, supplied: &Supplied) -> Vec<Expr> {
        let mut out: Vec<Expr> = self.constraints.iter().map(|c| c.expr.clone()).collect();
        for n in &self.normalisations {
            for &(axis, value) in &n.sets {
                let mut set = vec![false; self.axes[axis].values.len()];
                set[value as usize] = true;
                out.push(Expr::Or(
                    Box::new(Expr::Not(Box::new(n.when.clone()))),
                    Box::new(Expr::In(axis, set)),
                ));
            }
        }
        for (axis, a) in self.axes.iter().enumerate() {
            let banned: Vec<bool> = (0..a.values.len() as u16)
                .map(|v| !self.value_allowed(axis, v, supplied))
                .collect();
            if banned.iter().any(|b| *b) {
                out.push(Expr::Not(Box::new(Expr::In(axis, banned))));
            }
        }
        out
    }

    /// The raw config canary writes for an effective planned config: an axis that a
    /// normalisation overrides is written with a value the normalisation has to override (its
    /// default when that differs from the forced value, else the first value that does), so
    /// the walk exercises the stack's own normalisation instead of agreeing with it in
    /// advance. Where that would break a constraint, the default and then the effective value
    /// are tried.
    pub fn raw_for(&self, effective: &Config) -> Config {
        let mut forced: Vec<(usize, u16)> = Vec::new();
        for n in &self.normalisations {
            if n.when.holds(&effective.0) {
                forced.extend(n.sets.iter().copied());
            }
        }
        if forced.is_empty() {
            return effective.clone();
        }
        let overriding = |axis: usize, value: u16| -> u16 {
            let a = &self.axes[axis];
            if a.default != value {
                a.default
            } else {
                (0..a.values.len() as u16)
                    .find(|&v| v != value)
                    .unwrap_or(value)
            }
        };
        let ok =
            |raw: &Config| self.violation(&raw.0).is_none() && self.effective(raw) == *effective;
        let mut exercised = effective.clone();
        let mut defaults = effective.clone();
        for &(axis, value) in &forced {
            exercised.0[axis] = overriding(axis, value);
            defaults.0[axis] = self.axes[axis].default;
        }
        [exercised, defaults]
            .into_iter()
            .find(|r| ok(r))
            .unwrap_or_else(|| effective.clone())
    }

    /// The config.json keys a config sets: each axis' path with its value, plus the extra keys
    /// of gated values in use, templates filled from the supplied prerequisites.
    pub fn overrides(
        &self,
        config: &Config,
        supplied: &Supplied,
    ) -> BTreeMap<String, serde_json::Value> {
        let mut out = BTreeMap::new();
        for (i, axis) in self.axes.iter().enumerate() {
            let v = &axis.values[config.0[i] as usize].json;
            out.insert(axis.path.clone(), fill_templates(v, supplied));
        }
        for g in &self.gates {
            if config.0[g.axis] == g.value {
                for (path, v) in &g.sets {
                    out.insert(path.clone(), fill_templates(v, supplied));
                }
            }
        }
        out
    }

    /// A config as axis name → label, for tables, journals and the plan's JSON.
    pub fn labels(&self, config: &Config) -> BTreeMap<String, String> {
        self.axes
            .iter()
            .zip(&config.0)
            .map(|(a, v)| (a.name.clone(), a.values[*v as usize].label.clone()))
            .collect()
    }

    /// Parses `axis=label` assignments onto a config.
    pub fn config_from_labels<'a>(
        &self,
        base: &Config,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config, String> {
        let mut c = base.clone();
        for (name, label) in pairs {
            let a = self
                .axis_index(name)
                .ok_or_else(|| format!("unknown axis '{name}'"))?;
            let v = self.axes[a].value_index(label).ok_or_else(|| {
                format!(
                    "axis '{name}' has no value '{label}'; its values are: {}",
                    self.axes[a]
                        .values
                        .iter()
                        .map(|v| v.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            c.0[a] = v;
        }
        Ok(c)
    }
}

/// Replaces `${name}` in strings with supplied prerequisite values.
pub fn fill_templates(v: &serde_json::Value, supplied: &Supplied) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) if s.contains("${") => {
            let mut out = s.clone();
            for (k, val) in &supplied.0 {
                out = out.replace(&format!("${{{k}}}"), val);
            }
            serde_json::Value::String(out)
        }
        other => other.clone(),
    }
}

/// The label a JSON scalar gets when no label is given.
pub fn label_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl expr::AxisCatalog for [Axis] {
    fn axis_index(&self, name: &str) -> Option<usize> {
        self.iter().position(|a| a.name == name)
    }
    fn axis_names(&self) -> Vec<String> {
        self.iter().map(|a| a.name.clone()).collect()
    }
    fn labels(&self, axis: usize) -> Vec<String> {
        self[axis].values.iter().map(|v| v.label.clone()).collect()
    }
}
