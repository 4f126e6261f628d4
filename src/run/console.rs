//! The run's journal and console: every event written to `journal.jsonl`, progress and each
//! failure (with the seed and the replay line) shown to people, and the journal's head (the
//! manifest, the plan, the skipped values).

use std::collections::BTreeMap;

use crate::journal::{Event, JournalWriter};
use crate::model::Model;
use crate::redact::Redactor;
use crate::rng::Seed;
use crate::target::Target;

use super::progress::Progress;
use super::redacting::Redacting;
use super::{Sink, StepReport};

/// The journal plus what people see: progress, and every failure with the seed and the
/// replay line.
pub struct Console {
    pub journal: JournalWriter,
    pub progress: Progress,
    pub seed: Seed,
    pub replay: String,
    /// Steps ended and verdicts journaled by this process, for the `run_end` line of an
    /// interrupted walk (whose outcome was dropped with it).
    pub steps_ended: usize,
    pub verdicts_passed: usize,
    pub verdicts_failed: usize,
}

impl Sink for Console {
    fn journaling(&self) -> bool {
        true
    }

    fn event(&mut self, event: Event) -> std::io::Result<()> {
        match &event {
            Event::StepEnd { .. } => self.steps_ended += 1,
            Event::Verdict { verdict, .. } if verdict.passed => self.verdicts_passed += 1,
            Event::Verdict { .. } => self.verdicts_failed += 1,
            _ => {}
        }
        self.journal.write(event)
    }

    fn step_done(&mut self, report: &StepReport<'_>) {
        self.progress.step_done(report);
        if report.passed() {
            return;
        }
        for v in report.verdicts.failures() {
            self.progress.println(&format!(
                "FAIL step {} {}: {}\n     observed {} · expected {}",
                report.index + 1,
                v.check,
                v.message,
                v.observed,
                v.expected
            ));
        }
        self.progress.println(&format!(
            "     seed {} · replay: {}",
            self.seed, self.replay
        ));
    }
}

/// The journal's head: manifest, plan and skipped values (a resumed run has them already).
pub struct Head {
    pub manifest: bool,
    pub run_id: String,
    pub seed: Seed,
    pub replay: String,
    pub faults: Vec<String>,
    pub options: BTreeMap<String, serde_json::Value>,
    pub plan_json: serde_json::Value,
    /// The box's compose file compared with the model (box runs only).
    pub preflight: Option<crate::compose::preflight::Preflight>,
    pub skipped: Vec<(String, String, String)>,
}

impl Head {
    pub fn write<T: Target>(
        &self,
        console: &mut Console,
        model: &Model,
        target: &T,
        redactor: &Redactor,
    ) -> std::io::Result<()> {
        if !self.manifest {
            return Ok(());
        }
        let mut sink = Redacting::new(console, redactor);
        sink.event(Event::Manifest {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: self.run_id.clone(),
            seed: self.seed.to_string(),
            model: model.name.clone(),
            model_hash: model.hash.clone(),
            target: target.name().to_string(),
            under_test: target.describe(),
            faults: self.faults.clone(),
            options: self.options.clone(),
            replay: self.replay.clone(),
        })?;
        if let Some(p) = &self.preflight {
            sink.event(Event::ModelPreflight(p.clone()))?;
        }
        sink.event(Event::Plan {
            plan: self.plan_json.clone(),
        })?;
        for (axis, value, reason) in &self.skipped {
            sink.event(Event::Skipped {
                axis: axis.clone(),
                value: value.clone(),
                reason: reason.clone(),
            })?;
        }
        Ok(())
    }
}
