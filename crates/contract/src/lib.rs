//! The Pithead contract that canary's simulated stack and its fakes both implement, kept in
//! one place so neither can quietly disagree with the other about a name. It depends on
//! nothing of canary's: the fakes link it without linking the tool, and the model (what the
//! oracle expects) is not here, so a fake built from this crate can still disagree with the
//! model.

pub mod action;
pub mod faults;
