//! Fuzzing on a box (`canary fuzz --target local|ssh`): the box is snapshotted, every case
//! runs from the box's baseline through a [`BoxSession`] (Ctrl-C stops at the running case),
//! and the box is restored and verified at the end unless `--keep`.

use anyhow::Context;

use crate::fuzz::{self, FuzzEvent, FuzzOptions, FuzzReport};
use crate::model::{Config, Model, Supplied};
use crate::safety::{self, RestoreOptions, Snapshot};
use crate::signal::Signals;
use crate::target::box_target::{BoxTarget, BoxTargetOptions};

use super::RunOptions;
use super::box_replay::{describe_restore, snapshot_at_start};
use super::box_session::{BlockingOracle, BoxSession};

/// A box opened for fuzzing: snapshotted, with the model config its config.json holds.
pub struct FuzzBox {
    rt: tokio::runtime::Runtime,
    target: BoxTarget,
    snapshot: Snapshot,
    /// Where the cases start: the box's own config.
    pub start: Config,
}

impl FuzzBox {
    /// Opens the box and snapshots it before the first case.
    pub fn open(
        opts: BoxTargetOptions,
        model: &Model,
        supplied: &Supplied,
    ) -> anyhow::Result<FuzzBox> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let mut target = rt.block_on(BoxTarget::open(opts))?;
        let (snapshot, start) = rt
            .block_on(snapshot_at_start(&mut target, model, supplied))
            .context("cannot snapshot the box before the first case")?;
        Ok(FuzzBox {
            rt,
            target,
            snapshot,
            start,
        })
    }

    /// The box as a regression file records it.
    pub fn manifest(&self) -> crate::regress::BoxManifest {
        crate::regress::BoxManifest::from_description(&crate::target::Target::describe(
            &self.target,
        ))
    }

    /// The fuzz cases, every one from the box's baseline through a box session (Ctrl-C
    /// stops at the running case); then the box is restored and verified with `restore`
    /// (`None`: `--keep`, left as the last case left it).
    pub fn fuzz(
        &mut self,
        model: &Model,
        supplied: &Supplied,
        options: &FuzzOptions,
        run_options: &RunOptions,
        restore: Option<&RestoreOptions>,
        on_event: &mut dyn FnMut(FuzzEvent<'_>),
    ) -> anyhow::Result<FuzzReport> {
        let rt = &self.rt;
        let signals = rt.block_on(async { Signals::install() })?;
        let report = {
            let mut session = rt.block_on(BoxSession::open(
                &mut self.target,
                model,
                supplied,
                self.start.clone(),
                run_options,
            ))?;
            let mut oracle = BlockingOracle::new(rt, &mut session).with_signals(signals);
            let report = fuzz::fuzz_on(model, supplied, options, &mut oracle, on_event);
            println!("{} applies on the box", session.applies);
            report
        };
        match restore {
            None => println!("--keep: the box is left as the last case left it"),
            Some(how) => {
                let restore = rt.block_on(safety::restore(&mut self.target, &self.snapshot, how));
                println!("the box: {}", describe_restore(&Some(restore)));
            }
        }
        report.context("cannot fuzz")
    }
}
