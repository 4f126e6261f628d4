//! Reading a journal into a [`RunDigest`]: the few facts per step the reports need, in one
//! streaming pass. Observations (the bulk of a journal) are read one line at a time and only
//! their container list survives, as a diff against the previous one; so the digest stays much
//! smaller than the journal, whatever the number of steps.
//!
//! The reader is lenient where the journal may legitimately grow or shrink: events it does not
//! know are counted and ignored, unknown fields are ignored, optional fields may be missing, and
//! a torn last line (a run killed mid-write, no trailing newline) is dropped with a warning.
//! Anything else that does not parse is an error naming the file and the line.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ReportError;
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

/// Upper bound of apply output kept for a failed apply.
const OUTPUT_KEEP: usize = 4096;

/// Reads `journal` (a `journal.jsonl`) into a digest, streaming.
pub fn read_run(dir: &Path, journal: &Path) -> Result<RunDigest, ReportError> {
    let mut reader =
        crate::files::open_capped(journal, crate::files::JOURNAL_CAP).map_err(|source| {
            ReportError::NoJournal {
                path: journal.to_path_buf(),
                source,
            }
        })?;
    let mut state = Reader {
        digest: RunDigest {
            dir: dir.to_path_buf(),
            ..RunDigest::default()
        },
        ..Reader::default()
    };
    let mut line = String::new();
    let mut number = 0usize;
    let mut lines_read = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| ReportError::Io {
                path: journal.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        number += 1;
        let complete = line.ends_with('\n');
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let corrupt = |message: String| ReportError::Corrupt {
            path: journal.to_path_buf(),
            line: number,
            message,
        };
        // The tag first, skipping the rest without building it; then the one struct the
        // event needs, again skipping what no report uses (env, api, apply output...).
        let kind = match serde_json::from_str::<Tag>(text) {
            Ok(t) => t.event,
            Err(_) if !complete => {
                state.digest.warnings.push(format!(
                    "line {number} is torn (the run stopped mid-write) and was ignored"
                ));
                break;
            }
            Err(e) if e.is_data() => {
                return Err(corrupt(format!("not a journal entry: {e}")));
            }
            Err(e) => return Err(corrupt(format!("not JSON: {e}"))),
        };
        let Some(kind) = kind else {
            return Err(corrupt("no `event` field: not a journal entry".to_string()));
        };
        state.entry(&kind, text).map_err(corrupt)?;
        lines_read += 1;
    }
    if lines_read == 0 {
        return Err(ReportError::EmptyJournal {
            path: journal.to_path_buf(),
        });
    }
    Ok(state.finish())
}

#[derive(Default)]
struct Reader {
    digest: RunDigest,
    /// Step number → index in `digest.steps`.
    index: HashMap<usize, usize>,
    check_ids: HashMap<String, u32>,
    /// Containers of the last observation: name → (id, started).
    last_containers: Option<BTreeMap<Name, (String, String)>>,
    names: Names,
    unknown: BTreeSet<String>,
    seen_manifest: bool,
}

fn field<T: DeserializeOwned>(text: &str, event: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("bad `{event}` event: {e}"))
}

#[derive(Deserialize)]
struct StepStartIn {
    step: usize,
    #[serde(default)]
    effective: Option<Labels>,
    #[serde(default)]
    config: Option<Labels>,
    #[serde(default)]
    changed: Vec<String>,
    #[serde(default)]
    predicted: PredictedIn,
    #[serde(default)]
    operation: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResultIn {
    exit_code: i32,
    output: String,
}

#[derive(Deserialize)]
struct ApplyIn {
    step: usize,
    #[serde(default)]
    result: Option<ResultIn>,
    #[serde(default)]
    seconds: Option<f64>,
}

#[derive(Deserialize)]
struct ReadyIn {
    step: usize,
    #[serde(default)]
    reached: Option<bool>,
    #[serde(default)]
    seconds: Option<f64>,
}

#[derive(Deserialize)]
struct ContainerIn {
    name: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    started: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ObservationIn {
    containers: Option<Vec<ContainerIn>>,
}

#[derive(Deserialize)]
struct ObservedIn {
    step: usize,
    #[serde(default)]
    observation: ObservationIn,
}

#[derive(Deserialize)]
struct VerdictIn {
    step: usize,
    check: String,
    passed: bool,
    #[serde(default)]
    observed: serde_json::Value,
    #[serde(default)]
    expected: serde_json::Value,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct StepEndIn {
    step: usize,
    passed: bool,
    #[serde(default)]
    seconds: f64,
}

impl Reader {
    fn step_mut(&mut self, step: usize) -> &mut StepDigest {
        let steps = &mut self.digest.steps;
        let i = *self.index.entry(step).or_insert_with(|| {
            steps.push(StepDigest {
                step,
                ..StepDigest::default()
            });
            steps.len() - 1
        });
        &mut self.digest.steps[i]
    }

    fn check_id(&mut self, check: String) -> u32 {
        if let Some(&id) = self.check_ids.get(&check) {
            return id;
        }
        let id = self.digest.checks.len() as u32;
        self.digest.checks.push(check.clone());
        self.check_ids.insert(check, id);
        id
    }

    fn entry(&mut self, kind: &str, value: &str) -> Result<(), String> {
        let kind = kind.to_string();
        match kind.as_str() {
            "manifest" => {
                let m: Manifest = field(value, &kind)?;
                if !self.seen_manifest {
                    self.digest.manifest = m;
                    self.seen_manifest = true;
                }
            }
            "plan" => {
                if self.digest.plan.is_none() {
                    let p: PlanEventIn = field(value, &kind)?;
                    self.digest.plan = Some(plan_digest(p.plan, &mut self.names)?);
                }
            }
            "skipped" => self.digest.skipped.push(field(value, &kind)?),
            "model_preflight" => {
                if self.digest.preflight.is_none() {
                    self.digest.preflight = Some(field(value, &kind)?);
                }
            }
            "step_start" => {
                let s: StepStartIn = field(value, &kind)?;
                let effective = s.effective.or(s.config).unwrap_or_default();
                let effective = Effective::from_labels(effective, &mut self.names);
                let changed = self.names.names(s.changed);
                let p = s.predicted;
                let predicted = Predicted {
                    created: self.names.names(p.created),
                    removed: self.names.names(p.removed),
                    recreated: self.names.names(p.recreated),
                    restarted: self.names.names(p.restarted),
                    cost: p.cost,
                };
                // A step started again (a resumed run) starts from scratch.
                *self.step_mut(s.step) = StepDigest {
                    step: s.step,
                    effective,
                    changed,
                    predicted,
                    operation: s.operation,
                    ..StepDigest::default()
                };
            }
            "apply" => {
                let a: ApplyIn = field(value, &kind)?;
                let step = self.step_mut(a.step);
                step.apply_seconds = a.seconds;
                if let Some(r) = a.result {
                    step.apply_exit = Some(r.exit_code);
                    if r.exit_code != 0 {
                        step.apply_output = Some(cut(&r.output, OUTPUT_KEEP));
                    }
                }
            }
            "action" => {
                #[derive(Deserialize)]
                struct ActionIn {
                    step: usize,
                    command: String,
                    #[serde(default)]
                    result: Option<ResultIn>,
                }
                let a: ActionIn = field(value, &kind)?;
                let step = self.step_mut(a.step);
                if let Some(r) = a.result
                    && r.exit_code != 0
                    && step.apply_output.is_none()
                {
                    step.apply_output = Some(cut(
                        &format!("{} exited {}: {}", a.command, r.exit_code, r.output),
                        OUTPUT_KEEP,
                    ));
                }
            }
            "fault" => {
                #[derive(Deserialize)]
                struct FaultIn {
                    step: usize,
                    reached: bool,
                    #[serde(default)]
                    seconds: Option<f64>,
                }
                let f: FaultIn = field(value, &kind)?;
                let step = self.step_mut(f.step);
                step.fault_reached = Some(f.reached);
                step.fault_seconds = f.seconds;
            }
            "ready" => {
                let r: ReadyIn = field(value, &kind)?;
                let step = self.step_mut(r.step);
                step.ready_reached = r.reached;
                step.ready_seconds = r.seconds;
            }
            "observed" => {
                let o: ObservedIn = field(value, &kind)?;
                if let Some(list) = o.observation.containers {
                    let now: BTreeMap<Name, (String, String)> = list
                        .into_iter()
                        .map(|c| (self.names.name(c.name), (c.id, c.started)))
                        .collect();
                    let diff = self
                        .last_containers
                        .as_ref()
                        .map(|before| diff(before, &now));
                    self.last_containers = Some(now);
                    if let Some(d) = diff {
                        self.step_mut(o.step).containers = Some(d);
                    }
                }
            }
            "second_apply" => {
                #[derive(Deserialize)]
                struct SecondIn {
                    step: usize,
                    #[serde(default)]
                    result: Option<ResultIn>,
                }
                let s: SecondIn = field(value, &kind)?;
                self.step_mut(s.step).second_apply_exit = s.result.map(|r| r.exit_code);
            }
            "verdict" => {
                let v: VerdictIn = field(value, &kind)?;
                let id = self.check_id(v.check.clone());
                let step = self.step_mut(v.step);
                step.verdicts.push((id, v.passed));
                if !v.passed {
                    step.failures.push(Failure {
                        check: v.check,
                        observed: v.observed,
                        expected: v.expected,
                        message: v.message,
                    });
                }
            }
            "step_end" => {
                let e: StepEndIn = field(value, &kind)?;
                self.step_mut(e.step).end = Some((e.passed, e.seconds));
            }
            "run_end" => self.digest.run_end = Some(field(value, &kind)?),
            // Events from a newer runner (shrink candidates, ...) that no report shows.
            _ => {
                self.unknown.insert(kind);
            }
        }
        Ok(())
    }

    fn finish(mut self) -> RunDigest {
        if !self.unknown.is_empty() {
            let kinds: Vec<&str> = self.unknown.iter().map(String::as_str).collect();
            self.digest.warnings.push(format!(
                "events of kinds this version does not report on were ignored: {}",
                kinds.join(", ")
            ));
        }
        if !self.seen_manifest {
            self.digest
                .warnings
                .push("the journal has no manifest line: run details are unknown".to_string());
        }
        // Steps without an observed diff fall back to the prediction.
        for s in &mut self.digest.steps {
            if s.containers.is_none() {
                let p = &s.predicted;
                s.containers = Some(Containers {
                    created: p.created.clone(),
                    removed: p.removed.clone(),
                    recreated: p.recreated.clone(),
                    restarted: p.restarted.clone(),
                    observed: false,
                });
            }
        }
        self.digest
    }
}

fn diff(
    before: &BTreeMap<Name, (String, String)>,
    now: &BTreeMap<Name, (String, String)>,
) -> Containers {
    let mut c = Containers {
        observed: true,
        ..Containers::default()
    };
    for (name, (id, started)) in now {
        match before.get(name) {
            None => c.created.push(name.clone()),
            Some((old_id, _)) if old_id != id => c.recreated.push(name.clone()),
            Some((_, old_started)) if old_started != started => c.restarted.push(name.clone()),
            Some(_) => {}
        }
    }
    c.removed = before
        .keys()
        .filter(|n| !now.contains_key(*n))
        .cloned()
        .collect();
    c
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A JSON scalar as a value label: strings as they are, anything else as its JSON text.
pub fn label(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn labels(v: &serde_json::Value) -> Option<Labels> {
    let map = v.as_object()?;
    Some(map.iter().map(|(k, v)| (k.clone(), label(v))).collect())
}

/// The first line's tag; everything else on the line is skipped unbuilt.
#[derive(Deserialize)]
struct Tag {
    #[serde(default)]
    event: Option<String>,
}

#[derive(Deserialize)]
struct PlanEventIn {
    #[serde(default)]
    plan: PlanIn,
}

/// The parts of the plan the reports use. The walk (thousands of steps on a long run) is
/// only counted, never built.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PlanIn {
    axes: Option<serde_json::Value>,
    baseline: Option<serde_json::Value>,
    walk: Option<Count>,
    transitions: Option<serde_json::Value>,
    strength: Option<serde_json::Value>,
    coverage: serde_json::Value,
}

/// The length of a JSON list, its items skipped (`None` for anything but a list).
struct Count(Option<usize>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of steps")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(Some(n)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Count, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Count(None))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Count, E> {
                Ok(Count(None))
            }
        }
        d.deserialize_any(Visit)
    }
}

fn plan_digest(plan: PlanIn, names: &mut Names) -> Result<PlanDigest, String> {
    let mut out = PlanDigest::default();
    if let Some(axes) = plan.axes {
        let Some(map) = axes.as_object() else {
            return Err("bad `plan` event: `axes` is not an object".to_string());
        };
        for (name, values) in map {
            let values = match values {
                serde_json::Value::Array(vs) => vs.iter().map(label).collect(),
                _ => {
                    return Err(format!(
                        "bad `plan` event: the values of axis `{name}` are not a list"
                    ));
                }
            };
            out.axes.push((name.clone(), values));
        }
    }
    out.baseline = plan.baseline.as_ref().and_then(|b| {
        // Either the labels themselves or `{config, effective}`.
        b.get("effective")
            .and_then(labels)
            .or_else(|| labels(b).filter(|l| !l.contains_key("effective")))
            .map(|l| Effective::from_labels(l, names))
    });
    out.planned_steps = plan.walk.and_then(|w| w.0);
    out.transitions = plan.transitions.and_then(|t| t.as_bool());
    out.strength = plan
        .strength
        .as_ref()
        .or_else(|| plan.coverage.get("strength"))
        .and_then(|s| s.as_u64())
        .map(|s| s as usize);
    out.coverage = plan.coverage;
    Ok(out)
}

fn string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let map: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, label(&v))).collect())
}
