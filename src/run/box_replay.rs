//! Saved regressions replayed on a box (`canary replay --target local|ssh`): the box is
//! snapshotted, each file's steps run from the box's baseline through a [`BoxSession`] (the
//! box brought back and verified before each), and the box is restored whatever happens (end,
//! error, Ctrl-C, SIGTERM), as a `run` does.
//!
//! A regression found with faults injected into the simulated stack has no such switch on a
//! box: there, the box's own bugs decide, so it fails the same way only where the box has the
//! bug.

use std::path::PathBuf;

use crate::model::{Model, Supplied};
use crate::regress::{Prepared, RegressError, ReplayResult, Replayed};
use crate::safety::{self, RestoreOptions, RestoreReport, Snapshot, WalkEnd};
use crate::signal::{Interrupt, Signals};
use crate::target::TargetError;
use crate::target::box_target::BoxTarget;

use super::box_session::BoxSession;
use super::{RunError, RunOptions};

/// What replaying a set of files on a box gave.
#[derive(Debug)]
pub struct BoxReplay {
    /// One per file, in order; files not reached (an interrupted replay) are absent.
    pub results: Vec<ReplayResult>,
    /// Applies spent on the box: the steps and the restores to the baseline between files.
    pub applies: usize,
    /// The signal that stopped the replay, if one did.
    pub interrupted: Option<Interrupt>,
    /// The safety net's restore (`None` with `keep`).
    pub restore: Option<Result<RestoreReport, TargetError>>,
}

/// Replays `paths` on `target`, restoring the box at the end unless `keep`.
#[allow(clippy::too_many_arguments)]
pub async fn replay(
    target: &mut BoxTarget,
    model: &Model,
    supplied: &Supplied,
    paths: &[PathBuf],
    by_seed: bool,
    options: &RunOptions,
    restore: &RestoreOptions,
    keep: bool,
) -> Result<BoxReplay, TargetError> {
    let (snapshot, start) = snapshot_at_start(target, model, supplied).await?;
    let mut signals = Signals::install()
        .map_err(|e| TargetError::Other(format!("cannot install the Ctrl-C handler: {e}")))?;
    let mut results = Vec::new();
    let mut applies = 0;
    let guarded = safety::guard(
        target,
        &snapshot,
        &mut signals,
        keep,
        restore,
        async |t: &mut BoxTarget| -> Result<(), TargetError> {
            // A file may say it cannot be replayed on this kind of box (SKIPPED, with why).
            let kind = t.executor().kind().to_string();
            let mut session = BoxSession::open(t, model, supplied, start, options).await?;
            for path in paths {
                let prepared = match Prepared::load(path, model, supplied, by_seed) {
                    Ok(p) => p,
                    Err(done) => {
                        results.push(*done);
                        continue;
                    }
                };
                if let Some(reason) = prepared.regression.not_replayable_on(&kind) {
                    results.push(prepared.finish(Ok(Replayed::Skipped { reason }), true));
                    continue;
                }
                let outcome = session.run(&prepared.steps).await;
                applies = session.applies;
                let result = match outcome {
                    Ok(o) => Ok(prepared.replayed(&o)),
                    Err(RunError::Target { step, source }) => Err(RegressError::Invalid {
                        path: path.clone(),
                        what: format!(
                            "the box failed {}: {source}",
                            step.map_or("before the first step".to_string(), |s| format!(
                                "at step {}",
                                s + 1
                            ))
                        ),
                    }),
                    Err(RunError::Journal(e)) => Err(RegressError::Read {
                        path: path.clone(),
                        source: e,
                    }),
                };
                let stop = result.is_err();
                results.push(prepared.finish(result, true));
                if stop {
                    // A box that failed a command is not trusted with the next file.
                    break;
                }
            }
            Ok(())
        },
    )
    .await;
    let interrupted = match guarded.end {
        WalkEnd::Finished(Err(e)) => {
            return Err(TargetError::Other(format!(
                "{e} (the box was restored: {})",
                describe_restore(&guarded.restore)
            )));
        }
        WalkEnd::Finished(Ok(())) => None,
        WalkEnd::Interrupted(sig) => Some(sig),
    };
    Ok(BoxReplay {
        results,
        applies,
        interrupted,
        restore: guarded.restore,
    })
}

/// Before a box is used for many sequences: a proxy token left emptied by a run that was
/// killed outright goes back, the box is snapshotted (what its restore brings back), and its
/// config.json read as the model config the sequences start from.
pub async fn snapshot_at_start(
    target: &mut BoxTarget,
    model: &Model,
    supplied: &Supplied,
) -> Result<(Snapshot, crate::model::Config), TargetError> {
    safety::settle(target).await;
    let snapshot = Snapshot::take(target).await?;
    let original: serde_json::Value = serde_json::from_slice(&snapshot.config).map_err(|e| {
        TargetError::Other(format!(
            "the box's config.json is not JSON ({e}); fix it before using the box"
        ))
    })?;
    let start = super::config_of_json(model, supplied, &original);
    Ok((snapshot, start))
}

/// One line on how the restore went.
pub fn describe_restore(restore: &Option<Result<RestoreReport, TargetError>>) -> String {
    match restore {
        None => "not restored (--keep)".into(),
        Some(Ok(r)) if r.is_clean() => format!("restored and verified in {:.1?}", r.took),
        Some(Ok(r)) => format!("NOT fully restored: {}", r.differences.join("; ")),
        Some(Err(e)) => format!("NOT restored: {e}"),
    }
}
