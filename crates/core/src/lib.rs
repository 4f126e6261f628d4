//! The seams every part of canary shares, depending on nothing of canary's but the Pithead
//! contract: the [`target::Target`] trait and what it observes, seeds and their random streams,
//! and capped file reading. The simulated stack and the oracle both build on this and on
//! nothing of each other.

pub mod files;
pub mod rng;
pub mod target;
