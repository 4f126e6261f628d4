//! Where a walk tells what happens ([`Sink`]: the journal, or [`Quiet`] on the fast path) and
//! what it amounts to ([`RunOutcome`], or a [`RunError`] when it could not finish).

use std::time::Duration;

use crate::journal::{Event, JournalWriter, Verdict};
use crate::oracle::{Readiness, Verdicts};
use crate::plan::Step;
use crate::target::{Observation, TargetError};

/// How one step went, told to the [`Sink`] once its verdicts are in.
#[derive(Debug)]
pub struct StepReport<'a> {
    /// 0-based position in the walk.
    pub index: usize,
    pub step: &'a Step,
    /// The verdicts (all of them when the sink keeps passed ones, else the failures).
    pub verdicts: &'a Verdicts,
    pub ready: Readiness,
    /// Target-clock seconds for the whole step.
    pub seconds: f64,
    /// Wall-clock time the step took.
    pub wall: Duration,
}

impl StepReport<'_> {
    /// Whether every check of the step passed.
    pub fn passed(&self) -> bool {
        self.verdicts.failed == 0
    }
}

/// Where a run tells what happens.
pub trait Sink {
    /// Whether the sink wants journal events. When false the runner builds none, which is
    /// what makes the fast path fast.
    fn journaling(&self) -> bool;

    /// Whether passing verdicts are kept (and written) or only counted.
    fn keep_passed(&self) -> bool {
        self.journaling()
    }

    /// Records one event; only called when [`Sink::journaling`].
    fn event(&mut self, event: Event) -> std::io::Result<()>;

    /// Called after each step, for progress output.
    fn step_done(&mut self, _report: &StepReport<'_>) {}
}

impl Sink for JournalWriter {
    fn journaling(&self) -> bool {
        true
    }
    fn event(&mut self, event: Event) -> std::io::Result<()> {
        self.write(event)
    }
}

/// Journals how a step's wait ended (`Ready`) and the box as it was then (`Observed`).
pub(super) fn journal_wait<S: Sink>(
    sink: &mut S,
    step: usize,
    ready: &Readiness,
    polls: u32,
    after: &Observation,
) -> std::io::Result<()> {
    sink.event(Event::Ready {
        step,
        reached: ready.reached,
        ended: ready.ended,
        seconds: ready.seconds,
        polls,
    })?;
    sink.event(Event::Observed {
        step,
        observation: after.clone(),
    })
}

/// Journals a step's verdicts, then its end (passed when none failed).
pub(super) fn journal_verdicts<S: Sink>(
    sink: &mut S,
    step: usize,
    verdicts: &Verdicts,
    seconds: f64,
) -> std::io::Result<()> {
    for v in &verdicts.list {
        sink.event(Event::Verdict {
            step,
            verdict: v.clone(),
        })?;
    }
    sink.event(Event::StepEnd {
        step,
        passed: verdicts.failed == 0,
        seconds,
    })
}

/// A sink that records nothing: the in-process fast path.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Sink for Quiet {
    fn journaling(&self) -> bool {
        false
    }
    fn event(&mut self, _event: Event) -> std::io::Result<()> {
        Ok(())
    }
}

/// A failed verdict and the step it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub step: usize,
    pub verdict: Verdict,
}

/// What a run amounted to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    pub steps_run: usize,
    pub steps_failed: usize,
    pub verdicts_passed: usize,
    pub verdicts_failed: usize,
    /// The first [`RunOptions::keep_failures`](super::RunOptions::keep_failures) failures, in order.
    pub failures: Vec<Failure>,
    /// Why the walk stopped early, if it did.
    pub stopped: Option<String>,
    /// Target-clock seconds of the whole walk.
    pub seconds: f64,
    /// Target-clock seconds to ready, per step run (a few bytes a step).
    pub ready_seconds: Vec<f64>,
}

impl RunOutcome {
    /// Whether every verdict passed.
    pub fn passed(&self) -> bool {
        self.verdicts_failed == 0
    }

    /// The process exit code: 0 when every verdict passed, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.passed() { 0 } else { 1 }
    }

    /// The first failure, if any.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }
}

/// Why a run could not finish (as opposed to finishing with failed verdicts).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("step {step}: {source}", step = .step.map_or("baseline".to_string(), |s| (s + 1).to_string()))]
    Target {
        step: Option<usize>,
        #[source]
        source: TargetError,
    },
    #[error("cannot write the journal: {0}; check the --out directory is writable and has space")]
    Journal(#[from] std::io::Error),
}
