//! Fake Pithead: daemons over real HTTP and a fake `pithead` CLI, written from the contract in
//! `pithead-model.md` (§2–§4, §6.1, §7) and independent of canary, so canary's oracle can
//! disagree with it. One binary, `pithead-fake`, is every part:
//!
//! - `pithead-fake daemon SERVICE --port N`: one fake daemon ([`daemons`]);
//! - `pithead-fake cli ARGS` (or a `pithead` entry point in a stack dir): the CLI ([`cli`]);
//! - `pithead-fake setup DIR` / `teardown DIR`: a whole fake box ([`setup`]).
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod daemons;
pub mod docker;
pub mod engine;
pub mod faults;
pub mod http;
pub mod render;
pub mod select;
pub mod setup;
pub mod stack;
pub mod tools;
