//! One step of a walk: the config it writes (or the operation it runs) with what the model
//! predicts of it. The planner makes steps, the runner performs them and the oracle judges
//! them, so the type lives with the model all three share.

use serde::Serialize;

use crate::{Config, Prediction, Transition};

/// One step of a walk: a config apply, or an operation of the model (`op`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The operation this step performs (index into the model's operations); `None` for a
    /// config apply.
    pub op: Option<usize>,
    /// The raw config written to config.json (value index per axis); for an operation, the
    /// raw config the box holds after it (unchanged but for a restore).
    pub config: Config,
    /// The config the stack renders from it.
    pub effective: Config,
    /// Axes whose effective value changes in this step.
    pub changed: Vec<usize>,
    /// What the model predicts the apply touches.
    pub prediction: Prediction,
    /// Goal tuples this step is the first to hit.
    pub new_tuples: usize,
    /// Goal value changes this step is the first to make.
    pub new_transitions: usize,
}

impl Step {
    /// The transition this step performs: its operation, or the apply of its raw config.
    pub fn transition(&self) -> Transition {
        match self.op {
            // Operation indices come from the model, whose operation count fits a u16.
            Some(i) => Transition::Operate(i as u16),
            None => Transition::Apply(self.config.clone()),
        }
    }
}
