//! Reading a journal into a [`RunDigest`]: the few facts per step the reports need, in one
//! streaming pass. Observations (the bulk of a journal) are read one line at a time and only
//! their container list survives, as a diff against the previous one; so the digest stays much
//! smaller than the journal, whatever the number of steps.
//!
//! The reader is lenient where the journal may legitimately grow or shrink: events it does not
//! know are counted and ignored, unknown fields are ignored, optional fields may be missing, and
//! a torn last line (a run killed mid-write, no trailing newline) is dropped with a warning.
//! Anything else that does not parse is an error naming the file and the line.
//!
//! Here are the digest's types; `read.rs` is the streaming pass ([`read_run`]), `plan.rs` the
//! `plan` event as the reports read it.

mod plan;
mod read;

pub use read::read_run;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use crate::journal::Labels;

/// An interned name (axis, value label, container, check): a long walk repeats the same few
/// hundred strings thousands of times, and the digest keeps one copy of each.
pub type Name = Arc<str>;

/// A config as (axis, value) pairs sorted by axis: a compact [`Labels`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective(Vec<(Name, Name)>);

impl Effective {
    /// The value of `axis`, if the config sets it.
    pub fn get(&self, axis: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(a, _)| (**a).cmp(axis))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// `(axis, value)` in axis order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(a, v)| (&**a, &**v))
    }

    /// Builds one from labels, sharing the strings through `names`.
    pub fn from_labels(labels: Labels, names: &mut Names) -> Effective {
        // A BTreeMap iterates sorted, which `get` relies on.
        Effective(
            labels
                .into_iter()
                .map(|(a, v)| (names.name(a), names.name(v)))
                .collect(),
        )
    }
}

/// The interner behind [`Name`].
#[derive(Debug, Default)]
pub struct Names(HashSet<Name>);

impl Names {
    /// The shared copy of `s`.
    pub fn name(&mut self, s: String) -> Name {
        if let Some(n) = self.0.get(s.as_str()) {
            return n.clone();
        }
        let n: Name = s.into();
        self.0.insert(n.clone());
        n
    }

    fn names(&mut self, list: Vec<String>) -> Vec<Name> {
        list.into_iter().map(|s| self.name(s)).collect()
    }
}

/// The run's manifest, as far as the journal has it (a missing manifest leaves defaults).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Manifest {
    pub tool_version: String,
    pub run_id: String,
    pub seed: String,
    pub model: String,
    pub model_hash: String,
    /// The model variant the run used (empty: none recorded).
    pub variant: String,
    pub target: String,
    /// What is under test; non-string values are kept as their JSON text.
    #[serde(deserialize_with = "string_map")]
    pub under_test: BTreeMap<String, String>,
    pub faults: Vec<String>,
    pub options: BTreeMap<String, serde_json::Value>,
    /// One line that replays the run.
    pub replay: String,
}

/// What the plan event says that the reports use (the walk itself is not kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanDigest {
    /// Axis name → planned value labels, in the plan's order.
    pub axes: Vec<(String, Vec<String>)>,
    /// The config the walk starts from, when the plan names it.
    pub baseline: Option<Effective>,
    /// Number of steps the plan's walk holds.
    pub planned_steps: Option<usize>,
    /// The plan's `coverage` object as written (figures and, when present, the goals).
    pub coverage: serde_json::Value,
    /// `transitions` flag of the plan, when it says.
    pub transitions: Option<bool>,
    /// t of the t-way goals, when the plan says.
    pub strength: Option<usize>,
}

/// A gated value left out of the run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Skipped {
    pub axis: String,
    pub value: String,
    #[serde(default)]
    pub reason: String,
}

/// What the model predicted a step would touch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predicted {
    pub created: Vec<Name>,
    pub removed: Vec<Name>,
    pub recreated: Vec<Name>,
    pub restarted: Vec<Name>,
    pub cost: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct PredictedIn {
    created: Vec<String>,
    removed: Vec<String>,
    recreated: Vec<String>,
    restarted: Vec<String>,
    cost: f64,
}

/// Containers touched by a step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Containers {
    pub created: Vec<Name>,
    pub removed: Vec<Name>,
    pub recreated: Vec<Name>,
    pub restarted: Vec<Name>,
    /// True when seen by diffing two observations; false when taken from the prediction
    /// (no earlier observation in the run to diff against).
    pub observed: bool,
}

/// A failed check with what was seen and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub check: String,
    pub observed: serde_json::Value,
    pub expected: serde_json::Value,
    pub message: String,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Passed,
    Failed,
    /// No `step_end` and no failed verdict: the run stopped inside the step.
    Unfinished,
}

impl StepStatus {
    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "failed",
            StepStatus::Unfinished => "unfinished",
        }
    }
}

/// How a run ended, as every report states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Finished (a `run_end` line) with every step passed.
    Passed,
    /// A step failed, or the run ended saying it failed.
    Failed,
    /// No `run_end` line and no failed step: the run stopped before it could pass. Not a pass,
    /// however many of its steps passed.
    Incomplete,
}

impl RunStatus {
    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Incomplete => "incomplete",
        }
    }

    /// The worst of several runs' statuses (failed, then incomplete, then passed).
    pub fn worst(statuses: impl IntoIterator<Item = RunStatus>) -> RunStatus {
        statuses
            .into_iter()
            .fold(RunStatus::Passed, |acc, s| match (acc, s) {
                (RunStatus::Failed, _) | (_, RunStatus::Failed) => RunStatus::Failed,
                (RunStatus::Incomplete, _) | (_, RunStatus::Incomplete) => RunStatus::Incomplete,
                _ => RunStatus::Passed,
            })
    }
}

/// Everything the reports need about one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepDigest {
    pub step: usize,
    /// The operation the step performed (`node-down`, `restore`); `None` for an apply.
    pub operation: Option<String>,
    /// Whether the operation's fault showed within its window, when it has one.
    pub fault_reached: Option<bool>,
    /// Target-clock seconds from the operation's fault to its expected verdict.
    pub fault_seconds: Option<f64>,
    /// The config the stack should render (coverage is computed from it).
    pub effective: Effective,
    /// Axes whose effective value changed, as the runner wrote them.
    pub changed: Vec<Name>,
    pub predicted: Predicted,
    pub containers: Option<Containers>,
    pub apply_exit: Option<i32>,
    pub apply_seconds: Option<f64>,
    /// Output of a failed apply (redacted by the runner), cut to a few kilobytes.
    pub apply_output: Option<String>,
    pub ready_reached: Option<bool>,
    pub ready_seconds: Option<f64>,
    pub second_apply_exit: Option<i32>,
    /// (check id into [`RunDigest::checks`], passed) in journal order.
    pub verdicts: Vec<(u32, bool)>,
    pub failures: Vec<Failure>,
    /// `step_end`: passed and target-clock seconds.
    pub end: Option<(bool, f64)>,
}

impl StepDigest {
    /// Whether the box's CLI refused the step's config (drift): the box stayed where it was,
    /// so the step reached none of its config.
    pub fn refused(&self) -> bool {
        self.failures
            .iter()
            .any(|f| f.check == crate::oracle::drift::CHECK)
    }

    /// Verdicts that passed.
    pub fn passed_count(&self) -> usize {
        self.verdicts.iter().filter(|v| v.1).count()
    }

    /// Verdicts that failed.
    pub fn failed_count(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.1).count()
    }

    /// Passed, failed or unfinished: a failed verdict fails the step whatever `step_end` says.
    pub fn status(&self) -> StepStatus {
        match self.end {
            _ if self.failed_count() > 0 => StepStatus::Failed,
            Some((false, _)) => StepStatus::Failed,
            Some((true, _)) => StepStatus::Passed,
            None => StepStatus::Unfinished,
        }
    }
}

/// The `run_end` line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunEnd {
    pub passed: bool,
    pub steps: usize,
    pub verdicts_passed: usize,
    pub verdicts_failed: usize,
    pub exit_code: i32,
}

/// One run, digested from its journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunDigest {
    /// The run directory the journal was read from.
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub plan: Option<PlanDigest>,
    pub skipped: Vec<Skipped>,
    /// A box run's preflight (the box's compose file against the model).
    pub preflight: Option<crate::compose::preflight::Preflight>,
    /// Steps in the order they first appear; a step run again (a resumed run) replaces the
    /// earlier attempt in place.
    pub steps: Vec<StepDigest>,
    /// Check names, interned: [`StepDigest::verdicts`] index into it.
    pub checks: Vec<String>,
    pub run_end: Option<RunEnd>,
    /// Things the reader forgave (torn last line, unknown events), for the reports to show.
    pub warnings: Vec<String>,
}

impl RunDigest {
    /// The run id, falling back to the directory name when the manifest is missing.
    pub fn id(&self) -> String {
        if !self.manifest.run_id.is_empty() {
            return self.manifest.run_id.clone();
        }
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".to_string())
    }

    /// Total verdicts that passed.
    pub fn verdicts_passed(&self) -> usize {
        self.steps.iter().map(StepDigest::passed_count).sum()
    }

    /// Total verdicts that failed.
    pub fn verdicts_failed(&self) -> usize {
        self.steps.iter().map(StepDigest::failed_count).sum()
    }

    /// Failed verdicts that are drift (the box's CLI refused a planned value, nothing changed).
    pub fn verdicts_drift(&self) -> usize {
        self.steps
            .iter()
            .flat_map(|s| &s.failures)
            .filter(|f| f.check == crate::oracle::drift::CHECK)
            .count()
    }

    /// Steps that failed.
    pub fn steps_failed(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status() == StepStatus::Failed)
            .count()
    }

    /// Steps that ended (passed or failed); a step the run stopped inside is not done.
    pub fn steps_done(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status() != StepStatus::Unfinished)
            .count()
    }

    /// Passed, failed or incomplete; see [`RunStatus`].
    pub fn status(&self) -> RunStatus {
        match &self.run_end {
            _ if self.steps_failed() > 0 => RunStatus::Failed,
            Some(e) if !e.passed => RunStatus::Failed,
            Some(_) => RunStatus::Passed,
            None => RunStatus::Incomplete,
        }
    }

    /// "3 of 8 planned steps done" (or "3 steps done" when the plan does not say).
    pub fn progress(&self) -> String {
        match self.plan.as_ref().and_then(|p| p.planned_steps) {
            Some(planned) => format!("{} of {planned} planned steps done", self.steps_done()),
            None => format!("{} steps done", self.steps_done()),
        }
    }

    /// The effective config before `steps[i]`: the previous step's, or the plan's baseline.
    pub fn before(&self, i: usize) -> Option<&Effective> {
        // A refused step left the box where the step before it had it.
        match self.steps[..i].iter().rposition(|s| !s.refused()) {
            Some(j) => Some(&self.steps[j].effective),
            None => self.plan.as_ref().and_then(|p| p.baseline.as_ref()),
        }
    }

    /// The changed values of `steps[i]` as `(axis, value)`: the diff against the config
    /// before it when known, else the axes the runner listed as changed.
    pub fn changed_values(&self, i: usize) -> Vec<(String, String)> {
        let step = &self.steps[i];
        match self.before(i) {
            Some(prev) => step
                .effective
                .iter()
                .filter(|(a, v)| prev.get(a) != Some(*v))
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect(),
            None => step
                .changed
                .iter()
                .map(|a| {
                    (
                        a.to_string(),
                        step.effective.get(a).unwrap_or("").to_string(),
                    )
                })
                .collect(),
        }
    }
}

/// A JSON scalar as a value label: strings as they are, anything else as its JSON text.
pub fn label(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let map: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, label(&v))).collect())
}
