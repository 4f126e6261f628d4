//! The model file as TOML has it (serde's view, spans kept for file:line errors), before
//! any checking.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    pub(super) model: Option<RawHeader>,
    #[serde(default)]
    pub(super) prerequisite: Vec<Spanned<RawPrerequisite>>,
    #[serde(default)]
    pub(super) axis: Vec<Spanned<RawAxis>>,
    #[serde(default)]
    pub(super) gate: Vec<Spanned<RawGate>>,
    #[serde(default)]
    pub(super) constraint: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub(super) normalise: Vec<Spanned<RawNormalise>>,
    #[serde(default)]
    pub(super) profile: Vec<Spanned<RawProfile>>,
    #[serde(default)]
    pub(super) service: Vec<Spanned<RawService>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<RawDerived>>,
    #[serde(default)]
    pub(super) api: BTreeMap<String, Spanned<RawDerived>>,
    #[serde(default)]
    pub(super) secrets: Option<RawSecrets>,
    #[serde(default)]
    pub(super) posture: Option<RawSecrets>,
    #[serde(default)]
    pub(super) operation: Vec<Spanned<RawOperation>>,
    #[serde(default)]
    pub(super) readiness: Option<Spanned<RawReadiness>>,
    #[serde(default)]
    pub(super) variant: Vec<Spanned<RawVariant>>,
    #[serde(default)]
    pub(super) submodel: Vec<Spanned<RawSubModel>>,
}

/// A `[[variant]]`: what differs in some Pithead versions. `drop` names what goes
/// (`constraint:NAME`, `normalise:NAME`, `gate:AXIS=VALUE`, `env:KEY`, `api:KEY`,
/// `operation:NAME`), `drop_values` the values those versions do not have; the tables add
/// (or, for `env`/`api`, replace) what they have instead.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariant {
    pub(super) name: String,
    #[serde(default)]
    pub(super) help: String,
    #[serde(default)]
    pub(super) default: bool,
    pub(super) detect: Option<RawDetect>,
    #[serde(default)]
    pub(super) include: Vec<String>,
    #[serde(default)]
    pub(super) drop: Vec<String>,
    #[serde(default)]
    pub(super) drop_values: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    pub(super) gate: Vec<Spanned<RawGate>>,
    #[serde(default)]
    pub(super) constraint: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub(super) normalise: Vec<Spanned<RawNormalise>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<RawDerived>>,
    #[serde(default)]
    pub(super) api: BTreeMap<String, Spanned<RawDerived>>,
    #[serde(default)]
    pub(super) operation: Vec<Spanned<RawOperation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDetect {
    pub(super) ask: String,
    pub(super) line: String,
}

/// `[[submodel]]`: a group of axes planned at a higher strength than the rest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubModel {
    pub(super) axes: Vec<String>,
    pub(super) strength: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReadiness {
    pub(super) settle_polls: Option<u32>,
    #[serde(default)]
    pub(super) window: BTreeMap<String, f64>,
    pub(super) slow_window: Option<f64>,
    #[serde(default)]
    pub(super) slow: Vec<String>,
    #[serde(default)]
    pub(super) progress: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) transitions: Option<bool>,
    pub(super) apply_cost: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrerequisite {
    pub(super) name: String,
    pub(super) help: String,
    #[serde(default)]
    pub(super) secret: bool,
    pub(super) sim: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawValue {
    Labelled { label: String, value: toml::Value },
    Scalar(toml::Value),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAxis {
    pub(super) name: Spanned<String>,
    pub(super) path: Option<String>,
    pub(super) values: Spanned<Vec<RawValue>>,
    pub(super) default: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) cold: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    pub(super) axis: String,
    pub(super) value: toml::Value,
    pub(super) needs: Vec<String>,
    pub(super) reason: String,
    #[serde(default)]
    pub(super) set: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    /// What a variant's `drop = ["constraint:NAME"]` calls it.
    pub(super) name: Option<String>,
    pub(super) rule: String,
    #[serde(default)]
    pub(super) why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNormalise {
    /// What a variant's `drop = ["normalise:NAME"]` calls it.
    pub(super) name: Option<String>,
    pub(super) when: String,
    pub(super) set: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(super) why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    pub(super) name: String,
    pub(super) when: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) name: String,
    pub(super) profile: Option<String>,
    #[serde(default)]
    pub(super) inputs: Vec<String>,
    #[serde(default)]
    pub(super) restart_on: Vec<String>,
    #[serde(default)]
    pub(super) restart_with: Vec<String>,
    #[serde(default = "default_cost")]
    pub(super) cost: f64,
}

pub(super) fn default_cost() -> f64 {
    10.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCase {
    pub(super) when: Option<String>,
    pub(super) axis: Option<String>,
    #[serde(default)]
    pub(super) map: BTreeMap<String, toml::Value>,
    pub(super) value: Option<toml::Value>,
    #[serde(default)]
    pub(super) profiles: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawDerived {
    Cases { cases: Vec<RawCase> },
    One(RawCase),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecrets {
    #[serde(default)]
    pub(super) env: Vec<String>,
}
