//! The in-process simulated stack as a target (`--target sim`, the default). The simulation
//! itself lives in [`crate::sim`]; this is where targets are looked up.

pub use crate::sim::SimTarget;
