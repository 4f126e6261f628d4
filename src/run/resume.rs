//! `canary run --resume DIR`: where a dropped run stands, read from its journal alone.
//!
//! A step whose `step_end` was journaled is done and is never repeated. A step whose apply was
//! journaled without a `step_end` was cut between its apply and its verdicts: when the box's
//! config.json already is that step's config it is re-observed and judged, not re-applied;
//! otherwise it runs again from the start. A torn last line (the run killed while writing it)
//! is reported; when it is the cut step's apply record, the apply may or may not have run, so
//! the step is judged from the box as it is (when config.json holds its config), never applied
//! again and expected to recreate what is already recreated. Everything else (seed, plan, options) comes from the
//! manifest and the plan line, so the rest of the walk is the one the run started.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::journal::{Entry, Event, TornLine, read_journal_torn};
use crate::target::{CommandResult, Observation};

/// What the journal of a dropped run says.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    /// The manifest's seed (as written).
    pub seed: String,
    /// The manifest's model name and hash, to refuse resuming with another model.
    pub model: String,
    pub model_hash: String,
    /// The manifest's target name.
    pub target: String,
    /// The manifest's options (strength, max_steps, fail_fast, ready_timeout_s...).
    pub options: BTreeMap<String, serde_json::Value>,
    /// The manifest's replay line.
    pub replay: String,
    /// The plan the run executes (the planner's JSON contract).
    pub plan: serde_json::Value,
    /// The baseline observation, when it was journaled.
    pub baseline: Option<Observation>,
    /// Steps whose `step_end` is in the journal.
    pub done: BTreeSet<usize>,
    /// Steps that failed (their `step_end` said so).
    pub failed: BTreeSet<usize>,
    /// The step cut after its apply: its index and the apply's result.
    pub half_applied: Option<(usize, CommandResult)>,
    /// The box as the last done step left it (its `observed` line, or the baseline when no
    /// step is done): the "before" of the step the run goes on with.
    pub last_observed: Option<Observation>,
    /// Whether the walk already ended (a `run_end` line): nothing to resume but `shrink`.
    pub ended: bool,
    /// A box shrink started after the walk and not finished (interrupted): `--resume`
    /// finishes it from its journaled candidates.
    pub shrink: Option<super::shrink_journal::PendingShrink>,
    /// What the resume did about a torn last journal line, to be shown as a warning.
    pub torn: Option<String>,
    /// Verdict counts of the steps already done.
    pub verdicts_passed: usize,
    pub verdicts_failed: usize,
}

impl ResumePoint {
    /// The first step not done: where the walk goes on.
    pub fn next_step(&self) -> usize {
        let mut i = 0;
        while self.done.contains(&i) {
            i += 1;
        }
        i
    }
}

/// Why a run cannot be resumed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("cannot read the journal {path}: {source}; give the run directory of the dropped run")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the journal {0} has no manifest line: it is not a canary run's journal")]
    NoManifest(String),
    #[error(
        "the journal {0} has no plan line: the run was dropped before it planned; start it again"
    )]
    NoPlan(String),
}

/// Reads `<run_dir>/journal.jsonl` into a [`ResumePoint`].
pub fn read(run_dir: &Path) -> Result<ResumePoint, ResumeError> {
    let path = run_dir.join("journal.jsonl");
    let (entries, torn) = read_journal_torn(&path).map_err(|source| ResumeError::Read {
        path: path.display().to_string(),
        source,
    })?;
    from_entries_torn(&entries, torn.as_ref()).map_err(|e| match e {
        ResumeError::NoManifest(_) => ResumeError::NoManifest(path.display().to_string()),
        ResumeError::NoPlan(_) => ResumeError::NoPlan(path.display().to_string()),
        other => other,
    })
}

/// The resume point of a journal's entries.
pub fn from_entries(entries: &[Entry]) -> Result<ResumePoint, ResumeError> {
    from_entries_torn(entries, None)
}

/// The resume point of a journal's entries followed by a torn last line.
pub fn from_entries_torn(
    entries: &[Entry],
    torn: Option<&TornLine>,
) -> Result<ResumePoint, ResumeError> {
    let mut point: Option<ResumePoint> = None;
    let mut plan = None;
    let mut applied: BTreeMap<usize, CommandResult> = BTreeMap::new();
    let mut observed: BTreeMap<usize, Observation> = BTreeMap::new();
    for e in entries {
        match &e.event {
            Event::Manifest {
                seed,
                model,
                model_hash,
                target,
                options,
                replay,
                ..
            } => {
                point = Some(ResumePoint {
                    seed: seed.clone(),
                    model: model.clone(),
                    model_hash: model_hash.clone(),
                    target: target.clone(),
                    options: options.clone(),
                    replay: replay.clone(),
                    plan: serde_json::Value::Null,
                    baseline: None,
                    done: BTreeSet::new(),
                    failed: BTreeSet::new(),
                    half_applied: None,
                    torn: None,
                    last_observed: None,
                    ended: false,
                    shrink: None,
                    verdicts_passed: 0,
                    verdicts_failed: 0,
                });
            }
            Event::Plan { plan: p } => plan = Some(p.clone()),
            _ => {}
        }
        let Some(pt) = point.as_mut() else { continue };
        match &e.event {
            Event::Baseline { observation, .. } if pt.baseline.is_none() => {
                pt.baseline = Some(observation.clone());
            }
            Event::Apply { step, result, .. } => {
                applied.insert(*step, result.clone());
            }
            Event::Observed { step, observation } => {
                observed.insert(*step, observation.clone());
            }
            Event::StepEnd { step, passed, .. } => {
                pt.done.insert(*step);
                if !passed {
                    pt.failed.insert(*step);
                }
            }
            Event::RunEnd { .. } => pt.ended = true,
            _ => {}
        }
    }
    let mut pt = point.ok_or_else(|| ResumeError::NoManifest(String::new()))?;
    pt.plan = plan.ok_or_else(|| ResumeError::NoPlan(String::new()))?;
    pt.shrink = super::shrink_journal::pending(entries);
    // Count the verdicts of done steps only (a cut step's partial verdicts do not count).
    for e in entries {
        if let Event::Verdict { step, verdict } = &e.event
            && pt.done.contains(step)
        {
            if verdict.passed {
                pt.verdicts_passed += 1;
            } else {
                pt.verdicts_failed += 1;
            }
        }
    }
    let next = pt.next_step();
    pt.last_observed = match next {
        0 => pt.baseline.clone(),
        n => observed.remove(&(n - 1)),
    };
    pt.half_applied = applied.remove(&next).map(|r| (next, r));
    if let Some(t) = torn {
        pt.torn = Some(torn_apply(&mut pt, entries, t, next));
    }
    Ok(pt)
}

/// Takes a torn last line that may be the cut step's apply record (it names no event or
/// `apply`, no other step, and the step had started) as that apply: its exit code when it was
/// written whole, else 0 with a note (the box's own state is what gets judged). Returns the
/// warning to show.
fn torn_apply(pt: &mut ResumePoint, entries: &[Entry], t: &TornLine, next: usize) -> String {
    let started = entries
        .iter()
        .any(|e| matches!(&e.event, Event::StepStart { step, .. } if *step == next));
    let event = t.event();
    let may_be_apply = matches!(event, None | Some("apply"))
        && t.number("step").is_none_or(|s| s == next as i64)
        && started
        && pt.half_applied.is_none();
    if !may_be_apply {
        return format!(
            "line {} of the journal is torn ({}), dropped; step {} starts again",
            t.line,
            event.map_or("an unreadable event".to_string(), |e| format!(
                "a {e} event"
            )),
            next + 1
        );
    }
    let exit = t.number("exit_code").and_then(|c| i32::try_from(c).ok());
    let output = match exit {
        Some(_) => "(the apply record was torn after its exit code)".to_string(),
        None => "(the apply record was torn before its exit code: taken as 0, the box's state \
                 is judged)"
            .to_string(),
    };
    pt.half_applied = Some((
        next,
        CommandResult {
            exit_code: exit.unwrap_or(0),
            output,
        },
    ));
    format!(
        "line {} of the journal is torn (a half-written apply record of step {}): the apply may \
         or may not have run, so step {} is judged from the box as it is, not applied again",
        t.line,
        next + 1,
        next + 1
    )
}
