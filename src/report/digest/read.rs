//! The streaming pass over a journal: each line's `event` tag read first, then only the
//! fields the reports use; observations kept as a diff of their container lists.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::plan::{PlanEventIn, plan_digest};
use super::{
    Containers, Effective, Failure, Manifest, Name, Names, Predicted, PredictedIn, RunDigest,
    StepDigest,
};
use crate::journal::Labels;
use crate::report::ReportError;

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
            // A box shrink's record, for `run --resume`; its outcome is printed and saved.
            "shrink_start" | "shrink_candidate" | "shrink_end" => {}
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

/// The first line's tag; everything else on the line is skipped unbuilt.
#[derive(Deserialize)]
struct Tag {
    #[serde(default)]
    event: Option<String>,
}
