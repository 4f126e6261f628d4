//! canary: a property-based fuzzing matrix explorer for the Pithead mining stack.
//!
//! The flow is one-way: a [`model`] (axes, constraints, services) is turned by the planner into
//! a walk of config applies; the runner executes each step on a target, the oracle checks the
//! box, the journal records everything, and reports are derived from the journal. See
//! `ARCHITECTURE.md` for the code map and the invariants that keep the parts honest.

pub mod cli;
pub mod compose;
pub mod errors;
pub mod exec;
pub mod faults;
pub mod files;
pub mod fuzz;
pub mod journal;
pub mod model;
pub mod oracle;
pub mod plan;
pub mod redact;
pub mod regress;
pub mod report;
pub mod rng;
pub mod run;
pub mod safety;
pub mod shrink;
pub mod signal;
pub mod sim;
pub mod strategy;
pub mod target;
