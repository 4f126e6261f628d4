//! `canary run`: plan (or read a saved plan), run the walk on a target, check every step,
//! journal everything under `reports/<run-id>/`, and exit 0 when every verdict passed, 1 when
//! any failed, 2 on usage, model or target errors.
//!
//! On a box (`--target local|ssh`) the walk runs inside the safety net: a [`Snapshot`] is
//! taken (and saved 0600 in the run directory) before the first step, the walk runs under
//! [`safety::guard`] so Ctrl-C, SIGTERM and a dropped connection restore the box, and after the
//! last step the box is restored and verified. Every journal line passes through the box's
//! [`Redactor`] (plus the secret `--supply` values) first; every failing step leaves its
//! artifacts under `artifacts/step-N/`. `--check` only asserts the box's current state;
//! `--resume DIR` continues a dropped box run from its journal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::box_args::{BoxArgs, TargetKind};
use super::{EXIT_USAGE, ModelArgs, quote};
use crate::faults::{self, Fault};
use crate::model::{Model, OpGroup, Supplied, Transition};
use crate::oracle::{self};
use crate::plan::Step;
use crate::rng::Seed;
use crate::run::RunOptions;
use crate::run::box_run::{BoxCtx, Ended};
use crate::run::box_shrink::{BoxShrunk, shrink_on_box};
use crate::run::check::check_box;
use crate::run::session::{Prepared, RunBuilder};
use crate::safety::{self, Snapshot};
use crate::shrink::ShrinkOptions;
use crate::signal::Signals;
use crate::target::Target;
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

/// The one line that replays this run. Secret prerequisites are never printed: their value
/// is left as a placeholder to fill in.
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

fn replay_line(args: &Args, seed: &Seed, model: &Model) -> String {
    let mut w: Vec<String> = vec!["canary".into(), "run".into()];
    let mut push = |flag: &str, value: Option<String>| {
        w.push(flag.to_string());
        if let Some(v) = value {
            w.push(quote(&v));
        }
    };
    push("--seed", Some(seed.to_string()));
    for (flag, value) in args.on.replay_flags() {
        push(flag, value);
    }
    for f in &args.faults {
        push("--fault", Some(f.clone()));
    }
    if let Some(p) = &args.model.model {
        push("--model", Some(p.display().to_string()));
    }
    if let Some(p) = &args.model.pict {
        push("--pict", Some(p.display().to_string()));
    }
    if let Some(p) = &args.model.supply_file {
        push("--supply-file", Some(p.display().to_string()));
    }
    for v in &args.model.skip_value {
        push("--skip-value", Some(v.clone()));
    }
    for s in &args.model.supply {
        let name = s.split_once('=').map_or(s.as_str(), |(k, _)| k.trim());
        let secret = model
            .prerequisites
            .iter()
            .any(|p| p.name == name && p.secret);
        let shown = if secret {
            format!("{name}=<secret>")
        } else {
            s.clone()
        };
        push("--supply", Some(shown));
    }
    if let Some(p) = &args.plan {
        push("--plan", Some(p.display().to_string()));
    } else {
        if args.strength != 2 {
            push("--strength", Some(args.strength.to_string()));
        }
        if let Some(t) = args.transitions {
            push("--transitions", Some(t.to_string()));
        }
        if args.operations.is_some() {
            push(
                "--operations",
                Some(OpGroup::list_name(&args.operation_groups())),
            );
        }
    }
    if let Some(n) = args.max_steps {
        push("--max-steps", Some(n.to_string()));
    }
    if args.fail_fast {
        push("--fail-fast", None);
    }
    // Whether regressions are replayed first decides whether an unmet one fails the run.
    if args.no_replay {
        push("--no-replay", None);
    } else if args.regressions != Path::new("regressions") {
        push(
            "--regressions",
            Some(args.regressions.display().to_string()),
        );
    }
    w.join(" ")
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let model = args.model.load()?;
    let checked = args.model.checked(&model)?;
    let supplied = checked.supplied;
    let faults: Vec<Fault> = faults::parse_all(&args.faults)?;
    let box_options = args.on.box_options()?;
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
        .prepare(|seed| replay_line(&args, seed, &model))?;
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
    let mut shrink =
        |rt: &tokio::runtime::Runtime, t: &mut BoxTarget, ctx: &BoxCtx<'_>, ended: &mut Ended| {
            shrink_after(rt, t, ctx, &args, ended)
        };
    let finished = session.run(&planned, if args.shrink { Some(&mut shrink) } else { None })?;
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

/// `--shrink` on a box: after the walk (and its restore), the first failure that is neither
/// drift nor a deadline is shrunk on the box, confirmed, saved, and the box restored again.
fn shrink_after(
    rt: &tokio::runtime::Runtime,
    target: &mut BoxTarget,
    ctx: &BoxCtx<'_>,
    args: &Args,
    ended: &mut Ended,
) -> anyhow::Result<()> {
    let Ok(outcome) = &ended.result else {
        return Ok(());
    };
    if ended.interrupted.is_some() || !ended.restore_ok || outcome.passed() {
        return Ok(());
    }
    let Some(failure) = outcome.failures.iter().find(|f| {
        f.verdict.check != oracle::drift::CHECK && !f.verdict.check.starts_with("deadline.")
    }) else {
        println!("shrink: nothing to shrink (only drift or deadline verdicts failed)");
        return Ok(());
    };
    let failing: Vec<Transition> = ctx.steps[..=failure.step]
        .iter()
        .map(Step::transition)
        .collect();
    let signature = crate::fuzz::signature_of(&failure.verdict);
    println!(
        "shrink: {} at step {} on the box ({} steps; at most {} applies, {})",
        signature,
        failure.step + 1,
        failing.len(),
        args.shrink_applies,
        args.shrink_time
    );
    let budget = ShrinkOptions {
        max_applies: Some(args.shrink_applies),
        max_time: Some(*args.shrink_time),
        verify: true,
        operations: args.operation_groups(),
    };
    let signals = rt.block_on(async { Signals::install() })?;
    let shrunk = shrink_on_box(
        rt,
        target,
        ctx.model,
        ctx.supplied,
        ctx.start.clone(),
        ctx.options,
        &failing,
        &signature,
        &budget,
        args.confirm_runs,
        Some(signals),
    );
    match shrunk {
        Ok(BoxShrunk::NotReproduced { applies }) => println!(
            "shrink: run again from the baseline it did not fail the same way ({applies} applies): not saved"
        ),
        Ok(BoxShrunk::Stopped {
            why,
            interrupted,
            applies,
        }) => {
            println!("shrink: stopped after {applies} applies: {why}");
            ended.interrupted = ended.interrupted.or(interrupted);
        }
        Ok(BoxShrunk::Shrunk {
            report,
            shrunk_on,
            sim_reproduces,
            confirmation,
            applies,
        }) => {
            match sim_reproduces {
                Some(true) if shrunk_on == "box" => println!(
                    "shrink: the simulated stack reproduces it, but its minimum does not fail on the box: shrunk on the box"
                ),
                Some(true) => println!(
                    "shrink: the simulated stack reproduces it: shrunk on the sim ({} sim applies), confirmed on the box",
                    report.applies
                ),
                Some(false) => println!(
                    "shrink: the simulated stack does not reproduce it (the sim and the box disagree): shrunk on the box"
                ),
                None => println!("shrink: the box's baseline is not the sim's: shrunk on the box"),
            }
            println!(
                "shrink: {} -> {} steps (shrunk on the {shrunk_on}) in {applies} applies on the box{}; confirmed {}/{}",
                failing.len(),
                report.minimal.len(),
                if report.budget_exhausted {
                    " (budget spent)"
                } else {
                    ""
                },
                confirmation.reproduced,
                confirmation.runs
            );
            for (i, t) in crate::regress::saved_steps(ctx.model, ctx.start, &report.minimal)
                .iter()
                .enumerate()
            {
                println!("  {}. {}", i + 1, t.describe());
            }
            if confirmation.confirmed() {
                let r = crate::regress::Regression::from_box_failure(
                    ctx.model,
                    args.on.target.as_str(),
                    ctx.start,
                    &report.minimal,
                    &failure.verdict,
                    &args.operation_groups(),
                    crate::regress::BoxManifest::from_description(&target.describe()),
                );
                let path = r.save(&args.regressions).with_context(|| {
                    format!(
                        "cannot save the regression in {}",
                        args.regressions.display()
                    )
                })?;
                println!("shrink: saved {}", path.display());
            } else {
                println!(
                    "shrink: flaky ({}/{} confirmations failed the same way): not saved",
                    confirmation.reproduced, confirmation.runs
                );
            }
        }
        Err(e) => println!("shrink: the box failed: {e}"),
    }
    // The shrink leaves the box at its baseline; the snapshot's restore verifies it.
    let snap = Snapshot::load(ctx.out)?.ok_or_else(|| {
        anyhow::anyhow!("the run's snapshot is missing from {}", ctx.out.display())
    })?;
    let restore_opts = ctx.restore_options();
    match rt.block_on(safety::restore(target, &snap, &restore_opts)) {
        Ok(r) if r.is_clean() => println!("shrink: box restored and verified"),
        Ok(r) => {
            eprintln!(
                "canary: !!! after the shrink the box is NOT back: {}",
                r.differences.join("; ")
            );
            ended.restore_ok = false;
        }
        Err(e) => {
            eprintln!("canary: !!! after the shrink the box could not be restored: {e}");
            ended.restore_ok = false;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a line the way a POSIX shell splits [`quote`]'s output: single quotes and
    /// backslash escapes.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                ' ' => words.extend(word.take()),
                '\'' => {
                    let w = word.get_or_insert_with(String::new);
                    w.extend(chars.by_ref().take_while(|&c| c != '\''));
                }
                '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
                c => word.get_or_insert_with(String::new).push(c),
            }
        }
        words.extend(word);
        words
    }

    fn parse_run(words: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        <Cli as clap::Parser>::try_parse_from(std::iter::once("run").chain(words.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn the_replay_line_carries_every_flag_that_shapes_the_run() {
        let m = crate::model::load_str(
            crate::model::BUILTIN_PITHEAD,
            std::path::Path::new("pithead.toml"),
        )
        .unwrap();
        let args = parse_run(&[
            "--seed",
            "7",
            "--target",
            "local",
            "--dir",
            "/srv/my stack",
            "--pithead",
            "sudo ./pithead",
            "--api-url",
            "http://127.0.0.1:8001/api/state",
            "--compose",
            "./pithead compose",
            "--op-timescale",
            "1/30",
            "--operations",
            "lifecycle,faults",
            "--strength",
            "3",
            "--transitions",
            "false",
            "--max-steps",
            "4",
            "--fail-fast",
            "--ready-timeout",
            "90s",
            "--apply-timeout",
            "2m",
            "--observe-timeout",
            "20s",
            "--action-timeout",
            "3m",
            "--restore-timeout",
            "5m",
            "--skip-value",
            "tari.mode=off",
            "--regressions",
            "elsewhere",
            "--keep",
        ]);
        let seed = Seed::from_u64(7);
        let line = replay_line(&args, &seed, &m);
        for flag in [
            "--compose './pithead compose'",
            "--op-timescale 0.03333",
            "--regressions elsewhere",
            "--dir '/srv/my stack'",
            "--apply-timeout 2m",
            "--restore-timeout 5m",
            "--skip-value tari.mode=off",
        ] {
            assert!(line.contains(flag), "{flag} missing from {line}");
        }
        // Read back by a shell and parsed again, the line asks for the very same run.
        let words = shell_words(&line);
        assert_eq!(words[..2], ["canary", "run"], "{line}");
        let words: Vec<&str> = words[2..].iter().map(String::as_str).collect();
        let again = parse_run(&words);
        assert_eq!(format!("{again:?}"), format!("{args:?}"), "{line}");
        assert_eq!(replay_line(&again, &seed, &m), line, "a fixed point");

        // Not replaying regressions/ is part of the run too.
        let args = parse_run(&["--no-replay", "--regressions", "elsewhere"]);
        let line = replay_line(&args, &seed, &m);
        assert!(line.ends_with(" --no-replay"), "{line}");
    }

    #[test]
    fn quoting_leaves_plain_words_and_wraps_the_rest() {
        assert_eq!(quote("--fault"), "--fault");
        assert_eq!(quote("strategies/x.toml"), "strategies/x.toml");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
