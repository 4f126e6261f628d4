//! The preflight of a box run: the box's own compose file (read-only, from its stack directory)
//! compared with the model before the first apply. Journaled, so the reports show it; a
//! drifted model is a loud warning, and with `--strict-model` the run stops before anything
//! on the box changes.

use serde::{Deserialize, Serialize};

use super::compare::{Drift, compare};
use crate::model::Model;
use crate::target::box_target::BoxTarget;

/// The compose file Pithead runs with, in its stack directory.
pub const COMPOSE_FILE: &str = "docker-compose.yml";
/// The override Compose applies on its own when it exists.
pub const OVERRIDE_FILE: &str = "docker-compose.override.yml";

/// What the preflight found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The model and the box's compose file agree.
    Agrees,
    /// They disagree: the run's verdicts may call real behaviour a failure, or miss a bug.
    Drift,
    /// The compose file could not be read or parsed: nothing was compared.
    Unread,
}

/// The preflight's record (a journal event; summary.json and report.html show it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preflight {
    pub status: Status,
    /// The compose file(s) compared, as the box names them.
    pub compose: Vec<String>,
    pub model: String,
    #[serde(default)]
    pub drift: Vec<Drift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Preflight {
    /// Compares `model` with the compose texts read from `dir` (`None`: the file is missing).
    pub fn from_texts(
        model: &Model,
        dir: &str,
        base: Option<&[u8]>,
        over: Option<&[u8]>,
    ) -> Preflight {
        let name = |f: &str| format!("{}/{f}", dir.trim_end_matches('/'));
        let mut compose = vec![name(COMPOSE_FILE)];
        let model_name = model.source.display().to_string();
        let unread = |compose: Vec<String>, error: String| Preflight {
            status: Status::Unread,
            compose,
            model: model_name.clone(),
            drift: vec![],
            error: Some(error),
        };
        let Some(base) = base else {
            return unread(compose, format!("{} is missing", name(COMPOSE_FILE)));
        };
        let over_name = name(OVERRIDE_FILE);
        if over.is_some() {
            compose.push(over_name.clone());
        }
        let base = String::from_utf8_lossy(base);
        let over = over.map(String::from_utf8_lossy);
        match super::parse(
            &compose[0],
            &base,
            over.as_deref().map(|t| (over_name.as_str(), t)),
        ) {
            Err(e) => unread(compose, e.to_string()),
            Ok(file) => {
                let c = compare(model, &file);
                Preflight {
                    status: if c.agrees() {
                        Status::Agrees
                    } else {
                        Status::Drift
                    },
                    compose,
                    model: model_name,
                    drift: c.drift,
                    error: None,
                }
            }
        }
    }

    /// Whether the run may go on under `--strict-model`.
    pub fn agrees(&self) -> bool {
        self.status == Status::Agrees
    }

    /// What the console prints before the first apply: one line when the model agrees, a
    /// loud block with every disagreement when not.
    pub fn banner(&self) -> String {
        let files = self.compose.join(" + ");
        match self.status {
            Status::Agrees => format!("PREFLIGHT the model agrees with the box's {files}\n"),
            Status::Unread => format!(
                "!!! PREFLIGHT: the box's compose file was not compared with the model: {}\n",
                self.error.as_deref().unwrap_or("unreadable")
            ),
            Status::Drift => {
                let cmp = super::compare::Comparison {
                    compose: self.compose.clone(),
                    model: self.model.clone(),
                    drift: self.drift.clone(),
                };
                let mut out = format!(
                    "!!! PREFLIGHT: the model has DRIFTED from the box's {files}: verdicts may call \
                     the box's real behaviour a failure, or miss a bug\n"
                );
                for l in cmp.render().lines().skip(1) {
                    out.push_str("!!! ");
                    out.push_str(l);
                    out.push('\n');
                }
                out
            }
        }
    }
}

/// Reads the box's compose file (and override) and compares it with `model`. Never fails:
/// what cannot be read is an `Unread` preflight.
pub async fn check(target: &BoxTarget, model: &Model) -> Preflight {
    let read = async |f: &str| target.read_stack_file(f).await.map_err(|e| e.to_string());
    match (read(COMPOSE_FILE).await, read(OVERRIDE_FILE).await) {
        (Ok(base), Ok(over)) => {
            Preflight::from_texts(model, target.dir(), base.as_deref(), over.as_deref())
        }
        (Err(e), _) | (_, Err(e)) => Preflight {
            status: Status::Unread,
            compose: vec![format!("{}/{COMPOSE_FILE}", target.dir())],
            model: model.source.display().to_string(),
            drift: vec![],
            error: Some(e),
        },
    }
}
