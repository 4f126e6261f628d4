//! One box, many sequences: the seam fuzz, shrink and replay share on a box. Each sequence
//! starts from the box's baseline (config.json written back and applied when it differs, then
//! verified), runs fail-fast through the one step loop ([`super::run_walk_cached`]) and comes
//! back as a shrinker [`Outcome`], with every apply counted (the restores too: on a box an
//! apply is what costs).
//!
//! Not here yet: the safety snapshot and restore-on-exit of `run` are in `box_run.rs`; a
//! caller on a real box must take them around the session.

use crate::model::{Config, Model, Supplied, Transition};
use crate::shrink::{Outcome, Signature};
use crate::signal::{Interrupt, Signals};
use crate::target::{Target, TargetError};

use super::{Baseline, Quiet, RunError, RunOptions, WalkCache};

/// Sequences run on one target, each from the same baseline.
pub struct BoxSession<'t, 'm, T: Target> {
    target: &'t mut T,
    model: &'m Model,
    supplied: &'m Supplied,
    /// The box as found when the session opened.
    baseline: Baseline,
    /// The model config the baseline's config.json holds.
    start: Config,
    options: RunOptions,
    cache: WalkCache,
    /// Sequences run.
    pub runs: usize,
    /// Applies spent: the sequences' steps and the restores to the baseline.
    pub applies: usize,
    /// When set, a failing step that fails this signature among others reports it.
    pub want: Option<Signature>,
    /// The failing verdict of the last failing sequence, with its step.
    pub last_failure: Option<(usize, crate::journal::Verdict)>,
    /// Whether a sequence ran since the last restore: a sequence can end on the baseline's
    /// config.json with the box elsewhere (a container left stale), so the config alone does
    /// not say the box is back.
    dirty: bool,
}

impl<'t, 'm, T: Target> BoxSession<'t, 'm, T> {
    /// Opens a session on `target` as it is now (its baseline), which holds `start`.
    pub async fn open(
        target: &'t mut T,
        model: &'m Model,
        supplied: &'m Supplied,
        start: Config,
        options: &RunOptions,
    ) -> Result<Self, TargetError> {
        let baseline = super::snapshot(target).await?;
        Ok(BoxSession {
            target,
            model,
            supplied,
            baseline,
            start,
            options: RunOptions {
                fail_fast: true,
                max_steps: None,
                ..options.clone()
            },
            cache: WalkCache::new(),
            runs: 0,
            applies: 0,
            want: None,
            last_failure: None,
            dirty: false,
        })
    }

    /// The baseline the session holds the box to.
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// Brings the box back to its baseline config.json (one apply, unless the box has not been
    /// touched since the session opened or last restored) and checks it is there, secrets
    /// included.
    pub async fn back_to_baseline(&mut self) -> Result<(), TargetError> {
        if self.dirty || self.target.read_config().await? != self.baseline.config {
            self.target.write_config(&self.baseline.config).await?;
            self.applies += 1;
            let r = self.target.apply().await?;
            if r.exit_code != 0 {
                return Err(TargetError::Other(format!(
                    "restoring the baseline: pithead apply exited {}: {}",
                    r.exit_code, r.output
                )));
            }
            // Ready by the oracle's rule, as a step would be, before anything is judged.
            let effective = super::steps_from_transitions(
                self.model,
                self.supplied,
                &self.start,
                [Transition::Apply(self.start.clone())],
            )
            .remove(0)
            .effective;
            let expected = self
                .cache
                .expected
                .get(self.model, self.supplied, &effective);
            let (obs, ready, _) = super::wait_settled(
                self.target,
                &expected,
                &self.options.readiness,
                &self.options.settle,
            )
            .await?;
            self.target.recycle(obs);
            if !ready.reached {
                return Err(TargetError::Other(format!(
                    "the box was not ready at its baseline {:.0}s after restoring it",
                    ready.seconds
                )));
            }
        }
        if self.target.read_config().await? != self.baseline.config {
            return Err(TargetError::Other(
                "the box's config.json is not the baseline after restoring it".into(),
            ));
        }
        let obs = self.target.observe().await?;
        let same = obs.secret_fingerprint == self.baseline.fingerprint();
        self.dirty = false;
        if !same {
            self.target.recycle(obs);
            return Err(TargetError::Other(
                "the box's secrets changed from the baseline's".into(),
            ));
        }
        // The restore recreated or restarted containers: the next sequence's first step is
        // judged against the box as it is now, not as the session found it.
        let old = std::mem::replace(&mut self.baseline.observation, obs);
        self.target.recycle(old);
        Ok(())
    }

    /// Runs `steps` from the baseline, stopping at the first failing step.
    pub async fn run(&mut self, steps: &[Transition]) -> Result<Outcome, RunError> {
        self.back_to_baseline()
            .await
            .map_err(|source| RunError::Target { step: None, source })?;
        self.runs += 1;
        self.dirty = true;
        let planned = super::steps_from_transitions(
            self.model,
            self.supplied,
            &self.start,
            steps.iter().cloned(),
        );
        self.cache.begin_at(self.start.clone());
        let out = super::run_walk_cached(
            self.target,
            self.model,
            self.supplied,
            &self.baseline,
            &planned,
            &self.options,
            &mut Quiet,
            &mut self.cache,
        )
        .await?;
        self.applies += out.steps_run;
        let Some(first) = out.first_failure() else {
            self.last_failure = None;
            return Ok(Outcome::Pass {
                applies: out.steps_run,
            });
        };
        let chosen =
            crate::fuzz::reported_failure(&out.failures, self.want.as_ref()).unwrap_or(first);
        self.last_failure = Some((chosen.step, chosen.verdict.clone()));
        Ok(Outcome::Fail {
            signature: signature_of(chosen),
            failed_at: chosen.step,
            applies: chosen.step + 1,
        })
    }
}

/// How often a sequence failed the same way when run again: saved only when every run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    pub runs: usize,
    /// Runs that failed with the signature at the same step.
    pub reproduced: usize,
}

impl Confirmation {
    /// Failed every time: a regression to save.
    pub fn confirmed(&self) -> bool {
        self.runs > 0 && self.reproduced == self.runs
    }

    /// Failed some times but not all: reported with its counts, never saved.
    pub fn flaky(&self) -> bool {
        self.reproduced > 0 && self.reproduced < self.runs
    }
}

impl<T: Target> BoxSession<'_, '_, T> {
    /// Runs `steps` `times` more times, each from the baseline, counting the runs that fail
    /// with `signature` at `failed_at`.
    pub async fn confirm(
        &mut self,
        steps: &[Transition],
        signature: &Signature,
        failed_at: usize,
        times: usize,
    ) -> Result<Confirmation, RunError> {
        let mut reproduced = 0;
        for _ in 0..times {
            if self.run(steps).await?.fails_with(signature) == Some(failed_at) {
                reproduced += 1;
            }
        }
        Ok(Confirmation {
            runs: times,
            reproduced,
        })
    }
}

fn signature_of(f: &super::Failure) -> Signature {
    crate::fuzz::signature_of(&f.verdict)
}

/// A [`BoxSession`] as the shrinker's (synchronous) [`crate::shrink::Oracle`]: each candidate
/// runs on the box from its baseline, driven by `runtime` (call it outside the runtime, as the
/// CLI's synchronous code does).
pub struct BlockingOracle<'r, 's, 't, 'm, T: Target> {
    runtime: &'r tokio::runtime::Runtime,
    session: &'s mut BoxSession<'t, 'm, T>,
    start: Config,
    /// The first error the box gave: the candidate that met it counts as failing differently
    /// (so it is not taken), and the caller should stop and report it.
    pub error: Option<RunError>,
    /// Watched while a candidate runs: a signal drops the candidate and stops the shrink.
    signals: Option<Signals>,
    /// The signal that stopped it.
    pub interrupted: Option<Interrupt>,
}

impl<'r, 's, 't, 'm, T: Target> BlockingOracle<'r, 's, 't, 'm, T> {
    pub fn new(
        runtime: &'r tokio::runtime::Runtime,
        session: &'s mut BoxSession<'t, 'm, T>,
    ) -> Self {
        let start = session.start.clone();
        BlockingOracle {
            runtime,
            session,
            start,
            error: None,
            signals: None,
            interrupted: None,
        }
    }

    /// Stops at Ctrl-C or SIGTERM: the running candidate is dropped and no other runs.
    pub fn with_signals(mut self, signals: Signals) -> Self {
        self.signals = Some(signals);
        self
    }
}

impl<T: Target> crate::shrink::Oracle<Transition> for BlockingOracle<'_, '_, '_, '_, T> {
    fn baseline(&self) -> &Config {
        &self.start
    }

    fn run(&mut self, steps: &[Transition]) -> Outcome {
        if self.error.is_some() {
            // A box that failed once is not trusted with further candidates.
            return Outcome::Fail {
                signature: Signature::new("target", "error"),
                failed_at: 0,
                applies: 0,
            };
        }
        let (session, signals) = (&mut *self.session, &mut self.signals);
        let ran = self.runtime.block_on(async {
            match signals {
                None => Ok(session.run(steps).await),
                Some(signals) => tokio::select! {
                    out = session.run(steps) => Ok(out),
                    sig = signals.recv() => Err(sig),
                },
            }
        });
        let ran = match ran {
            Ok(r) => r,
            Err(sig) => {
                self.interrupted = Some(sig);
                self.error = Some(RunError::Target {
                    step: None,
                    source: TargetError::Other(format!("interrupted by {sig}")),
                });
                return Outcome::Fail {
                    signature: Signature::new("target", "error"),
                    failed_at: 0,
                    applies: 0,
                };
            }
        };
        match ran {
            Ok(o) => o,
            Err(e) => {
                let failed_at = match &e {
                    RunError::Target { step, .. } => step.unwrap_or(0),
                    RunError::Journal(_) => 0,
                };
                self.error = Some(e);
                Outcome::Fail {
                    signature: Signature::new("target", "error"),
                    failed_at,
                    applies: failed_at + 1,
                }
            }
        }
    }
}

impl<T: Target> crate::fuzz::CaseOracle for BlockingOracle<'_, '_, '_, '_, T> {
    fn begin_case(&mut self, _case_seed: crate::rng::Seed) {}

    fn set_want(&mut self, want: Option<Signature>) {
        self.session.want = want;
    }

    fn last_failure(&self) -> Option<&(usize, crate::journal::Verdict)> {
        self.session.last_failure.as_ref()
    }

    fn stopped(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }
}
