//! One run, from arguments to the end of its journal: plan (or read a saved plan, or take the
//! plan of the run being resumed), the run directory and its journal, the manifest, the walk
//! on the simulated stack or inside a box's safety net, and what it came to. Built like
//! nextest's runner: [`RunBuilder`] collects the settings, [`RunBuilder::prepare`] resolves the
//! seed and what is resumed, [`Session::run`] runs it. The CLI builds one and prints from it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::faults::Fault;
use crate::journal::{Event, JournalWriter};
use crate::model::{Config, Model, OpGroup, Supplied};
use crate::plan::{self, PlanOptions, Step};
use crate::redact::Redactor;
use crate::rng::Seed;
use crate::target::box_target::{BoxTarget, BoxTargetOptions};
use crate::target::sim::SimTarget;

use super::box_run::{BoxCtx, Ended, run_box};
use super::console::{Console, Head};
use super::manifest::ManifestOptions;
use super::progress::{Progress, ProgressMode};
use super::redacting::{Redacting, add_supplied_secrets};
use super::resume::{self, ResumePoint};
use super::{EXIT_USAGE, RunError, RunOptions, run_walk, snapshot, walk_from_plan_json};

/// What a box run calls after its walk and restore, with the box still open (`--shrink`).
pub type AfterBoxWalk<'a> = &'a mut dyn FnMut(
    &tokio::runtime::Runtime,
    &mut BoxTarget,
    &BoxCtx<'_>,
    &mut Ended,
    &mut crate::journal::JournalWriter,
) -> anyhow::Result<()>;

/// The settings of one run.
pub struct RunBuilder<'m> {
    model: &'m Model,
    supplied: &'m Supplied,
    faults: Vec<Fault>,
    seed: Option<Seed>,
    plan_file: Option<PathBuf>,
    strength: usize,
    transitions: Option<bool>,
    operations: Vec<OpGroup>,
    options: RunOptions,
    op_timescale: Option<f64>,
    out: Option<PathBuf>,
    resume: Option<PathBuf>,
    on_box: Option<BoxTargetOptions>,
    keep: bool,
    restore_timeout: Duration,
    strict_model: bool,
}

impl<'m> RunBuilder<'m> {
    /// A run of `model` on the simulated stack, planned at strength 2 with a random seed.
    pub fn new(model: &'m Model, supplied: &'m Supplied) -> Self {
        RunBuilder {
            model,
            supplied,
            faults: Vec::new(),
            seed: None,
            plan_file: None,
            strength: 2,
            transitions: None,
            operations: Vec::new(),
            options: RunOptions::default(),
            op_timescale: None,
            out: None,
            resume: None,
            on_box: None,
            keep: false,
            restore_timeout: Duration::from_secs(600),
            strict_model: false,
        }
    }

    /// Faults injected into the simulator.
    pub fn faults(mut self, faults: Vec<Fault>) -> Self {
        self.faults = faults;
        self
    }

    /// The seed; `None` picks a random one.
    pub fn seed(mut self, seed: Option<Seed>) -> Self {
        self.seed = seed;
        self
    }

    /// Runs the walk of a saved plan instead of planning one.
    pub fn plan_file(mut self, path: Option<PathBuf>) -> Self {
        self.plan_file = path;
        self
    }

    /// How the walk is planned: strength, transitions, operation groups.
    pub fn planning(
        mut self,
        strength: usize,
        transitions: Option<bool>,
        operations: Vec<OpGroup>,
    ) -> Self {
        self.strength = strength;
        self.transitions = transitions;
        self.operations = operations;
        self
    }

    /// The step loop's options (steps, fail-fast, readiness, deadlines).
    pub fn options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// Operation windows scaled for a box with faster timers.
    pub fn op_timescale(mut self, factor: Option<f64>) -> Self {
        self.op_timescale = factor;
        self
    }

    /// The run directory; `None` is `reports/<run-id>/` with `reports/latest` pointing at it.
    pub fn out(mut self, dir: Option<PathBuf>) -> Self {
        self.out = dir;
        self
    }

    /// Continues the dropped box run in this directory.
    pub fn resume(mut self, dir: Option<PathBuf>) -> Self {
        self.resume = dir;
        self
    }

    /// Runs on this box (inside the safety net) instead of the simulated stack.
    pub fn on_box(
        mut self,
        options: Option<BoxTargetOptions>,
        keep: bool,
        restore_timeout: Duration,
    ) -> Self {
        self.on_box = options;
        self.keep = keep;
        self.restore_timeout = restore_timeout;
        self
    }

    /// On a box: stop before anything changes when the box's compose file and the model
    /// disagree (or it cannot be read); without it, drift is a loud warning.
    pub fn strict_model(mut self, strict: bool) -> Self {
        self.strict_model = strict;
        self
    }

    /// Resolves what is resumed, the seed and the replay line (`replay` makes it for a new
    /// run; a resumed run keeps its own), refusing a run directory that holds a run already.
    pub fn prepare(self, replay: impl FnOnce(&Seed) -> String) -> anyhow::Result<Prepared<'m>> {
        let resumed = match &self.resume {
            Some(dir) => {
                if self.on_box.is_none() {
                    bail!(
                        "--resume continues a box run: give --target local|ssh and --dir as the \
                         dropped run had"
                    );
                }
                let point = resume::read(dir)?;
                if let Some(w) = &point.torn {
                    eprintln!("warning: {}: {w}", dir.join("journal.jsonl").display());
                }
                // A walk that ended with its box shrink interrupted still has the shrink to finish.
                if point.ended && point.shrink.is_none() {
                    return Ok(Prepared::AlreadyEnded(dir.clone()));
                }
                if point.model_hash != self.model.hash {
                    bail!(
                        "the run in {} used the model {} ({}), not this one ({}); resume with the \
                         same --model",
                        dir.display(),
                        point.model,
                        &point.model_hash[..point.model_hash.len().min(12)],
                        &self.model.hash[..self.model.hash.len().min(12)]
                    );
                }
                Some(point)
            }
            None => None,
        };
        // A journal is the run's only record: never replace one.
        if let Some(dir) = &self.out
            && dir.join("journal.jsonl").exists()
        {
            bail!(
                "{} already holds a run (its journal.jsonl): continue it with --resume {} or give \
                 another --out",
                dir.display(),
                dir.display()
            );
        }
        let seed = match &resumed {
            Some(p) => p.seed.parse::<Seed>().map_err(|e| {
                anyhow::anyhow!("the journal's seed {:?} is not a seed: {e}", p.seed)
            })?,
            None => self.seed.unwrap_or_else(Seed::random),
        };
        let replay = match &resumed {
            Some(p) => p.replay.clone(),
            None => replay(&seed),
        };
        Ok(Prepared::Ready(Box::new(Session {
            settings: self,
            resumed,
            seed,
            replay,
        })))
    }
}

/// What [`RunBuilder::prepare`] found.
pub enum Prepared<'m> {
    /// `--resume` of a run whose journal already ends: nothing to do.
    AlreadyEnded(PathBuf),
    Ready(Box<Session<'m>>),
}

/// A run ready to plan and run.
pub struct Session<'m> {
    settings: RunBuilder<'m>,
    resumed: Option<ResumePoint>,
    /// The run's seed (the resumed run's own when resuming).
    pub seed: Seed,
    /// The one line that replays the run.
    pub replay: String,
}

/// The walk to run and the plan's JSON for the journal.
pub struct Planned {
    pub baseline: Config,
    pub steps: Vec<Step>,
    pub plan_json: serde_json::Value,
}

/// What a finished run leaves for the CLI to report.
pub struct Finished {
    pub ended: Ended,
    /// The run directory.
    pub out: PathBuf,
    pub journal_path: PathBuf,
    /// Set when the run resumed was over and only its interrupted box shrink went on: the
    /// exit code the shrink ended with (the walk's verdicts were reported by that run).
    pub shrink_resumed: Option<i32>,
}

impl<'m> Session<'m> {
    /// Whether this continues a dropped run (its regressions are not replayed again).
    pub fn is_resumed(&self) -> bool {
        self.resumed.is_some()
    }

    /// The walk: the resumed run's plan, the saved plan, or a new one from the seed.
    pub fn plan(&self) -> anyhow::Result<Planned> {
        let s = &self.settings;
        if let Some(p) = &self.resumed {
            let walk = walk_from_plan_json(s.model, s.supplied, &p.plan)
                .context("the journal's plan cannot be run with this model")?;
            return Ok(Planned {
                baseline: walk.baseline,
                steps: walk.steps,
                plan_json: p.plan.clone(),
            });
        }
        if let Some(path) = &s.plan_file {
            let text = crate::files::read_capped(path, crate::files::INPUT_CAP)
                .with_context(|| format!("cannot read the plan {}", path.display()))?;
            let plan_json: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not JSON; give a plan written by `canary plan --format json`",
                    path.display()
                )
            })?;
            let walk = walk_from_plan_json(s.model, s.supplied, &plan_json)
                .with_context(|| format!("the plan {} cannot be run", path.display()))?;
            return Ok(Planned {
                baseline: walk.baseline,
                steps: walk.steps,
                plan_json,
            });
        }
        let options = PlanOptions {
            strength: s.strength,
            transitions: s.transitions,
            seed: self.seed,
            supplied: s.supplied.clone(),
            operations: s.operations.clone(),
            ..PlanOptions::default()
        };
        let plan = plan::plan(s.model, &options)?;
        let plan_json = plan.to_json(s.model, s.supplied);
        let steps = plan
            .walks
            .into_iter()
            .next()
            .map(|w| w.steps)
            .unwrap_or_default();
        Ok(Planned {
            baseline: plan.baseline,
            steps,
            plan_json,
        })
    }

    /// Runs `planned`: opens the box (before anything is written, so a box that cannot be
    /// used leaves no run directory behind), creates the run directory and its journal (or
    /// appends to the resumed one), writes the manifest and walks. `after_box_walk` runs
    /// after a box walk and its restore, with the box still open.
    pub fn run(
        self,
        planned: &Planned,
        after_box_walk: Option<AfterBoxWalk<'_>>,
    ) -> anyhow::Result<Finished> {
        if planned.steps.is_empty() {
            bail!("the walk has no steps: nothing to run");
        }
        let Session {
            settings: s,
            resumed,
            seed,
            replay,
            ..
        } = self;
        let (model, supplied) = (s.model, s.supplied);
        let mut manifest = ManifestOptions {
            strength: s.strength,
            transitions: s.transitions,
            operations: OpGroup::list_name(&s.operations),
            max_steps: s.options.max_steps,
            fail_fast: s.options.fail_fast,
            ready_timeout_s: s.options.readiness.timeout.as_secs_f64(),
            op_timescale: s.op_timescale,
            plan_file: s.plan_file.as_ref().map(|p| p.display().to_string()),
        };
        let mut options = s.options.clone();
        if let Some(p) = &resumed {
            // A resumed run keeps the steps, the stop rule and the windows it was judged by.
            manifest.resume_from(&p.options);
            manifest.restore_into(&mut options);
        }

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let opened = match s.on_box.clone() {
            Some(o) => Some(
                rt.block_on(BoxTarget::open(o))
                    .context("cannot use the box")?,
            ),
            None => None,
        };
        // The preflight reads the box's compose file (read-only) before anything is written.
        let preflight = opened
            .as_ref()
            .map(|t| rt.block_on(crate::compose::preflight::check(t, model)));
        if let Some(p) = &preflight {
            eprint!("{}", p.banner());
            if s.strict_model && !p.agrees() {
                return Err(PreflightRefused.into());
            }
        }
        let (out, journal) = open_run_dir(s.resume.as_deref(), s.out.as_deref(), &seed)?;
        let journal_path = out.join("journal.jsonl");

        let limit = options
            .max_steps
            .map_or(planned.steps.len(), |n| n.min(planned.steps.len()));
        let progress = Progress::new(
            model,
            &planned.baseline,
            &planned.steps[..limit],
            ProgressMode::for_stdout(),
        );
        let mut console = Console {
            journal,
            progress,
            seed,
            replay: replay.clone(),
            steps_ended: 0,
            verdicts_passed: 0,
            verdicts_failed: 0,
        };
        let skipped = model.skipped(supplied);
        let head = Head {
            manifest: resumed.is_none(),
            run_id: out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            seed,
            replay,
            faults: s.faults.iter().map(|f| f.name().to_string()).collect(),
            options: manifest.to_map(),
            plan_json: planned.plan_json.clone(),
            preflight,
            skipped: skipped
                .iter()
                .map(|s| (s.axis.clone(), s.value.clone(), s.reason.clone()))
                .collect(),
        };
        let ctx = BoxCtx {
            model,
            supplied,
            start: &planned.baseline,
            steps: &planned.steps,
            options: &options,
            out: &out,
            restore_timeout: s.restore_timeout,
        };
        let ended = match opened {
            None => {
                let mut target = SimTarget::new(seed, &s.faults);
                sim_walk(&rt, &mut target, &ctx, &head, &mut console)?
            }
            Some(mut target) => {
                let scaled = manifest
                    .op_timescale
                    .map(|f| model.with_operation_timescale(f));
                let ctx = BoxCtx {
                    model: scaled.as_ref().unwrap_or(model),
                    ..ctx
                };
                // A walk that ended with its shrink interrupted: finish the shrink.
                if let Some(pending) = resumed.as_ref().and_then(|p| p.shrink.as_ref()) {
                    console.progress.finish();
                    let code = super::shrink_after::resume_shrink(
                        &rt,
                        &mut target,
                        &ctx,
                        pending,
                        &mut console.journal,
                    )?;
                    return Ok(Finished {
                        ended: Ended {
                            result: Err("the walk ended in the run resumed".to_string()),
                            interrupted: None,
                            restore_ok: true,
                        },
                        out,
                        journal_path,
                        shrink_resumed: Some(code),
                    });
                }
                let mut ended = rt.block_on(run_box(
                    &mut target,
                    &ctx,
                    &head,
                    resumed.as_ref(),
                    s.keep,
                    &mut console,
                ))?;
                if let Some(after) = after_box_walk {
                    console.progress.finish();
                    after(&rt, &mut target, &ctx, &mut ended, &mut console.journal)?;
                }
                ended
            }
        };
        console.progress.finish();
        Ok(Finished {
            ended,
            out,
            journal_path,
            shrink_resumed: None,
        })
    }
}

/// `--strict-model` stopped a box run before anything changed: the box's compose file and
/// the model disagree.
#[derive(Debug, thiserror::Error)]
#[error("--strict-model: stopped before the first apply; nothing changed")]
pub struct PreflightRefused;

/// The run directory and its journal: the resumed run's, appended to, or a new one.
fn open_run_dir(
    resume: Option<&Path>,
    out: Option<&Path>,
    seed: &Seed,
) -> anyhow::Result<(PathBuf, JournalWriter)> {
    if let Some(dir) = resume {
        let path = dir.join("journal.jsonl");
        let j = JournalWriter::append(&path)
            .with_context(|| format!("cannot append to {}", path.display()))?;
        return Ok((dir.to_path_buf(), j));
    }
    let id = run_id(seed);
    let dir = match out {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("reports").join(&id),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the run directory {}", dir.display()))?;
    if out.is_none() {
        update_latest(Path::new("reports"), &id);
    }
    let path = dir.join("journal.jsonl");
    let j =
        JournalWriter::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((dir, j))
}

/// The walk on the simulated stack.
fn sim_walk(
    rt: &tokio::runtime::Runtime,
    target: &mut SimTarget,
    ctx: &BoxCtx<'_>,
    head: &Head,
    console: &mut Console,
) -> anyhow::Result<Ended> {
    // The simulator holds no secret of its own; the secret `--supply` values are still kept
    // out of its journal (redacting only when there are some keeps the simulator's journal
    // fast).
    let mut secrets = Redactor::new();
    add_supplied_secrets(&mut secrets, ctx.model, ctx.supplied);
    head.write(console, ctx.model, target, &secrets)?;
    let result = rt.block_on(async {
        let baseline = match snapshot(target).await {
            Ok(b) => b,
            Err(source) => {
                console.journal.write(Event::TargetFailed {
                    step: None,
                    error: source.to_string(),
                })?;
                console.journal.write(Event::RunEnd {
                    passed: false,
                    steps: 0,
                    verdicts_passed: 0,
                    verdicts_failed: 0,
                    exit_code: EXIT_USAGE,
                })?;
                return Err(RunError::Target { step: None, source });
            }
        };
        if secrets.is_empty() {
            run_walk(
                target,
                ctx.model,
                ctx.supplied,
                &baseline,
                ctx.steps,
                ctx.options,
                console,
            )
            .await
        } else {
            run_walk(
                target,
                ctx.model,
                ctx.supplied,
                &baseline,
                ctx.steps,
                ctx.options,
                &mut Redacting::new(console, &secrets),
            )
            .await
        }
    });
    Ok(Ended {
        result: result.map_err(|e| e.to_string()),
        interrupted: None,
        restore_ok: true,
    })
}

/// A run id: UTC time to the second and the seed's first 8 hex characters.
fn run_id(seed: &Seed) -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{stamp}-{}", hex::encode(&seed.0[..4]))
}

/// Points `reports/latest` at the run directory (a relative symlink where the platform has
/// them; failing to update it is not worth failing the run).
fn update_latest(reports: &Path, id: &str) {
    let link = reports.join("latest");
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(id, &link);
    #[cfg(not(unix))]
    let _ = std::fs::write(&link, id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pithead() -> Model {
        crate::run::test_pithead()
    }

    #[test]
    fn a_sim_session_plans_runs_and_journals_and_never_replaces_a_run() {
        let model = pithead();
        let supplied = Supplied::default();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let builder = || {
            RunBuilder::new(&model, &supplied)
                .seed(Some(Seed::from_u64(7)))
                .options(RunOptions {
                    max_steps: Some(3),
                    ..RunOptions::default()
                })
                .out(Some(out.clone()))
        };
        let Prepared::Ready(session) = builder().prepare(|s| format!("replay {s}")).unwrap() else {
            panic!("nothing is resumed");
        };
        assert_eq!(session.replay, "replay 7");
        let planned = session.plan().unwrap();
        assert!(planned.steps.len() > 3, "a whole pairwise walk is planned");
        let finished = session.run(&planned, None).unwrap();
        let outcome = finished.ended.result.expect("the walk ran");
        assert_eq!(outcome.steps_run, 3, "--max-steps is kept");
        let journal = std::fs::read_to_string(&finished.journal_path).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(journal.lines().next().unwrap()).unwrap();
        assert_eq!(first["event"], "manifest");
        assert_eq!(first["run_id"], "run");
        assert_eq!(first["options"]["max_steps"], 3);
        assert!(journal.lines().last().unwrap().contains("\"run_end\""));
        // The run directory now holds a journal: a second run there is refused.
        let again = builder().prepare(|s| s.to_string());
        let err = again.err().expect("refused").to_string();
        assert!(err.contains("already holds a run"), "{err}");
    }

    #[test]
    fn resume_is_for_boxes() {
        let model = pithead();
        let supplied = Supplied::default();
        let tmp = tempfile::tempdir().unwrap();
        let err = RunBuilder::new(&model, &supplied)
            .resume(Some(tmp.path().to_path_buf()))
            .prepare(|s| s.to_string())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("--resume continues a box run"), "{err}");
    }
}
