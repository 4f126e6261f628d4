//! The planner's output: walks of config applies from the baseline and back.
//! (The planner itself lands with issue #2; these types are the contract the runner reads.)

use serde::Serialize;

use crate::model::{Config, Prediction, Skip};
use crate::rng::Seed;

/// One apply of a walk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The raw config written to config.json (value index per axis).
    pub config: Config,
    /// The config the stack renders from it.
    pub effective: Config,
    /// Axes whose effective value changes in this step.
    pub changed: Vec<usize>,
    /// What the model predicts the apply touches.
    pub prediction: Prediction,
}

/// A closed walk: starts at the baseline, ends with a step back to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Walk {
    pub steps: Vec<Step>,
}

/// A plan: one walk per shard plus what was left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub model: String,
    pub model_hash: String,
    pub seed: Seed,
    pub strength: usize,
    pub transitions: bool,
    pub baseline: Config,
    pub walks: Vec<Walk>,
    pub skipped: Vec<Skip>,
}
pub mod cover;
