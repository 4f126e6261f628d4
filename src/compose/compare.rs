//! The model's service map against a Compose file: where they disagree, each disagreement with
//! both places and a fix. Only the `.env` keys the model renders (`[env.*]`) are compared: a
//! key the model never moves cannot make an apply recreate anything, whoever reads it. Takes a
//! loaded model, whatever variant it was loaded under.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{ComposeFile, Loc};
use crate::model::Model;

/// What kind of disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The service interpolates a key the model renders but does not list for it: a change
    /// recreates it and the oracle calls that unexpected.
    UnlistedInput,
    /// The model lists a key the service no longer reads: the model predicts a recreate that
    /// does not happen.
    StaleInput,
    /// A service in the compose file only.
    ComposeOnlyService,
    /// A service in the model only.
    ModelOnlyService,
    /// A profile in the compose file only.
    ComposeOnlyProfile,
    /// A profile in the model only.
    ModelOnlyProfile,
    /// The service sits under another profile (or none) on the other side.
    ProfileMismatch,
    /// `depends_on: {X: {restart: true}}` the model has no `restart_with` for.
    MissingRestartEdge,
    /// A `restart_with` the compose file has no `restart: true` for.
    StaleRestartEdge,
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub service: String,
    /// The key, profile or dependency the disagreement is about.
    pub subject: String,
    pub compose_at: Loc,
    pub model_at: Loc,
    pub message: String,
    pub fix: String,
}

/// The comparison of one model with one compose file (and override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub compose: Vec<String>,
    pub model: String,
    pub drift: Vec<Drift>,
}

impl Comparison {
    pub fn agrees(&self) -> bool {
        self.drift.is_empty()
    }

    /// The human report: one paragraph per disagreement, both places, the fix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.drift.is_empty() {
            let _ = writeln!(
                out,
                "model {} agrees with {}: no drift",
                self.model,
                self.compose.join(" + ")
            );
            return out;
        }
        let _ = writeln!(
            out,
            "model {} has drifted from {}: {} disagreement(s)",
            self.model,
            self.compose.join(" + "),
            self.drift.len()
        );
        for d in &self.drift {
            let _ = writeln!(out, "drift: {}", d.message);
            let _ = writeln!(out, "  {} / {}", d.compose_at, d.model_at);
            let _ = writeln!(out, "  fix: {}", d.fix);
        }
        out
    }
}

/// Compares `model` with `compose`.
pub fn compare(model: &Model, compose: &ComposeFile) -> Comparison {
    let model_file = model.source.display().to_string();
    let mloc = |line: usize| Loc {
        file: model_file.clone(),
        line,
    };
    // Where something missing on one side would go: the first service/profile of that side.
    let compose_top = compose
        .services
        .first()
        .map(|s| s.at.clone())
        .unwrap_or(Loc {
            file: compose.files[0].clone(),
            line: 1,
        });
    let model_services_at = mloc(model.services.first().map_or(1, |s| s.line));
    let model_profiles_at = mloc(model.profiles.first().map_or(1, |p| p.line));
    let rendered: BTreeSet<&str> = model.env.iter().map(|d| d.key.as_str()).collect();
    let mut drift = Vec::new();
    let mut push = |kind, service: &str, subject: &str, c: Loc, m: Loc, message, fix| {
        drift.push(Drift {
            kind,
            service: service.to_string(),
            subject: subject.to_string(),
            compose_at: c,
            model_at: m,
            message,
            fix,
        })
    };

    // Profiles, in the compose file's order, then the model's.
    let mut compose_profiles: Vec<(&str, &Loc)> = Vec::new();
    for s in &compose.services {
        for p in &s.profiles {
            if !compose_profiles.iter().any(|(n, _)| *n == p.value) {
                compose_profiles.push((&p.value, &p.at));
            }
        }
    }
    for (p, at) in &compose_profiles {
        if !model.profiles.iter().any(|x| x.name == *p) {
            push(
                DriftKind::ComposeOnlyProfile,
                "",
                p,
                (*at).clone(),
                model_profiles_at.clone(),
                format!("profile '{p}' is in the compose file but not in the model"),
                format!("add a [[profile]] name = \"{p}\" with the `when` that activates it"),
            );
        }
    }
    for p in &model.profiles {
        if !compose_profiles.iter().any(|(n, _)| *n == p.name) {
            push(
                DriftKind::ModelOnlyProfile,
                "",
                &p.name,
                compose_top.clone(),
                mloc(p.line),
                format!(
                    "profile '{}' is in the model but no compose service uses it",
                    p.name
                ),
                format!(
                    "remove [[profile]] '{}' (and its services) from the model, or rename it to the compose file's",
                    p.name
                ),
            );
        }
    }

    for s in &compose.services {
        let Some(m) = model.services.iter().find(|m| m.name == s.name) else {
            push(
                DriftKind::ComposeOnlyService,
                &s.name,
                &s.name,
                s.at.clone(),
                model_services_at.clone(),
                format!(
                    "service '{}' is in the compose file but not in the model",
                    s.name
                ),
                format!(
                    "add this table to the model (canary model --compose ... --emit services):\n{}",
                    indent(&service_table(model, compose, &s.name))
                ),
            );
            continue;
        };
        let at_m = mloc(m.line);
        // Profile.
        let cp: Vec<&str> = s.profiles.iter().map(|p| p.value.as_str()).collect();
        let same = match (&m.profile, cp.as_slice()) {
            (None, []) => true,
            (Some(p), [c]) => p == c,
            _ => false,
        };
        if !same {
            let at_c = s.profiles.first().map_or(s.at.clone(), |p| p.at.clone());
            push(
                DriftKind::ProfileMismatch,
                &s.name,
                &cp.join(","),
                at_c,
                at_m.clone(),
                format!(
                    "service '{}' has profiles [{}] in the compose file but {} in the model",
                    s.name,
                    cp.join(", "),
                    m.profile
                        .as_ref()
                        .map_or("none".to_string(), |p| format!("profile '{p}'"))
                ),
                match cp.as_slice() {
                    [] => format!("remove `profile` from [[service]] '{}'", s.name),
                    [one] => format!("set profile = \"{one}\" in [[service]] '{}'", s.name),
                    _ => "the model gives a service one profile: split the service or the profiles"
                        .to_string(),
                },
            );
        }
        // Keys the service reads that the model renders but does not list for it.
        let mut seen = BTreeSet::new();
        for v in &s.vars {
            if rendered.contains(v.name.as_str())
                && !m.inputs.contains(&v.name)
                && seen.insert(v.name.as_str())
            {
                push(
                    DriftKind::UnlistedInput,
                    &s.name,
                    &v.name,
                    v.at.clone(),
                    at_m.clone(),
                    format!(
                        "service '{}' interpolates {} (in `{}`) but the model does not list it: a change would recreate {} unexpectedly",
                        s.name, v.name, v.field, s.name
                    ),
                    format!("add \"{}\" to inputs of [[service]] '{}'", v.name, s.name),
                );
            }
        }
        for k in &m.inputs {
            if s.reads(k).is_none() {
                push(
                    DriftKind::StaleInput,
                    &s.name,
                    k,
                    s.at.clone(),
                    at_m.clone(),
                    format!(
                        "the model lists {k} as an input of '{}' but the compose service no longer reads it: the model predicts a recreate that does not happen",
                        s.name
                    ),
                    format!("remove \"{k}\" from inputs of [[service]] '{}'", s.name),
                );
            }
        }
        // restart: true edges.
        for d in s.depends_on.iter().filter(|d| d.restart) {
            if !m.restart_with.contains(&d.service) {
                push(
                    DriftKind::MissingRestartEdge,
                    &s.name,
                    &d.service,
                    d.at.clone(),
                    at_m.clone(),
                    format!(
                        "service '{}' depends on '{}' with restart: true but the model does not restart it with '{}'",
                        s.name, d.service, d.service
                    ),
                    format!(
                        "add \"{}\" to restart_with of [[service]] '{}'",
                        d.service, s.name
                    ),
                );
            }
        }
        for r in &m.restart_with {
            if !s.depends_on.iter().any(|d| d.restart && &d.service == r) {
                let at_c = s
                    .depends_on
                    .iter()
                    .find(|d| &d.service == r)
                    .map_or(s.at.clone(), |d| d.at.clone());
                push(
                    DriftKind::StaleRestartEdge,
                    &s.name,
                    r,
                    at_c,
                    at_m.clone(),
                    format!(
                        "the model restarts '{}' with '{r}' but the compose file has no `depends_on: {r}: {{restart: true}}` for it",
                        s.name
                    ),
                    format!(
                        "remove \"{r}\" from restart_with of [[service]] '{}'",
                        s.name
                    ),
                );
            }
        }
    }
    for m in &model.services {
        if compose.service(&m.name).is_none() {
            push(
                DriftKind::ModelOnlyService,
                &m.name,
                &m.name,
                compose_top.clone(),
                mloc(m.line),
                format!(
                    "service '{}' is in the model but not in the compose file",
                    m.name
                ),
                format!("remove [[service]] '{}' from the model", m.name),
            );
        }
    }
    Comparison {
        compose: compose.files.clone(),
        model: model_file,
        drift,
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `[[service]]` table the compose file implies for `name`: its profile, the rendered keys
/// it reads (in the model's `[env]` order), its `restart: true` edges; `restart_on` and `cost`
/// are kept from the model (a compose file cannot say them), 10 seconds when new.
pub fn service_table(model: &Model, compose: &ComposeFile, name: &str) -> String {
    let mut out = String::new();
    let Some(s) = compose.service(name) else {
        return out;
    };
    let known = model.services.iter().find(|m| m.name == name);
    let quoted = |v: &[&str]| {
        v.iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "[[service]]\nname = \"{name}\"");
    if let Some(p) = s.profiles.first() {
        let _ = writeln!(out, "profile = \"{}\"", p.value);
    }
    let inputs: Vec<&str> = model
        .env
        .iter()
        .map(|d| d.key.as_str())
        .filter(|k| s.reads(k).is_some())
        .collect();
    if !inputs.is_empty() {
        let _ = writeln!(out, "inputs = [{}]", quoted(&inputs));
    }
    if let Some(m) = known.filter(|m| !m.restart_on.is_empty()) {
        let on: Vec<&str> = m.restart_on.iter().map(String::as_str).collect();
        let _ = writeln!(out, "restart_on = [{}]", quoted(&on));
    }
    let with: Vec<&str> = s
        .depends_on
        .iter()
        .filter(|d| d.restart)
        .map(|d| d.service.as_str())
        .collect();
    if !with.is_empty() {
        let _ = writeln!(out, "restart_with = [{}]", quoted(&with));
    }
    let _ = writeln!(out, "cost = {:?}", known.map_or(10.0, |m| m.cost));
    out
}

/// Every compose service's derived `[[service]]` table, for `--emit services`.
pub fn service_tables(model: &Model, compose: &ComposeFile) -> String {
    compose
        .services
        .iter()
        .map(|s| service_table(model, compose, &s.name))
        .collect::<Vec<_>>()
        .join("\n")
}
