//! `canary replay [FILE|DIR]`: replays saved regressions and says for each whether it still
//! fails the same way, passes, or fails differently. A file saved with `expect = "fail"` (found
//! with injected faults) must still fail the same way; one saved with `expect = "pass"` (a fixed
//! bug) must pass. Exit 0 when every file met its expectation, 1 when any did not, 2 when a file
//! is corrupt or outdated (the error names the file) or on usage errors.

use std::path::PathBuf;

use anyhow::Context;

use super::box_args::BoxArgs;
use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, ModelArgs};
use crate::regress::{self, Replayed};
use crate::run::box_replay;
use crate::target::box_target::BoxTarget;

/// Arguments of `canary replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,

    /// A regression file or a directory of them.
    #[arg(default_value = "regressions", value_name = "FILE|DIR")]
    pub path: PathBuf,

    /// Regenerate each sequence from its seed instead of its saved steps.
    #[arg(long)]
    pub by_seed: bool,

    /// Where to replay: the simulated stack (with each file's injected faults), or a box
    /// (`--target local|ssh`: snapshotted first, each file run from the box's baseline, the
    /// box restored at the end and on Ctrl-C).
    #[command(flatten)]
    pub on: BoxArgs,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let model = args.model.load()?;
    let supplied = args.model.supplied(&model)?;
    if !args.path.exists() {
        anyhow::bail!(
            "{} does not exist; give a regression file or directory",
            args.path.display()
        );
    }
    let mut restore_failed = false;
    let (results, interrupted) = match args.on.box_options()? {
        None => (
            regress::replay_dir(&args.path, &model, &supplied, args.by_seed)?,
            None,
        ),
        Some(opts) => {
            let done = on_box(&args, opts, &model, &supplied)?;
            if !done
                .restore
                .as_ref()
                .is_none_or(|r| r.as_ref().is_ok_and(|r| r.is_clean()))
            {
                restore_failed = true;
            }
            (done.results, done.interrupted)
        }
    };
    let dropped = crate::model::skip::dropped(&model);
    let (mut unmet, mut broken, mut left_out, mut skipped) = (0, 0, 0, 0);
    for r in &results {
        if let Some((axis, value)) = r.regression.as_ref().and_then(|g| g.uses_any(&dropped)) {
            left_out += 1;
            println!(
                "skip  {}: sets {axis}={value}, dropped with --skip-value",
                r.path.display()
            );
            continue;
        }
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
        let expect = r.regression.as_ref().map_or(String::new(), |g| {
            format!("expect {:?}", g.expect).to_lowercase()
        });
        match &r.result {
            Err(e) => {
                broken += 1;
                eprintln!("error: {e}");
            }
            Ok(res) => {
                let what = match res {
                    Replayed::StillFails { at } => format!("still fails the same way at step {at}"),
                    Replayed::Passes => "passes".to_string(),
                    Replayed::FailsDifferently { signature, at } => {
                        format!("fails differently: {signature} at step {at}")
                    }
                    Replayed::Skipped { reason } => reason.clone(),
                };
                let verdict = if r.skipped().is_some() {
                    skipped += 1;
                    "SKIPPED"
                } else if r.met() {
                    "ok"
                } else {
                    "UNMET"
                };
                if !r.met() {
                    unmet += 1;
                }
                println!("{verdict:<5} {} ({expect}): {what}", r.path.display());
            }
        }
    }
    println!(
        "{} regressions: {} met, {unmet} unmet, {broken} unreadable{}{}",
        results.len(),
        results.len() - unmet - broken - left_out - skipped,
        if left_out > 0 {
            format!(", {left_out} left out for a dropped value")
        } else {
            String::new()
        },
        if skipped > 0 {
            format!(", {skipped} SKIPPED (not replayable on this target kind)")
        } else {
            String::new()
        }
    );
    if let Some(sig) = interrupted {
        eprintln!("canary: replay interrupted by {sig}");
        return Ok(sig.exit_code());
    }
    if restore_failed {
        eprintln!("canary: !!! the box is not verified restored (see above)");
        return Ok(EXIT_USAGE);
    }
    Ok(if broken > 0 {
        EXIT_USAGE
    } else if unmet > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Replays the files of `args.path` on the box of `opts`, inside the safety net.
fn on_box(
    args: &Args,
    opts: crate::target::box_target::BoxTargetOptions,
    model: &crate::model::Model,
    supplied: &crate::model::Supplied,
) -> anyhow::Result<box_replay::BoxReplay> {
    let paths = regress::files(&args.path)?;
    let scaled = args
        .on
        .op_timescale
        .map(|f| model.with_operation_timescale(f));
    let model = scaled.as_ref().unwrap_or(model);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let done = rt.block_on(async {
        let mut target = BoxTarget::open(opts).await?;
        println!(
            "replaying {} regression file(s) on the box {} (snapshotted; restored at the end)",
            paths.len(),
            target.dir()
        );
        box_replay::replay(
            &mut target,
            model,
            supplied,
            &paths,
            args.by_seed,
            &args.on.run_options(model),
            &args.on.restore_options(),
            args.on.keep,
        )
        .await
    })?;
    println!(
        "{} applies on the box; {}",
        done.applies,
        box_replay::describe_restore(&done.restore)
    );
    Ok(done)
}

/// Replays a regressions folder before a run or a fuzz campaign, as every run must. Files
/// saved for another model are left out (a PICT model has no Pithead regressions); a missing
/// folder is no error. Returns whether every replayed regression met its expectation.
pub fn replay_first(
    dir: &std::path::Path,
    model: &crate::model::Model,
    supplied: &crate::model::Supplied,
) -> anyhow::Result<bool> {
    let paths = regress::files(dir)?;
    if paths.is_empty() {
        return Ok(true);
    }
    let dropped = crate::model::skip::dropped(model);
    let (mut met, mut other_model) = (0, 0);
    let mut problems = Vec::new();
    let mut left_out = Vec::new();
    for path in paths {
        if let Ok(r) = regress::Regression::load(&path) {
            if r.model != model.name {
                other_model += 1;
                continue;
            }
            // A value the box's version does not have (--skip-value) cannot be replayed.
            if let Some((axis, value)) = r.uses_any(&dropped) {
                left_out.push(format!("{} (sets dropped {axis}={value})", path.display()));
                continue;
            }
        }
        let r = regress::replay_file(&path, model, supplied, false);
        if r.met() {
            met += 1;
        } else {
            problems.push(match &r.result {
                Err(e) => format!("error: {e}"),
                Ok(res) => format!("UNMET {}: {res:?}", r.path.display()),
            });
        }
    }
    println!(
        "regressions ({}): {met} met, {} unmet{}{}",
        dir.display(),
        problems.len(),
        if other_model > 0 {
            format!(", {other_model} for another model left out")
        } else {
            String::new()
        },
        if left_out.is_empty() {
            String::new()
        } else {
            format!(", {} left out for a dropped value", left_out.len())
        }
    );
    for l in &left_out {
        println!("  left out: {l}");
    }
    for p in &problems {
        println!("  {p}");
    }
    if !problems.is_empty() {
        println!("  replay them alone with: canary replay {}", dir.display());
    }
    Ok(problems.is_empty())
}
