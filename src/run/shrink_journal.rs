//! A box shrink's record in the run journal, so that a shrink interrupted part-way (it can
//! take an hour on a live box) is finished by `canary run --resume DIR` without running on the
//! box again any candidate it already judged.
//!
//! The shrink writes `shrink_start` (the failing step, its signature and the budget), then one
//! `shrink_candidate` per candidate run on the box (its steps, its outcome, the applies it
//! spent), then `shrink_end`. A journal with a `shrink_start` and no `shrink_end` has a shrink
//! to finish: its candidates are fed back to the shrinker as known outcomes
//! ([`Known`]), which cost no apply. The shrinker is deterministic given its outcomes, so the
//! resumed shrink walks the same candidates as an uninterrupted one and reaches the same
//! minimum; the candidate cut by the interruption was never judged, so it runs again.

use std::collections::HashMap;

use crate::journal::{Entry, Event, ShrinkStep, Verdict};
use crate::model::{Config, Model, OpGroup, Transition};
use crate::shrink::{Outcome, Signature};

/// Candidates already judged on the box: their outcome and the applies they spent there.
pub type Known = HashMap<Vec<Transition>, (Outcome, usize)>;

/// Journals one candidate run on the box: its steps, its outcome and the applies it spent.
pub type CandidateLog<'a> =
    Box<dyn FnMut(&[Transition], &Outcome, usize) -> std::io::Result<()> + 'a>;

/// A shrink the journal says was started and not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingShrink {
    /// The walk's failing step.
    pub step: usize,
    pub signature: Signature,
    /// The failing verdict as the walk journaled it (redacted).
    pub verdict: Option<Verdict>,
    pub max_applies: usize,
    pub max_time: std::time::Duration,
    pub confirm_runs: usize,
    pub regressions: String,
    pub operations: Vec<String>,
    /// `shrink_candidate` lines, in order: (steps, outcome, applies spent on the box).
    pub candidates: Vec<(Vec<ShrinkStep>, Outcome, usize)>,
}

impl PendingShrink {
    /// The operation groups its candidates may perform (unknown names dropped).
    pub fn operation_groups(&self) -> Vec<OpGroup> {
        self.operations
            .iter()
            .filter_map(|n| OpGroup::from_name(n))
            .collect()
    }

    /// The judged candidates as the shrinker's steps, from `start` (the walk's baseline
    /// config). A line this model cannot read is an error naming it.
    pub fn known(&self, model: &Model, start: &Config) -> Result<Known, String> {
        let mut known = Known::new();
        for (i, (steps, outcome, applies)) in self.candidates.iter().enumerate() {
            let steps = from_journal_steps(model, start, steps)
                .map_err(|e| format!("shrink candidate {} of the journal: {e}", i + 1))?;
            known.insert(steps, (outcome.clone(), *applies));
        }
        Ok(known)
    }

    /// Applies the box already spent on the judged candidates.
    pub fn applies_spent(&self) -> usize {
        self.candidates.iter().map(|(_, _, a)| a).sum()
    }
}

/// The unfinished shrink of a journal, if any: the last `shrink_start` not followed by a
/// `shrink_end`, with the candidates journaled after it.
pub fn pending(entries: &[Entry]) -> Option<PendingShrink> {
    let mut pending: Option<PendingShrink> = None;
    for e in entries {
        match &e.event {
            Event::ShrinkStart {
                step,
                check,
                kind,
                max_applies,
                max_time_s,
                confirm_runs,
                regressions,
                operations,
            } => {
                let verdict = entries.iter().find_map(|e| match &e.event {
                    Event::Verdict { step: s, verdict }
                        if s == step && !verdict.passed && verdict.check == *check =>
                    {
                        Some(verdict.clone())
                    }
                    _ => None,
                });
                pending = Some(PendingShrink {
                    step: *step,
                    signature: Signature::new(check.clone(), kind.clone()),
                    verdict,
                    max_applies: *max_applies,
                    // An unbounded budget is journaled as f64::MAX seconds.
                    max_time: std::time::Duration::try_from_secs_f64(max_time_s.max(0.0))
                        .unwrap_or(std::time::Duration::MAX),
                    confirm_runs: *confirm_runs,
                    regressions: regressions.clone(),
                    operations: operations.clone(),
                    candidates: Vec::new(),
                });
            }
            Event::ShrinkCandidate {
                steps,
                passed,
                failed_at,
                check,
                kind,
                steps_run,
                applies,
            } => {
                if let Some(p) = pending.as_mut() {
                    let outcome = match (passed, failed_at) {
                        (false, Some(at)) => Outcome::Fail {
                            signature: Signature::new(
                                check.clone().unwrap_or_default(),
                                kind.clone().unwrap_or_default(),
                            ),
                            failed_at: *at,
                            applies: *steps_run,
                        },
                        _ => Outcome::Pass {
                            applies: *steps_run,
                        },
                    };
                    p.candidates.push((steps.clone(), outcome, *applies));
                }
            }
            Event::ShrinkEnd { .. } => pending = None,
            _ => {}
        }
    }
    pending
}

/// The `shrink_candidate` line of a candidate run on the box.
pub fn candidate_event(
    model: &Model,
    steps: &[Transition],
    outcome: &Outcome,
    applies: usize,
) -> Event {
    let (passed, failed_at, check, kind) = match outcome {
        Outcome::Pass { .. } => (true, None, None, None),
        Outcome::Fail {
            signature,
            failed_at,
            ..
        } => (
            false,
            Some(*failed_at),
            Some(signature.check.clone()),
            Some(signature.kind.clone()),
        ),
    };
    Event::ShrinkCandidate {
        steps: to_journal_steps(model, steps),
        passed,
        failed_at,
        check,
        kind,
        steps_run: outcome.applies(),
        applies,
    }
}

/// Steps as the journal writes them: whole configs as labels, operations by name.
pub fn to_journal_steps(model: &Model, steps: &[Transition]) -> Vec<ShrinkStep> {
    steps
        .iter()
        .map(|t| match t {
            Transition::Apply(c) => ShrinkStep::Apply(model.labels(c)),
            Transition::Operate(i) => ShrinkStep::Operation {
                operation: model
                    .operations
                    .get(*i as usize)
                    .map_or_else(|| format!("#{i}"), |o| o.name.clone()),
            },
        })
        .collect()
}

/// The journal's steps back as transitions (labels over `start`, so a model with an axis
/// added reads them as the walk's baseline had it).
pub fn from_journal_steps(
    model: &Model,
    start: &Config,
    steps: &[ShrinkStep],
) -> Result<Vec<Transition>, String> {
    steps
        .iter()
        .map(|s| match s {
            ShrinkStep::Apply(labels) => model
                .config_from_labels(start, labels.iter().map(|(a, v)| (a.as_str(), v.as_str())))
                .map(Transition::Apply),
            ShrinkStep::Operation { operation } => model
                .operations
                .iter()
                .position(|o| o.name == *operation)
                .map(|i| Transition::Operate(i as u16))
                .ok_or_else(|| format!("the model has no operation '{operation}'")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::JournalWriter;

    fn pithead() -> Model {
        use crate::model::{BUILTIN_PITHEAD, load_str};
        load_str(BUILTIN_PITHEAD, std::path::Path::new("p.toml")).unwrap()
    }

    #[test]
    fn judged_candidates_read_back_from_the_journal_until_the_shrink_ends() {
        let m = pithead();
        let base = m.default_config();
        let other = m
            .config_from_labels(&base, [("p2pool.pool", "main")])
            .unwrap();
        let restart = m.operations.iter().position(|o| o.name == "restart");
        let mut seq = vec![Transition::Apply(other.clone())];
        if let Some(i) = restart {
            seq.push(Transition::Operate(i as u16));
        }
        let fail = Outcome::Fail {
            signature: Signature::new("restarted", "missing"),
            failed_at: seq.len() - 1,
            applies: seq.len(),
        };
        let pass = Outcome::Pass { applies: 1 };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut w = JournalWriter::create(&path).unwrap();
        w.write(Event::ShrinkStart {
            step: 3,
            check: "restarted".into(),
            kind: "missing".into(),
            max_applies: 50,
            max_time_s: 60.0,
            confirm_runs: 2,
            regressions: "found".into(),
            operations: vec!["lifecycle".into()],
        })
        .unwrap();
        w.write(candidate_event(&m, &seq, &fail, seq.len() + 1))
            .unwrap();
        w.write(candidate_event(&m, &seq[..1], &pass, 2)).unwrap();
        drop(w);
        let entries = crate::journal::read_journal(&path).unwrap();
        let p = pending(&entries).expect("a shrink to finish");
        assert_eq!(p.step, 3);
        assert_eq!(p.signature, Signature::new("restarted", "missing"));
        assert_eq!(p.operation_groups(), vec![OpGroup::Lifecycle]);
        assert_eq!(p.applies_spent(), seq.len() + 3);
        let known = p.known(&m, &base).unwrap();
        assert_eq!(known.len(), 2);
        assert_eq!(known[&seq], (fail, seq.len() + 1));
        assert_eq!(known[&seq[..1].to_vec()], (pass, 2));

        // Once it ended, nothing is pending.
        let mut w = JournalWriter::append(&path).unwrap();
        w.write(Event::ShrinkEnd {
            result: "shrunk".into(),
        })
        .unwrap();
        drop(w);
        let entries = crate::journal::read_journal(&path).unwrap();
        assert_eq!(pending(&entries), None);
    }

    #[test]
    fn an_operation_the_model_lacks_is_an_error_naming_it() {
        let m = pithead();
        let steps = vec![ShrinkStep::Operation {
            operation: "no-such-op".into(),
        }];
        let e = from_journal_steps(&m, &m.default_config(), &steps).unwrap_err();
        assert!(e.contains("no-such-op"), "{e}");
    }
}
