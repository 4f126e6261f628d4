//! canary: a property-based fuzzing matrix explorer for the Pithead mining stack.
//!
//! The flow is one-way: a [`model`] (axes, constraints, services) is turned by the planner into
//! a walk of config applies; the runner executes each step on a target, the oracle checks the
//! box, the journal records everything, and reports are derived from the journal. See
//! `ARCHITECTURE.md` for the code map and the invariants that keep the parts honest.

pub mod cli;
pub mod compose;
pub mod exec;
pub mod faults;
pub mod fuzz;
pub mod journal;
pub mod plan;
pub mod redact;
pub mod regress;
pub mod report;
pub mod run;
pub mod safety;
pub mod shrink;
pub mod signal;
pub mod strategy;
pub mod target;

// The parts that are crates of their own (see ARCHITECTURE.md, "Crate graph"), at the paths
// the tool and its users have always named them by.
pub use canary_core::{files, rng};
pub use canary_model as model;
pub use canary_model::errors;
pub use canary_oracle as oracle;
pub use canary_sim as sim;
