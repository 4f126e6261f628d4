//! Where the box really is. A planned walk assumes every apply is taken; a box whose CLI
//! refuses a planned value by validation (drift, [`crate::oracle::drift`]) stays where it
//! was, so the steps after the refusal are derived again from the config the box holds: the
//! same transitions, predicted from where the box is rather than where the plan put it.

use crate::model::{Config, Model, OpKind, Supplied};
use crate::plan::{Step, steps_after_backup};

/// The raw config the box's stack runs (the last apply it took) and the one its last backup
/// holds, and whether a refusal has left the box behind its plan.
#[derive(Debug, Clone, Default)]
pub struct Position {
    /// `None` until the walk's start is given or a step has run.
    taken: Option<Config>,
    backup: Option<Config>,
    behind: bool,
}

impl Position {
    /// A walk about to start at the raw config `start`.
    pub fn at(start: Config) -> Position {
        Position {
            taken: Some(start),
            ..Position::default()
        }
    }

    /// Whether a refused apply left the box behind its plan.
    pub fn behind(&self) -> bool {
        self.behind
    }

    /// The raw config the box's stack runs, when known.
    pub fn taken(&self) -> Option<&Config> {
        self.taken.as_ref()
    }

    /// The step to run in place of `planned`: `None` while the box is where the plan has
    /// it (always, on a target that never refuses), else `planned`'s transition from where
    /// the box is.
    pub fn rebased(&self, model: &Model, supplied: &Supplied, planned: &Step) -> Option<Step> {
        if !self.behind {
            return None;
        }
        let taken = self.taken.as_ref()?;
        steps_after_backup(
            model,
            supplied,
            taken,
            self.backup.clone(),
            [planned.transition()],
        )
        .pop()
    }

    /// Records that `step` ran; `refused`: the box's CLI refused it and nothing changed.
    pub fn ran(&mut self, model: &Model, step: &Step, refused: bool) {
        if refused {
            self.behind = true;
            return;
        }
        if step
            .op
            .is_some_and(|i| model.operations[i].kind == OpKind::Backup)
        {
            self.backup = self.taken.clone();
        }
        self.taken = Some(step.config.clone());
    }
}
