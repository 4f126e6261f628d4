//! Loading and validating `strategies/*.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::expr::{self, MatchOptions};
use super::ops::{During, OpGroup, OpKind, Operation, RawOperation, Readmit};
use super::{
    Axis, AxisValue, Constraint, Derived, DerivedCase, DerivedSource, Gate, Model, Normalisation,
    PrereqType, Prerequisite, Profile, Service, label_of,
};
use crate::errors::{ModelError, ModelErrors};

/// The Pithead model shipped with canary, used when no `--model` is given.
pub const BUILTIN_PITHEAD: &str = include_str!("../../strategies/pithead.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    model: Option<RawHeader>,
    #[serde(default)]
    prerequisite: Vec<Spanned<RawPrerequisite>>,
    #[serde(default)]
    axis: Vec<Spanned<RawAxis>>,
    #[serde(default)]
    gate: Vec<Spanned<RawGate>>,
    #[serde(default)]
    constraint: Vec<Spanned<RawRule>>,
    #[serde(default)]
    normalise: Vec<Spanned<RawNormalise>>,
    #[serde(default)]
    profile: Vec<Spanned<RawProfile>>,
    #[serde(default)]
    service: Vec<Spanned<RawService>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<RawDerived>>,
    #[serde(default)]
    api: BTreeMap<String, Spanned<RawDerived>>,
    #[serde(default)]
    secrets: Option<RawSecrets>,
    #[serde(default)]
    posture: Option<RawSecrets>,
    #[serde(default)]
    operation: Vec<Spanned<RawOperation>>,
    #[serde(default)]
    readiness: Option<Spanned<RawReadiness>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReadiness {
    settle_polls: Option<u32>,
    #[serde(default)]
    window: BTreeMap<String, f64>,
    slow_window: Option<f64>,
    #[serde(default)]
    slow: Vec<String>,
    #[serde(default)]
    progress: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Option<String>,
    #[serde(default)]
    description: String,
    transitions: Option<bool>,
    apply_cost: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrerequisite {
    name: String,
    help: String,
    #[serde(default)]
    secret: bool,
    sim: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawValue {
    Labelled { label: String, value: toml::Value },
    Scalar(toml::Value),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    name: Spanned<String>,
    path: Option<String>,
    values: Spanned<Vec<RawValue>>,
    default: Option<Spanned<toml::Value>>,
    #[serde(default)]
    cold: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    axis: String,
    value: toml::Value,
    needs: Vec<String>,
    reason: String,
    #[serde(default)]
    set: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    rule: String,
    #[serde(default)]
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNormalise {
    when: String,
    set: BTreeMap<String, toml::Value>,
    #[serde(default)]
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    when: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: String,
    profile: Option<String>,
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    restart_on: Vec<String>,
    #[serde(default)]
    restart_with: Vec<String>,
    #[serde(default = "default_cost")]
    cost: f64,
}

fn default_cost() -> f64 {
    10.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    when: Option<String>,
    axis: Option<String>,
    #[serde(default)]
    map: BTreeMap<String, toml::Value>,
    value: Option<toml::Value>,
    #[serde(default)]
    profiles: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDerived {
    Cases { cases: Vec<RawCase> },
    One(RawCase),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    #[serde(default)]
    env: Vec<String>,
}

/// Loads a model file.
pub fn load_file(path: &Path) -> Result<Model, ModelErrors> {
    let text = crate::files::read_capped(path, crate::files::INPUT_CAP).map_err(|e| {
        ModelErrors(vec![ModelError {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read the model: {e}"),
            hint: "check the path given to --model".into(),
        }])
    })?;
    load_str(&text, path)
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

struct Ctx<'a> {
    file: PathBuf,
    text: &'a str,
    errors: Vec<ModelError>,
    /// Axes already reported and left out: a later "unknown axis" naming one of them is a
    /// consequence of that error, not a second problem, so it is not reported.
    rejected_axes: BTreeSet<String>,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
    fn error(&mut self, offset: usize, message: impl Into<String>, hint: impl Into<String>) {
        let message = message.into();
        if self.rejected_axes.iter().any(|a| {
            message.contains(&format!("unknown axis [{a}]"))
                || message.contains(&format!("unknown axis '{a}'"))
        }) {
            return;
        }
        self.errors.push(ModelError {
            file: self.file.clone(),
            line: Some(self.line(offset)),
            message,
            hint: hint.into(),
        });
    }
}

/// Loads a model from TOML text; `path` names it in messages.
pub fn load_str(text: &str, path: &Path) -> Result<Model, ModelErrors> {
    let raw: RawModel = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        ModelErrors(vec![ModelError {
            file: path.to_path_buf(),
            line,
            message: e.message().trim().to_string(),
            hint: "see strategies/pithead.toml for the format".into(),
        }])
    })?;
    let mut cx = Ctx {
        file: path.to_path_buf(),
        text,
        errors: vec![],
        rejected_axes: BTreeSet::new(),
    };
    let header = raw.model.unwrap_or_default();

    // Prerequisites.
    let mut prerequisites = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &raw.prerequisite {
        let at = p.span().start;
        let p = p.get_ref();
        if !seen.insert(p.name.clone()) {
            cx.error(
                at,
                format!("duplicate prerequisite '{}'", p.name),
                "rename or remove one",
            );
        }
        let kind = match p.kind.as_deref() {
            None => PrereqType::Text,
            Some(k) => PrereqType::parse(k).unwrap_or_else(|| {
                let names: Vec<&str> = PrereqType::ALL.iter().map(|t| t.name()).collect();
                cx.error(
                    at,
                    format!("prerequisite '{}' has unknown type '{k}'", p.name),
                    format!("use one of: {}", names.join(", ")),
                );
                PrereqType::Text
            }),
        };
        // The sim's stand-in must be a value a user could supply.
        if let Some(v) = &p.sim
            && let Err(why) = kind.check(v)
        {
            cx.error(
                at,
                format!("prerequisite '{}': its sim value {why}", p.name),
                format!("give {}, e.g. {}", kind.form(), kind.example()),
            );
        }
        prerequisites.push(Prerequisite {
            name: p.name.clone(),
            help: p.help.clone(),
            secret: p.secret,
            kind,
            sim: p.sim.clone(),
        });
    }

    // Axes.
    let mut axes: Vec<Axis> = Vec::new();
    for ra in &raw.axis {
        let at = ra.span().start;
        let ra = ra.get_ref();
        let name = ra.name.get_ref().clone();
        if axes.iter().any(|a| a.name == name) {
            cx.error(
                ra.name.span().start,
                format!("duplicate axis '{name}'"),
                "each axis name must be unique",
            );
            continue;
        }
        if name.trim().is_empty() {
            cx.error(
                at,
                "an axis has an empty name",
                "give it the config.json path it varies",
            );
            continue;
        }
        let mut values: Vec<AxisValue> = Vec::new();
        for v in ra.values.get_ref() {
            let (label, json) = match v {
                RawValue::Labelled { label, value } => (label.clone(), toml_to_json(value)),
                RawValue::Scalar(value) => {
                    let json = toml_to_json(value);
                    (label_of(&json), json)
                }
            };
            if matches!(
                json,
                serde_json::Value::Array(_) | serde_json::Value::Object(_)
            ) {
                cx.error(
                    ra.values.span().start,
                    format!("axis '{name}' has a value that is not a scalar: {json}"),
                    "values are strings, numbers or booleans; use {label = .., value = ..} to name one",
                );
            }
            if values.iter().any(|x| x.label == label) {
                cx.error(
                    ra.values.span().start,
                    format!("axis '{name}' lists the value '{label}' twice"),
                    "remove the duplicate",
                );
            }
            values.push(AxisValue { label, json });
        }
        if values.is_empty() {
            cx.error(
                ra.values.span().start,
                format!("axis '{name}' has no values"),
                "list at least one value",
            );
            cx.rejected_axes.insert(name);
            continue;
        }
        if values.len() > u16::MAX as usize - 1 {
            cx.error(
                ra.values.span().start,
                format!("axis '{name}' has too many values"),
                "split it",
            );
            cx.rejected_axes.insert(name);
            continue;
        }
        let default = match &ra.default {
            None => 0,
            Some(d) => {
                let json = toml_to_json(d.get_ref());
                match values
                    .iter()
                    .position(|v| v.json == json || v.label == label_of(&json))
                {
                    Some(i) => i as u16,
                    None => {
                        let type_hint = if values
                            .iter()
                            .any(|v| json_type(&v.json) == json_type(&json))
                        {
                            String::new()
                        } else {
                            format!(
                                " (it is a {}, the values are {}s)",
                                json_type(&json),
                                json_type(&values[0].json)
                            )
                        };
                        cx.error(
                            d.span().start,
                            format!(
                                "default {json} of axis '{name}' is not among its values{type_hint}"
                            ),
                            format!(
                                "use one of: {}",
                                values
                                    .iter()
                                    .map(|v| v.label.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                        0
                    }
                }
            }
        };
        axes.push(Axis {
            path: ra.path.clone().unwrap_or_else(|| name.clone()),
            name,
            values,
            default,
            cold: ra.cold,
        });
    }

    let find_value = |axes: &[Axis], axis: usize, v: &toml::Value| -> Option<u16> {
        let json = toml_to_json(v);
        axes[axis]
            .values
            .iter()
            .position(|x| x.json == json || x.label == label_of(&json))
            .map(|i| i as u16)
    };
    let values_of = |axes: &[Axis], axis: usize| {
        axes[axis]
            .values
            .iter()
            .map(|v| v.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let axis_names = |axes: &[Axis]| {
        axes.iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    // Gates.
    let mut gates = Vec::new();
    for g in &raw.gate {
        let at = g.span().start;
        let g = g.get_ref();
        let Some(axis) = axes.iter().position(|a| a.name == g.axis) else {
            cx.error(
                at,
                format!("gate names unknown axis '{}'", g.axis),
                format!("known axes: {}", axis_names(&axes)),
            );
            continue;
        };
        let Some(value) = find_value(&axes, axis, &g.value) else {
            cx.error(
                at,
                format!(
                    "gate on '{}' names value {} which the axis does not have",
                    g.axis, g.value
                ),
                format!("use one of: {}", values_of(&axes, axis)),
            );
            continue;
        };
        for n in &g.needs {
            if !prerequisites.iter().any(|p| &p.name == n) {
                cx.error(
                    at,
                    format!("gate on '{}' needs unknown prerequisite '{n}'", g.axis),
                    "declare it in a [[prerequisite]] table",
                );
            }
        }
        if value == axes[axis].default {
            cx.error(
                at,
                format!("gate on '{}' gates its default value", g.axis),
                "a default cannot be gated: the box starts there",
            );
        }
        gates.push(Gate {
            axis,
            value,
            needs: g.needs.clone(),
            reason: g.reason.clone(),
            sets: g
                .set
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        });
    }

    let compile = |cx: &mut Ctx, at: usize, text: &str, what: &str| -> Option<expr::Expr> {
        match expr::parse(text) {
            Err(e) => {
                cx.error(
                    at,
                    format!("{what} '{text}' does not parse: {e}"),
                    "see the PICT constraint syntax in src/model/expr.rs",
                );
                None
            }
            Ok(ast) => match expr::resolve(&ast, axes.as_slice(), MatchOptions::default()) {
                Err(e) => {
                    cx.error(
                        at,
                        format!("{what} '{text}': {e}"),
                        "fix the axis or value name",
                    );
                    None
                }
                Ok(x) => Some(x),
            },
        }
    };

    let mut constraints = Vec::new();
    for c in &raw.constraint {
        let at = c.span().start;
        let c = c.get_ref();
        if let Some(expr) = compile(&mut cx, at, &c.rule, "constraint") {
            constraints.push(Constraint {
                text: c.rule.clone(),
                expr,
                why: c.why.clone(),
            });
        }
    }

    let mut normalisations = Vec::new();
    for n in &raw.normalise {
        let at = n.span().start;
        let n = n.get_ref();
        let Some(when) = compile(&mut cx, at, &n.when, "normalisation condition") else {
            continue;
        };
        let mut sets = Vec::new();
        for (k, v) in &n.set {
            let Some(axis) = axes.iter().position(|a| &a.name == k) else {
                cx.error(
                    at,
                    format!("normalisation sets unknown axis '{k}'"),
                    format!("known axes: {}", axis_names(&axes)),
                );
                continue;
            };
            match find_value(&axes, axis, v) {
                Some(val) => sets.push((axis, val)),
                None => cx.error(
                    at,
                    format!("normalisation sets '{k}' to {v}, not one of its values"),
                    format!("use one of: {}", values_of(&axes, axis)),
                ),
            }
        }
        normalisations.push(Normalisation {
            text: n.when.clone(),
            when,
            sets,
            why: n.why.clone(),
        });
    }

    let mut profiles = Vec::new();
    for p in &raw.profile {
        let at = p.span().start;
        let p = p.get_ref();
        if profiles.iter().any(|x: &Profile| x.name == p.name) {
            cx.error(
                at,
                format!("duplicate profile '{}'", p.name),
                "rename or remove one",
            );
        }
        let when = match &p.when {
            None => None,
            Some(w) => match compile(&mut cx, at, w, "profile condition") {
                Some(e) => Some(e),
                None => continue,
            },
        };
        profiles.push(Profile {
            name: p.name.clone(),
            when,
            line: cx.line(at),
        });
    }

    let derived = |cx: &mut Ctx, table: &BTreeMap<String, Spanned<RawDerived>>, what: &str| {
        let mut out = Vec::new();
        for (key, d) in table {
            let at = d.span().start;
            let cases: Vec<&RawCase> = match d.get_ref() {
                RawDerived::Cases { cases } => cases.iter().collect(),
                RawDerived::One(c) => vec![c],
            };
            let mut built = Vec::new();
            for c in cases {
                let when = match &c.when {
                    Some(w) => match compile(cx, at, w, &format!("{what} '{key}' condition")) {
                        Some(e) => Some(e),
                        None => continue,
                    },
                    None => None,
                };
                let sources = c.axis.is_some() as u8 + c.value.is_some() as u8 + c.profiles as u8;
                if sources != 1 {
                    cx.error(
                        at,
                        format!(
                            "{what} '{key}' needs exactly one of axis, value or profiles = true"
                        ),
                        "pick one source per case",
                    );
                    continue;
                }
                let source = if let Some(v) = &c.value {
                    DerivedSource::Value(toml_to_json(v))
                } else if c.profiles {
                    DerivedSource::Profiles
                } else {
                    let name = c.axis.as_ref().expect("checked above");
                    let Some(axis) = axes.iter().position(|a| &a.name == name) else {
                        cx.error(
                            at,
                            format!("{what} '{key}' reads unknown axis '{name}'"),
                            format!("known axes: {}", axis_names(&axes)),
                        );
                        continue;
                    };
                    for label in c.map.keys() {
                        if axes[axis].value_index(label).is_none() {
                            cx.error(at, format!("{what} '{key}' maps value '{label}' which axis '{name}' does not have"), format!("use one of: {}", values_of(&axes, axis)));
                        }
                    }
                    DerivedSource::Axis {
                        axis,
                        map: c
                            .map
                            .iter()
                            .map(|(k, v)| (k.clone(), toml_to_json(v)))
                            .collect(),
                    }
                };
                built.push(DerivedCase { when, source });
            }
            out.push(Derived {
                key: key.clone(),
                cases: built,
            });
        }
        out
    };
    let env = derived(&mut cx, &raw.env, "env key");
    let api = derived(&mut cx, &raw.api, "api field");
    let readiness = readiness(&mut cx, raw.readiness.as_ref(), &api);

    let mut services: Vec<Service> = Vec::new();
    for s in &raw.service {
        let at = s.span().start;
        let s = s.get_ref();
        if services.iter().any(|x| x.name == s.name) {
            cx.error(
                at,
                format!("duplicate service '{}'", s.name),
                "rename or remove one",
            );
        }
        if let Some(p) = &s.profile
            && !profiles.iter().any(|x| &x.name == p)
        {
            cx.error(
                at,
                format!("service '{}' uses unknown profile '{p}'", s.name),
                "declare it in a [[profile]] table",
            );
        }
        for k in s.inputs.iter().chain(&s.restart_on) {
            if !env.iter().any(|d| &d.key == k) {
                cx.error(
                    at,
                    format!(
                        "service '{}' reads env key '{k}' that no [env] entry renders",
                        s.name
                    ),
                    format!("add [env.{k}] or remove it"),
                );
            }
        }
        if !(s.cost.is_finite() && s.cost >= 0.0) {
            cx.error(
                at,
                format!("service '{}' has a negative or non-finite cost", s.name),
                "costs are seconds, 0 or more",
            );
        }
        services.push(Service {
            name: s.name.clone(),
            profile: s.profile.clone(),
            inputs: s.inputs.clone(),
            restart_on: s.restart_on.clone(),
            restart_with: s.restart_with.clone(),
            cost: s.cost,
            line: cx.line(at),
        });
    }
    for s in &services {
        for d in &s.restart_with {
            if !services.iter().any(|x| &x.name == d) {
                cx.errors.push(ModelError {
                    file: cx.file.clone(),
                    line: None,
                    message: format!("service '{}' restarts with unknown service '{d}'", s.name),
                    hint: "declare it in a [[service]] table".into(),
                });
            }
        }
    }
    let secret_env = raw.secrets.map(|s| s.env).unwrap_or_default();
    let posture_env = raw.posture.map(|s| s.env).unwrap_or_default();
    for k in &posture_env {
        if !env.iter().any(|d| &d.key == k) {
            cx.errors.push(ModelError {
                file: cx.file.clone(),
                line: None,
                message: format!("[posture] lists env key '{k}' that no [env] entry renders"),
                hint: format!("add [env.{k}] or remove it from [posture]"),
            });
        }
    }

    let mut operations: Vec<Operation> = Vec::new();
    for o in &raw.operation {
        let at = o.span().start;
        let o = o.get_ref();
        if operations.iter().any(|x| x.name == o.name) {
            cx.error(
                at,
                format!("duplicate operation '{}'", o.name),
                "rename or remove one",
            );
        }
        let Some(kind) = OpKind::from_name(&o.kind) else {
            cx.error(
                at,
                format!("operation '{}' has unknown kind '{}'", o.name, o.kind),
                format!("use one of: {}", OpKind::ALL.map(|k| k.name()).join(", ")),
            );
            continue;
        };
        let Some(group) = OpGroup::from_name(&o.group) else {
            cx.error(
                at,
                format!("operation '{}' has unknown group '{}'", o.name, o.group),
                "use lifecycle or faults",
            );
            continue;
        };
        if kind.needs_service() != o.service.is_some() && kind != OpKind::Restart {
            cx.error(
                at,
                format!(
                    "operation '{}' ({}) {}",
                    o.name,
                    kind.name(),
                    if kind.needs_service() {
                        "needs a service"
                    } else {
                        "takes no service"
                    }
                ),
                "set or remove `service`",
            );
        }
        let named = o
            .service
            .iter()
            .chain(&o.restarts)
            .chain(&o.may_restart)
            .chain(&o.recreates)
            .chain(
                o.during
                    .iter()
                    .flat_map(|d| d.stopped.iter().chain(&d.unhealthy).chain(&d.missing)),
            )
            .chain(o.readmit.iter().flat_map(|r| [&r.service, &r.after]));
        for s in named {
            let name = s.strip_prefix('-').unwrap_or(s);
            if name != "*" && !services.iter().any(|x| x.name == name) {
                cx.error(
                    at,
                    format!("operation '{}' names unknown service '{name}'", o.name),
                    "declare it in a [[service]] table",
                );
            }
        }
        let requires = match &o.requires {
            Some(text) => match compile(&mut cx, at, text, "operation condition") {
                Some(x) => Some(x),
                None => continue,
            },
            None => None,
        };
        let mut classes = Vec::new();
        for c in &o.classes {
            match axes.iter().position(|a| &a.name == c) {
                Some(i) => classes.push(i),
                None => cx.error(
                    at,
                    format!("operation '{}' classes by unknown axis '{c}'", o.name),
                    format!("known axes: {}", axis_names(&axes)),
                ),
            }
        }
        let (fault_actions, _) = kind.actions(o.service.as_deref());
        if let Some(r) = o.refuses
            && r >= fault_actions.len()
        {
            cx.error(
                at,
                format!(
                    "operation '{}' refuses at action {r}, but {} has {} fault actions",
                    o.name,
                    kind.name(),
                    fault_actions.len()
                ),
                "count the fault actions from 0",
            );
        }
        let within_ok = o
            .during
            .as_ref()
            .is_none_or(|d| d.within.is_finite() && d.within > 0.0);
        if !(o.cost.is_finite() && o.cost >= 0.0 && within_ok) {
            cx.error(
                at,
                format!("operation '{}' has a negative or non-finite time", o.name),
                "cost and within are seconds, more than 0",
            );
        }
        operations.push(Operation {
            name: o.name.clone(),
            kind,
            service: o.service.clone(),
            group,
            help: o.help.clone(),
            requires,
            requires_text: o.requires.clone(),
            classes,
            cost: o.cost,
            during: o
                .during
                .as_ref()
                .map(|d| During {
                    status_exit: d.status_exit,
                    stopped: d.stopped.clone(),
                    unhealthy: d.unhealthy.clone(),
                    missing: d.missing.clone(),
                    within: d.within,
                })
                .unwrap_or_default(),
            refuses: o.refuses,
            restarts: o.restarts.clone(),
            may_restart: o.may_restart.clone(),
            recreates: o.recreates.clone(),
            readmit: o.readmit.as_ref().map(|r| Readmit {
                service: r.service.clone(),
                after: r.after.clone(),
                stable: r.stable,
            }),
        });
    }

    if axes.is_empty() && cx.errors.is_empty() {
        cx.errors.push(ModelError {
            file: cx.file.clone(),
            line: None,
            message: "the model has no axes".into(),
            hint: "add at least one [[axis]] table".into(),
        });
    }
    if !cx.errors.is_empty() {
        return Err(ModelErrors(cx.errors));
    }
    let model = Model {
        name: header.name.unwrap_or_else(|| {
            path.file_stem()
                .map_or("model".into(), |s| s.to_string_lossy().into_owned())
        }),
        description: header.description,
        transitions_by_default: header.transitions.unwrap_or(false),
        apply_cost: header.apply_cost.unwrap_or(1.0),
        axes,
        prerequisites,
        gates,
        constraints,
        normalisations,
        profiles,
        services,
        env,
        api,
        secret_env,
        posture_env,
        operations,
        readiness,
        source: path.to_path_buf(),
        hash: hex::encode(Sha256::digest(text.as_bytes())),
    };
    if let Some(d) = model.violation(&model.default_config().0) {
        return Err(ModelErrors(vec![ModelError {
            file: path.to_path_buf(),
            line: None,
            message: format!("the default config breaks the constraint '{}'", d.text),
            hint: "defaults must form a valid config: the box starts there".into(),
        }]));
    }
    Ok(model)
}

/// `[readiness]`: positive windows, at least two polls, slow fields among the expected ones.
fn readiness(
    cx: &mut Ctx<'_>,
    raw: Option<&Spanned<RawReadiness>>,
    api: &[Derived],
) -> crate::model::ReadinessModel {
    let mut out = crate::model::ReadinessModel::default();
    let Some(raw) = raw else {
        return out;
    };
    let at = raw.span().start;
    let r = raw.get_ref();
    if let Some(n) = r.settle_polls {
        if n < 2 {
            cx.error(
                at,
                "[readiness] settle_polls must be at least 2",
                "two equal polls are the least that shows a box stopped changing",
            );
        }
        out.settle_polls = n.max(2);
    }
    for (target, secs) in &r.window {
        if !secs.is_finite() || *secs < 0.0 {
            cx.error(
                at,
                format!("[readiness] window.{target} = {secs} is not a number of seconds"),
                "use a non-negative number like 5",
            );
        }
        out.window.insert(target.clone(), secs.max(0.0));
    }
    if let Some(s) = r.slow_window {
        if !s.is_finite() || s < 0.0 {
            cx.error(
                at,
                format!("[readiness] slow_window = {s} is not a number of seconds"),
                "use a non-negative number like 60",
            );
        }
        out.slow_window = s.max(0.0);
    }
    for f in &r.slow {
        if !api.iter().any(|a| &a.key == f) {
            cx.error(
                at,
                format!("[readiness] slow field {f:?} is not an expected [api] field"),
                "list fields declared as [api.\"...\"]",
            );
        }
    }
    out.slow = r.slow.clone();
    out.progress = r.progress.clone();
    out
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        _ => "table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Model, ModelErrors> {
        load_str(text, Path::new("test.toml"))
    }

    #[test]
    fn builtin_pithead_loads() {
        let m = load_str(BUILTIN_PITHEAD, Path::new("strategies/pithead.toml")).unwrap();
        assert!(m.axes.len() >= 14, "{} axes", m.axes.len());
        assert!(m.transitions_by_default);
        assert!(m.violation(&m.default_config().0).is_none());
    }

    #[test]
    fn axes_only_model_is_valid() {
        let m = load("[[axis]]\nname = \"a\"\nvalues = [1, 2]\n").unwrap();
        assert_eq!(m.axes[0].values[1].label, "2");
        assert_eq!(m.default_config(), super::super::Config(vec![0]));
    }

    #[test]
    fn errors_carry_line_and_hint() {
        let e =
            load("[[axis]]\nname = \"a\"\nvalues = [\"x\", \"y\"]\ndefault = \"z\"\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("test.toml:4"), "{s}");
        assert!(s.contains("not among its values"), "{s}");
        assert!(s.contains("use one of: x, y"), "{s}");

        let e = load("[[axis]]\nname = \"a\"\nvalues = [true, false]\ndefault = \"yes\"\n")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("it is a string, the values are booleans"),
            "{e}"
        );

        let e =
            load("[[axis]]\nname = \"a\"\nvalues = [1]\n[[axis]]\nname = \"a\"\nvalues = [2]\n")
                .unwrap_err();
        assert!(
            e.to_string().contains("test.toml:5: duplicate axis 'a'"),
            "{e}"
        );

        let e = load("[[axis]]\nname = \"a\"\nvalues = [1]\n\n[[constraint]]\nrule = '[b] = 1'\n")
            .unwrap_err();
        assert!(e.to_string().contains("test.toml:5"), "{e}");
        assert!(e.to_string().contains("unknown axis [b]"), "{e}");

        let e = load("[[axis]]\nname = \"a\"\nvalues = [1]\nbogus = 3\n").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");

        let e = load("").unwrap_err();
        assert!(e.to_string().contains("no axes"), "{e}");
    }

    #[test]
    fn a_prerequisite_declares_its_type_and_its_sim_value_must_fit_it() {
        let axis = "[[axis]]\nname = \"a\"\nvalues = [1]\n";
        let m = load(&format!(
            "[[prerequisite]]\nname = \"h\"\nhelp = \"x\"\ntype = \"host\"\n{axis}"
        ))
        .unwrap();
        assert_eq!(m.prerequisites[0].kind, PrereqType::Host);
        let e = load(&format!(
            "{axis}[[prerequisite]]\nname = \"h\"\nhelp = \"x\"\ntype = \"url\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("test.toml:4") && e.contains("unknown type 'url'"),
            "{e}"
        );
        assert!(e.contains("yes-no, host, hex64, path"), "{e}");
        let e = load(&format!(
            "{axis}[[prerequisite]]\nname = \"h\"\nhelp = \"x\"\ntype = \"host\"\nsim = \"h:1\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("its sim value has a port"), "{e}");
    }

    #[test]
    fn an_axis_without_values_is_one_error_not_two() {
        let e = load(
            "[[axis]]\nname = \"a\"\nvalues = []\n[[axis]]\nname = \"b\"\nvalues = [1, 2]\n\
             [[constraint]]\nrule = 'IF [a] = 1 THEN [b] = 2'\n\
             [[gate]]\naxis = \"a\"\nvalue = 1\nneeds = []\nreason = \"r\"\n",
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert!(e.to_string().contains("axis 'a' has no values"), "{e}");
    }
}
