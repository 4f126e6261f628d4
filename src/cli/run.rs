//! `canary run`: plan (or read a saved plan), run the walk on a target, check every step,
//! journal everything under `reports/<run-id>/`, and exit 0 when every verdict passed, 1 when
//! any failed, 2 on usage, model or target errors.
//!
//! The run itself is the library's [`crate::run::session`]: this module turns the arguments
//! into its builder and prints what it came to. On a box (`--target local|ssh`) the walk runs
//! inside the safety net ([`crate::run::box_run`]); `--check` only asserts the box's current
//! state ([`crate::run::check`]); `--resume DIR` continues a dropped box run from its journal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::box_args::{BoxArgs, TargetKind};
use super::{EXIT_USAGE, ModelArgs};
use crate::faults::{self, Fault};
use crate::model::{Model, OpGroup, Supplied};
use crate::rng::Seed;
use crate::run::RunOptions;
use crate::run::box_run::{BoxCtx, Ended};
use crate::run::check::check_box;
use crate::run::session::{Prepared, RunBuilder};
use crate::run::shrink_after::{AfterWalk, shrink_after_walk};
use crate::target::box_target::{BoxTarget, BoxTargetOptions};

/// Arguments of `canary run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,

    /// Cover every t-way value tuple (1 each value, 2 pairs, up to 4).
    #[arg(long, default_value_t = 2, value_name = "T")]
    pub strength: usize,

    /// Cover every ordered value change of each axis. Default: the model's setting.
    #[arg(long, value_name = "BOOL")]
    pub transitions: Option<bool>,

    /// Seed of the run (the walk, simulated timings): 64 hex characters or an integer.
    /// Default: a fresh random seed, printed at the start.
    #[arg(long)]
    pub seed: Option<Seed>,

    /// Where the walk runs and how the box is reached.
    #[command(flatten)]
    pub on: BoxArgs,

    /// Switch on an injected fault (repeatable); `canary faults` lists them.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,

    /// Operation groups to walk besides config applies: lifecycle (restart, down/up, backup,
    /// restore), faults (a node stopped, frozen or removed, an emptied proxy token), both
    /// (`lifecycle,faults` or `all`), or none. Default: all on the simulated stack, none on a
    /// box (a live box runs operations only when asked).
    #[arg(long, value_name = "GROUPS")]
    pub operations: Option<super::plan::Groups>,

    /// Run the walk of a saved plan (`canary plan --format json --out FILE`) instead of
    /// planning one.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Run directory. Default: reports/<run-id>/, with reports/latest pointing at it.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Run at most N steps of the walk.
    #[arg(long, value_name = "N")]
    pub max_steps: Option<usize>,

    /// Stop after the first step with a failed verdict.
    #[arg(long)]
    pub fail_fast: bool,

    /// On a box: stop before anything changes when the box's compose file and the model
    /// disagree (or it cannot be read). Without it, drift is a loud warning.
    #[arg(long)]
    pub strict_model: bool,

    /// Saved regressions replayed (on the simulated stack, by their steps) before the walk;
    /// a regression that no longer meets its expectation makes the run fail.
    #[arg(long, value_name = "DIR", default_value = "regressions")]
    pub regressions: PathBuf,

    /// Do not replay the regressions folder first.
    #[arg(long)]
    pub no_replay: bool,

    /// On a box: when the walk fails, shrink its first failure there, from the box's
    /// baseline (restored before each candidate), confirm the minimal sequence and save it
    /// under --regressions; the box is restored again afterwards.
    #[arg(long)]
    pub shrink: bool,

    /// Budget of a box shrink in applies (candidates, confirmations and restores).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub shrink_applies: usize,

    /// Budget of a box shrink in wall time.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub shrink_time: humantime::Duration,

    /// Runs of the minimal sequence, after the shrink, that must all fail the same way
    /// before it is saved (fewer: reported as flaky, not saved).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub confirm_runs: usize,

    /// Only assert the box's current state (containers, status, .env posture, /api/state,
    /// fingerprint) without writing anything; exit 0 when healthy, 1 otherwise.
    #[arg(long)]
    pub check: bool,

    /// Continue the dropped box run in DIR from its journal: same seed and plan, confirmed
    /// steps are not repeated, then the box is restored as usual.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["plan", "out", "seed"])]
    pub resume: Option<PathBuf>,
}

impl Args {
    /// The operation groups this run walks (see `--operations`).
    pub fn operation_groups(&self) -> Vec<OpGroup> {
        match &self.operations {
            Some(g) => g.0.clone(),
            None if self.on.target == TargetKind::Sim => vec![OpGroup::Lifecycle, OpGroup::Faults],
            None => Vec::new(),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let box_options = args.on.box_options()?;
    let model = args.model.load_for(box_options.as_ref())?;
    let checked = args.model.checked(&model)?;
    let supplied = checked.supplied;
    let faults: Vec<Fault> = faults::parse_all(&args.faults)?;
    // The sim stands in for what a box's operator would supply: every gated value is planned.
    let supplied = match box_options {
        None => supplied.with_sim_stand_ins(&model, &checked.declined),
        Some(_) => supplied,
    };
    if box_options.is_none() && args.on.op_timescale.is_some() {
        bail!(
            "--op-timescale is for boxes with faster timers than Pithead's; the simulator runs \
             Pithead's own timings on its virtual clock"
        );
    }
    if box_options.is_some() && !faults.is_empty() {
        bail!(
            "--fault injects faults into the simulator only; on a box, switch faults on where \
             the box is made (pithead-fake setup DIR --faults NAME)"
        );
    }
    if args.check {
        let Some(opts) = box_options else {
            bail!("--check asserts a box's state: give --target local|ssh and --dir");
        };
        return check(opts, &model, &supplied);
    }
    let options = RunOptions {
        fail_fast: args.fail_fast,
        max_steps: args.max_steps,
        ..args.on.run_options(&model)
    };
    let prepared = RunBuilder::new(&model, &supplied)
        .faults(faults)
        .seed(args.seed)
        .plan_file(args.plan.clone())
        .planning(args.strength, args.transitions, args.operation_groups())
        .options(options)
        .op_timescale(args.on.op_timescale)
        .out(args.out.clone())
        .resume(args.resume.clone())
        .on_box(box_options, args.on.keep, *args.on.restore_timeout)
        .strict_model(args.strict_model)
        .prepare(|seed| super::replay_line::replay_line(&args, seed, &model))?;
    let session = match prepared {
        Prepared::AlreadyEnded(dir) => {
            println!(
                "the run in {} already ended; nothing to resume",
                dir.display()
            );
            return Ok(super::EXIT_OK);
        }
        Prepared::Ready(session) => *session,
    };
    let (seed, replay) = (session.seed, session.replay.clone());
    println!("seed {seed}");
    let regressions_met = if args.no_replay || session.is_resumed() {
        true
    } else {
        super::replay::replay_first(&args.regressions, &model, &supplied)?
    };
    let planned = session.plan()?;
    for s in &model.skipped(&supplied) {
        println!("SKIPPED {}={}: {}", s.axis, s.value, s.reason);
    }
    let mut shrink = |rt: &tokio::runtime::Runtime,
                      t: &mut BoxTarget,
                      ctx: &BoxCtx<'_>,
                      ended: &mut Ended,
                      journal: &mut crate::journal::JournalWriter| {
        let settings = AfterWalk {
            max_applies: args.shrink_applies,
            max_time: args.shrink_time,
            confirm_runs: args.confirm_runs,
            operations: args.operation_groups(),
            regressions: &args.regressions,
        };
        shrink_after_walk(rt, t, ctx, &settings, ended, journal)
    };
    let finished = match session.run(&planned, if args.shrink { Some(&mut shrink) } else { None }) {
        Err(e) if e.is::<crate::run::session::PreflightRefused>() => {
            eprintln!("canary: {e}");
            return Ok(super::EXIT_FAILED);
        }
        other => other?,
    };
    if let Some(code) = finished.shrink_resumed {
        return Ok(code);
    }
    let reports = crate::report::derive_reports(&finished.out);
    // The coverage figures of summary.json, so the console never says more than the reports.
    if let Ok((report, _)) = &reports {
        println!("{}", report.coverage_line());
    }
    let mut code = summarise(finished.ended, &seed, &replay, &finished.journal_path);
    if !regressions_met && code == super::EXIT_OK {
        println!("FAILED: a saved regression no longer meets its expectation (see above)");
        code = super::EXIT_FAILED;
    }
    match reports {
        Ok((_, files)) => println!("reports: {}", files.report_html.display()),
        Err(e) => eprintln!("warning: the reports could not be written: {e}"),
    }
    Ok(code)
}

/// Prints the end of the run and returns the exit code.
fn summarise(ended: Ended, seed: &Seed, replay: &str, journal_path: &Path) -> i32 {
    if let Some(sig) = ended.interrupted {
        let why = ended.result.as_ref().err().cloned();
        eprintln!(
            "canary: {}; journal: {}",
            why.unwrap_or_else(|| format!("interrupted by {sig}")),
            journal_path.display()
        );
        eprintln!("seed {seed} · replay: {replay}");
        return sig.exit_code();
    }
    let outcome = match ended.result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: the run could not finish: {e}");
            eprintln!("journal: {}", journal_path.display());
            eprintln!("seed {seed} · replay: {replay}");
            return EXIT_USAGE;
        }
    };
    if let Some(reason) = &outcome.stopped {
        println!("stopped early: {reason}");
    }
    println!(
        "{} steps, {} verdicts passed, {} failed ({} failing steps); journal: {}",
        outcome.steps_run,
        outcome.verdicts_passed,
        outcome.verdicts_failed,
        outcome.steps_failed,
        journal_path.display()
    );
    if outcome.passed() {
        println!("PASSED");
    } else {
        if let Some(f) = outcome.first_failure() {
            println!(
                "FAILED: first failure at step {}: {}: {}",
                f.step + 1,
                f.verdict.check,
                f.verdict.message
            );
        }
        println!("seed {seed}");
        println!("replay: {replay}");
    }
    if !ended.restore_ok {
        eprintln!("canary: the box's restore could not be verified (see above): exit {EXIT_USAGE}");
        return outcome.exit_code().max(EXIT_USAGE);
    }
    outcome.exit_code()
}

/// `--check`: asserts the box's current state against what the model expects of its current
/// config.json, changing nothing. Exit 0 when healthy, 1 with every problem listed.
fn check(opts: BoxTargetOptions, model: &Model, supplied: &Supplied) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let mut t = BoxTarget::open(opts).await.context("cannot use the box")?;
        let report = check_box(&mut t, model, supplied).await?;
        println!("config: {}", describe(&report.labels));
        if report.problems.is_empty() {
            println!("OK: the box is as the model expects of its config");
            Ok(super::EXIT_OK)
        } else {
            for p in &report.problems {
                println!("FAIL {p}");
            }
            Ok(super::EXIT_FAILED)
        }
    })
}

fn describe(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
