//! The catalogue of injected faults a target can be told to reproduce with `--fault NAME`:
//! one list shared with the fakes, kept in the `pithead-contract` crate (its module docs say
//! what each field means).

pub use pithead_contract::faults::*;
