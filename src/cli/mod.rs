//! The command line: argument parsing and wiring. Each subcommand lives in its own module and
//! calls into the library; nothing here decides behaviour the library should own.

mod box_args;
mod faults;
mod fuzz;
mod model_args;
mod plan;
mod replay;
mod replay_line;
mod report;
mod run;
mod show_model;

use clap::{Parser, Subcommand};

pub use model_args::ModelArgs;

/// The exit codes: 0 every verdict passed, 1 any failed, 2 usage, model or target errors.
pub use crate::run::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// canary explores Pithead's configuration space: it plans walks of `pithead apply -y` steps
/// that cover every value, pair and transition, runs them on a target, checks the box after
/// each step, and shrinks failures to minimal regressions.
#[derive(Debug, Parser)]
#[command(name = "canary", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log more to stderr: -v for info, -vv for debug, -vvv for trace. `RUST_LOG` (e.g.
    /// `RUST_LOG=canary=debug`) overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a model and show its axes, gates, constraints and services.
    Model(show_model::Args),
    /// Plan closed walks of applies covering every value tuple and value change.
    Plan(plan::Args),
    /// List the injected faults a target can switch on with `--fault NAME`.
    Faults(faults::Args),
    /// Re-derive a run's reports from its journal, or merge several shards' runs into one.
    Report(report::Args),
    /// Run a planned walk on a target, check the box after every step, journal everything.
    Run(Box<run::Args>),
    /// Fuzz random transition sequences, shrink each failure, save it as a regression.
    Fuzz(fuzz::Args),
    /// Replay saved regressions (a file or a directory, default regressions/).
    Replay(replay::Args),
}

/// Runs the parsed command line and returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Model(args) => show_model::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Faults(args) => faults::run(args),
        Command::Report(args) => report::run(args),
        Command::Run(args) => run::run(*args),
        Command::Fuzz(args) => fuzz::run(args),
        Command::Replay(args) => replay::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_USAGE
        }
    }
}

/// Installs the stderr log subscriber once: warnings by default (a re-established SSH
/// connection, say), more with each `-v`; `RUST_LOG` wins when set. A second call (tests
/// that run several commands in one process) keeps the first subscriber.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

pub(crate) use crate::exec::shell_quote as quote;
