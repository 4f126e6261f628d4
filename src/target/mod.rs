//! Targets: where a step runs. The seam itself (the [`Target`] trait, observations, the one
//! polling loop) lives in `canary-core`, so the simulated stack and the oracle share it without
//! depending on each other; the targets are here and in `canary-sim`.

pub use canary_core::target::*;

pub mod box_target;
pub mod sim;
