//! `canary fuzz`: random transition sequences on the fast path; every new failure confirmed,
//! shrunk, printed with its seed and replay command, and saved under `regressions/`. Exit 0
//! when no failure was found, 1 when one was, 2 on usage or model errors.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::box_args::BoxArgs;
use super::{EXIT_FAILED, EXIT_OK, ModelArgs};
use crate::faults;
use crate::fuzz::{self, Found, FuzzEvent, FuzzOptions};
use crate::model::OpGroup;
use crate::regress::Regression;
use crate::rng::Seed;
use crate::run::box_fuzz::FuzzBox;
use crate::run::progress::ProgressMode;
use crate::shrink::ShrinkOptions;

/// Arguments of `canary fuzz`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,

    /// Random sequences to run.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub cases: usize,

    /// Steps (applies) per sequence.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub steps: usize,

    /// Seed of the run: 64 hex characters or an integer. Default: a fresh one, printed.
    #[arg(long)]
    pub seed: Option<Seed>,

    /// Where the sequences run: the simulated stack (default), or a box (`--target
    /// local|ssh`, the same box flags as `run`: snapshotted first, every case from the box's
    /// baseline, restored at the end and on Ctrl-C).
    #[command(flatten)]
    pub on: BoxArgs,

    /// Switch on an injected fault (repeatable); `canary faults` lists them.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,

    /// Operation groups mixed into the sequences: `lifecycle`, `faults` (comma-separated),
    /// `all` or `none`. Default for `--target sim`: all.
    #[arg(long, value_name = "GROUPS")]
    pub operations: Option<String>,

    /// Stop starting new cases after this many seconds; a shrink still running stops too.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<u64>,

    /// Keep going after the first failure, collecting distinct failures (by signature).
    #[arg(long)]
    pub keep_going: bool,

    /// At most this many applies per shrink.
    #[arg(long, value_name = "N")]
    pub shrink_applies: Option<usize>,

    /// At most this many seconds per shrink.
    #[arg(long, value_name = "SECONDS")]
    pub shrink_time: Option<u64>,

    /// Where minimal failures are saved.
    #[arg(long, default_value = "regressions", value_name = "DIR")]
    pub regressions: PathBuf,

    /// Do not save regressions.
    #[arg(long)]
    pub no_save: bool,

    /// Do not replay the regressions folder before fuzzing.
    #[arg(long)]
    pub no_replay: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let model = args.model.load_for(args.on.box_options()?.as_ref())?;
    let supplied = args.model.supplied(&model)?;
    let faults = faults::parse_all(&args.faults)?;
    let box_options = args.on.box_options()?;
    if box_options.is_some() && !faults.is_empty() {
        anyhow::bail!(
            "--fault switches on bugs of the simulated stack; a box has only its own (drop --fault or use --target sim)"
        );
    }
    let operations = match (&args.operations, &box_options) {
        (Some(list), _) => OpGroup::parse_list(list).map_err(anyhow::Error::msg)?,
        (None, None) => OpGroup::ALL.to_vec(),
        // A live box runs operations only when asked.
        (None, Some(_)) => Vec::new(),
    };
    let seed = args.seed.unwrap_or_else(Seed::random);
    let options = FuzzOptions {
        seed,
        cases: args.cases,
        steps: args.steps,
        faults: faults.clone(),
        operations: operations.clone(),
        keep_going: args.keep_going,
        time_budget: args.time_budget.map(Duration::from_secs),
        shrink: ShrinkOptions {
            max_applies: args.shrink_applies,
            max_time: args.shrink_time.map(Duration::from_secs),
            verify: true,
            operations: operations.clone(),
        },
        confirm_runs: 2,
    };
    println!(
        "canary fuzz: model {}, target {}, faults [{}], operations {}, {} cases x {} steps, seed {seed}",
        model.name,
        args.on.target.as_str(),
        args.faults.join(", "),
        OpGroup::list_name(&operations),
        args.cases,
        args.steps
    );
    let regressions_met =
        args.no_replay || super::replay::replay_first(&args.regressions, &model, &supplied)?;
    let began = Instant::now();
    let every = (args.cases / 10).max(1);
    let mut saved = Vec::new();
    let mut save_error = None;
    // A bar on a terminal, plain lines in CI or when piped; failures print above the bar.
    let bar = (ProgressMode::for_stdout() == ProgressMode::Bar).then(|| {
        let b = indicatif::ProgressBar::new(args.cases as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "fuzz {bar:30} {pos}/{len} cases · {msg} · {elapsed} (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message("0 failures");
        b
    });
    let mut failures = 0usize;
    macro_rules! say {
        ($($t:tt)*) => {
            match &bar {
                Some(b) => b.println(format!($($t)*)),
                None => println!($($t)*),
            }
        };
    }
    let mut opened = match box_options {
        Some(opts) => Some(FuzzBox::open(opts, &model, &supplied)?),
        None => None,
    };
    // Where the cases start: the default config on the sim, the box's own config on a box.
    let start = opened
        .as_ref()
        .map_or_else(|| model.default_config(), |b| b.start.clone());
    let box_kind = opened.as_ref().map(|_| args.on.target.as_str());
    let box_manifest = opened.as_ref().map(FuzzBox::manifest);
    let mut on_event = |event: FuzzEvent<'_>| match event {
        FuzzEvent::CaseDone { case, .. } => match &bar {
            Some(b) => b.set_position(case as u64 + 1),
            None if (case + 1) % every == 0 => say!("  {} cases run", case + 1),
            None => {}
        },
        FuzzEvent::Failure(f) => {
            failures += 1;
            if let Some(b) = &bar {
                b.set_message(format!("{failures} failures"));
            }
            say!(
                "FAIL case {} (seed {}): {} at step {} of {}",
                f.case,
                f.case_seed,
                f.signature,
                f.failed_at,
                f.sequence.len()
            );
            say!(
                "  observed {} expected {}",
                f.verdict.observed,
                f.verdict.expected
            );
            match &f.found {
                Found::Flaky {
                    reproduced,
                    outcomes,
                } => {
                    say!(
                        "  FLAKY: reproduced {reproduced} of {} replays; not shrunk",
                        outcomes.len()
                    );
                    for (i, o) in outcomes.iter().enumerate() {
                        match o {
                            crate::shrink::Outcome::Pass { .. } => {
                                say!("    replay {}: passed", i + 1)
                            }
                            crate::shrink::Outcome::Fail {
                                signature,
                                failed_at,
                                ..
                            } => say!("    replay {}: {signature} at step {failed_at}", i + 1),
                        }
                    }
                }
                Found::Shrunk { report, .. } => {
                    say!(
                        "  shrunk to {} steps in {} applies ({}1-minimal{})",
                        report.minimal.len(),
                        report.applies,
                        if report.one_minimal {
                            ""
                        } else {
                            "not proven "
                        },
                        if report.budget_exhausted {
                            ", budget exhausted"
                        } else {
                            ""
                        }
                    );
                    for p in report.passes.iter().filter(|p| p.candidates > 0) {
                        say!(
                            "    {:<9} removed {} steps, {} changes ({} candidates, {} applies)",
                            p.name,
                            p.steps_removed,
                            p.changes_removed,
                            p.candidates,
                            p.applies
                        );
                    }
                    for (i, step) in crate::regress::saved_steps(&model, &start, &report.minimal)
                        .iter()
                        .enumerate()
                    {
                        say!("    step {i}: {}", step.describe());
                    }
                    if !args.no_save
                        && let Some(mut r) =
                            Regression::from_failure(&model, f, &faults, &operations, args.steps)
                    {
                        if let Some(kind) = box_kind {
                            // Found on a box: it fails there today, from the box's config.
                            r.target = kind.to_string();
                            r.box_manifest = box_manifest.clone();
                            r.expect = crate::regress::Expect::Fail;
                            r.baseline = model.labels(&start);
                            r.steps = crate::regress::saved_steps(&model, &start, &report.minimal);
                        }
                        match r.save(&args.regressions) {
                            Ok(p) => {
                                say!("  saved {}", p.display());
                                say!("  replay: canary replay {}", p.display());
                                saved.push(p);
                            }
                            Err(e) => {
                                save_error = Some(format!(
                                    "cannot save into {}: {e}",
                                    args.regressions.display()
                                ))
                            }
                        }
                    }
                }
            }
            let mut line = format!(
                "  rerun: canary fuzz --seed {seed} --cases {} --steps {} --operations {}",
                f.case + 1,
                args.steps,
                OpGroup::list_name(&operations)
            );
            for n in &args.faults {
                line.push_str(&format!(" --fault {n}"));
            }
            if box_kind.is_some() {
                for (flag, value) in args.on.replay_flags() {
                    line.push(' ');
                    line.push_str(flag);
                    if let Some(v) = value {
                        line.push(' ');
                        line.push_str(&super::quote(&v));
                    }
                }
            }
            say!("{line}");
        }
    };
    let report = match opened.as_mut() {
        None => fuzz::fuzz(&model, &supplied, &options, &mut on_event).context("cannot fuzz")?,
        Some(b) => {
            let restore = (!args.on.keep).then(|| args.on.restore_options());
            let run_options = args.on.run_options(&model);
            b.fuzz(
                &model,
                &supplied,
                &options,
                &run_options,
                restore.as_ref(),
                &mut on_event,
            )?
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(e) = save_error {
        anyhow::bail!(e);
    }
    let secs = began.elapsed().as_secs_f64();
    let case_secs = report.case_time.as_secs_f64().max(1e-9);
    println!(
        "{} cases, {} steps in {secs:.2}s ({:.0} cases/s, {:.0} steps/s on cases); {} distinct failures, {} duplicates{}",
        report.cases_run,
        report.steps_run,
        report.cases_run as f64 / case_secs,
        report.steps_run as f64 / case_secs,
        report.failures.len(),
        report.duplicates,
        if report.out_of_time {
            "; stopped by the time budget"
        } else {
            ""
        }
    );
    if let Some(why) = &report.stopped {
        println!("stopped early: {why}");
    }
    Ok(
        if report.failures.is_empty() && regressions_met && report.stopped.is_none() {
            EXIT_OK
        } else {
            EXIT_FAILED
        },
    )
}
