//! Loading and validating `strategies/*.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::expr::{self, MatchOptions};
use super::ops::{During, OpGroup, OpKind, Operation, RawOperation, Readmit};
use super::variant::{self, Variant};
use super::{
    Axis, AxisValue, Constraint, Derived, DerivedCase, DerivedSource, Gate, Model, Normalisation,
    PrereqType, Prerequisite, Profile, Service, SubModel, label_of,
};
use crate::errors::{ModelError, ModelErrors};

mod operations;
mod raw;
mod readiness;
mod variants;

use operations::operations;
use raw::*;

use readiness::readiness;
use variants::{apply_variant, variants};

/// The Pithead model shipped with canary, used when no `--model` is given.
pub const BUILTIN_PITHEAD: &str = include_str!("../../../strategies/pithead.toml");

/// Loads a model file (its default variant).
pub fn load_file(path: &Path) -> Result<Model, ModelErrors> {
    load_file_variant(path, None)
}

/// Loads a model file under the variant `variant` (`None`: the default).
pub fn load_file_variant(path: &Path, variant: Option<&str>) -> Result<Model, ModelErrors> {
    let text =
        canary_core::files::read_capped(path, canary_core::files::INPUT_CAP).map_err(|e| {
            ModelErrors(vec![ModelError {
                file: path.to_path_buf(),
                line: None,
                message: format!("cannot read the model: {e}"),
                hint: "check the path given to --model".into(),
            }])
        })?;
    load_variant(&text, path, variant)
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

/// Loads a model from TOML text (its default variant); `path` names it in messages.
pub fn load_str(text: &str, path: &Path) -> Result<Model, ModelErrors> {
    load_variant(text, path, None)
}

/// Loads a model from TOML text under the variant `variant` (`None`: the default). Every
/// variant is built too, so a broken one fails at its line whichever is chosen.
pub fn load_variant(text: &str, path: &Path, variant: Option<&str>) -> Result<Model, ModelErrors> {
    load_checked(text, path, variant, true)
}

/// [`load_variant`]; `check_all` false skips building the other variants (for a text already
/// loaded once, see [`Model::with_variant`]).
pub(super) fn load_checked(
    text: &str,
    path: &Path,
    variant: Option<&str>,
    check_all: bool,
) -> Result<Model, ModelErrors> {
    let raw = parse(text, path)?;
    let list = variants(&raw, text, path)?;
    let chosen = match variant {
        Some(name) => {
            if !list.iter().any(|v| v.name == name) {
                return Err(variant::unknown(path, name, &list));
            }
            Some(name.to_string())
        }
        None => list.iter().find(|v| v.default).map(|v| v.name.clone()),
    };
    let mut model = build(raw, text, path, chosen.as_deref(), &list)?;
    let mut errors: Vec<ModelError> = Vec::new();
    for v in list.iter().filter(|_| check_all) {
        if Some(v.name.as_str()) == chosen.as_deref() {
            continue;
        }
        if let Err(e) = build(parse(text, path)?, text, path, Some(&v.name), &list) {
            for e in e.0 {
                if !errors.contains(&e) {
                    errors.push(e);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ModelErrors(errors));
    }
    if !list.is_empty() {
        model.variants = Some(variant::Variants {
            list,
            text: text.into(),
        });
    }
    Ok(model)
}

fn parse(text: &str, path: &Path) -> Result<RawModel, ModelErrors> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        ModelErrors(vec![ModelError {
            file: path.to_path_buf(),
            line,
            message: e.message().trim().to_string(),
            hint: "see strategies/pithead.toml for the format".into(),
        }])
    })
}

/// Builds the model under the variant `chosen` (already known to exist).
fn build(
    mut raw: RawModel,
    text: &str,
    path: &Path,
    chosen: Option<&str>,
    list: &[Variant],
) -> Result<Model, ModelErrors> {
    let mut cx = Ctx {
        file: path.to_path_buf(),
        text,
        errors: vec![],
        rejected_axes: BTreeSet::new(),
    };
    let default = list.iter().find(|v| v.default).map(|v| v.name.as_str());
    let dropped_values = match chosen {
        Some(n) if Some(n) != default => apply_variant(&mut cx, &mut raw, n),
        _ => Vec::new(),
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
        // An axis without a usable value list is rejected whole, so later errors that only
        // repeat its name are not reported.
        let unusable = if values.is_empty() {
            Some(("has no values", "list at least one value"))
        } else if values.len() > u16::MAX as usize - 1 {
            Some(("has too many values", "split it"))
        } else {
            None
        };
        if let Some((what, hint)) = unusable {
            cx.error(
                ra.values.span().start,
                format!("axis '{name}' {what}"),
                hint,
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

    // Gates.
    let mut gates = Vec::new();
    for g in &raw.gate {
        let at = g.span().start;
        let g = g.get_ref();
        let Some(axis) = axis_index(&mut cx, &axes, at, &g.axis, || {
            format!("gate names unknown axis '{}'", g.axis)
        }) else {
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

    let mut constraints = Vec::new();
    for c in &raw.constraint {
        let at = c.span().start;
        let c = c.get_ref();
        if let Some(expr) = compile(&mut cx, &axes, at, &c.rule, "constraint") {
            constraints.push(Constraint {
                text: c.rule.clone(),
                expr,
                why: c.why.clone(),
            });
        }
    }

    // A value a variant's versions do not have is a constraint, as with --skip-value, so a
    // value's index (and so every saved config) means the same under every variant.
    for (at, axis, value, vname) in &dropped_values {
        let Some(a) = axis_index(&mut cx, &axes, *at, axis, || {
            format!("variant '{vname}' drops a value of unknown axis '{axis}'")
        }) else {
            continue;
        };
        let Some(v) = find_value(&axes, a, value) else {
            cx.error(
                *at,
                format!("variant '{vname}' drops {value} of '{axis}', not one of its values"),
                format!("use one of: {}", values_of(&axes, a)),
            );
            continue;
        };
        let text = format!("[{axis}] <> \"{}\"", axes[a].values[v as usize].label);
        if let Some(expr) = compile(&mut cx, &axes, *at, &text, "constraint") {
            constraints.push(Constraint {
                text,
                expr,
                why: variant::dropped_why(vname),
            });
        }
    }

    let mut sub_models = Vec::new();
    for sm in &raw.submodel {
        let at = sm.span().start;
        let sm = sm.get_ref();
        let mut idx = Vec::new();
        for name in &sm.axes {
            match axes.iter().position(|a| &a.name == name) {
                Some(i) if idx.contains(&i) => cx.error(
                    at,
                    format!("submodel names axis '{name}' twice"),
                    "list each axis once",
                ),
                Some(i) => idx.push(i),
                None => cx.error(
                    at,
                    format!("submodel names unknown axis '{name}'"),
                    "use the name of an [[axis]]",
                ),
            }
        }
        if !(2..=4).contains(&sm.strength) || sm.strength > sm.axes.len() {
            cx.error(
                at,
                format!(
                    "submodel strength {} over {} axes is out of range",
                    sm.strength,
                    sm.axes.len()
                ),
                "give a strength from 2 to 4, at most the number of axes listed",
            );
            continue;
        }
        sub_models.push(SubModel {
            axes: idx,
            strength: sm.strength,
        });
    }

    let mut normalisations = Vec::new();
    for n in &raw.normalise {
        let at = n.span().start;
        let n = n.get_ref();
        let Some(when) = compile(&mut cx, &axes, at, &n.when, "normalisation condition") else {
            continue;
        };
        let mut sets = Vec::new();
        for (k, v) in &n.set {
            let Some(axis) = axis_index(&mut cx, &axes, at, k, || {
                format!("normalisation sets unknown axis '{k}'")
            }) else {
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
            Some(w) => match compile(&mut cx, &axes, at, w, "profile condition") {
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
                    Some(w) => {
                        match compile(cx, &axes, at, w, &format!("{what} '{key}' condition")) {
                            Some(e) => Some(e),
                            None => continue,
                        }
                    }
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
                    let Some(axis) = axis_index(cx, &axes, at, name, || {
                        format!("{what} '{key}' reads unknown axis '{name}'")
                    }) else {
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

    let operations = operations(&mut cx, &raw.operation, &axes, &services);

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
        sub_models,
        source: path.to_path_buf(),
        hash: {
            // The default variant keeps the text's hash; another variant is another model.
            let mut h = Sha256::new();
            h.update(text.as_bytes());
            if let Some(n) = chosen.filter(|n| Some(*n) != default) {
                h.update(b"\0variant=");
                h.update(n.as_bytes());
            }
            hex::encode(h.finalize())
        },
        variant: chosen.unwrap_or("").to_string(),
        variants: None,
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

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        _ => "table",
    }
}

/// A constraint-language expression over `axes`, or an error at `at` saying why not.
fn compile(cx: &mut Ctx, axes: &[Axis], at: usize, text: &str, what: &str) -> Option<expr::Expr> {
    match expr::parse(text) {
        Err(e) => {
            cx.error(
                at,
                format!("{what} '{text}' does not parse: {e}"),
                "see the PICT constraint syntax in crates/model/src/expr.rs",
            );
            None
        }
        Ok(ast) => match expr::resolve(&ast, axes, MatchOptions::default()) {
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
}

/// The axes' names, for a hint.
/// The index of the axis called `name`, or `None` after an error (`message`) that lists
/// the known axes.
fn axis_index(
    cx: &mut Ctx,
    axes: &[Axis],
    at: usize,
    name: &str,
    message: impl FnOnce() -> String,
) -> Option<usize> {
    let found = axes.iter().position(|a| a.name == name);
    if found.is_none() {
        let known = axes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>();
        cx.error(at, message(), format!("known axes: {}", known.join(", ")));
    }
    found
}

#[cfg(test)]
mod tests;
