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
use serde_json::json;

use super::box_args::{BoxArgs, TargetKind};
use super::{EXIT_USAGE, ModelArgs, quote};
use crate::faults::{self, Fault};
use crate::journal::{Event, JournalWriter};
use crate::model::{Config, Model, OpGroup, Supplied};
use crate::oracle::{self, Expected, StepFacts, Verdicts};
use crate::plan::{self, PlanOptions, Step};
use crate::redact::Redactor;
use crate::rng::Seed;
use crate::run::progress::{Progress, ProgressMode};
use crate::run::redacting::{Redacting, Shifted, add_supplied_secrets};
use crate::run::resume::{self, ResumePoint};
use crate::run::shrink_after::{ShrinkJob, ShrinkRun, shrink_job};
use crate::run::shrink_journal::PendingShrink;
use crate::run::{
    Baseline, Failure, RunOutcome, WalkCache, config_json, config_of_json, run_walk_cached,
};
use crate::run::{RunError, RunOptions, Sink, StepReport, run_walk, snapshot, walk_from_plan_json};
use crate::safety::{self, RestoreOptions, Snapshot, WalkEnd};
use crate::shrink::ShrinkOptions;
use crate::signal::Signals;
use crate::target::box_target::{BoxTarget, BoxTargetOptions};
use crate::target::sim::SimTarget;
use crate::target::{CommandResult, Observation, Target};

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

/// The walk to run and the plan's JSON for the journal.
struct Planned {
    baseline: Config,
    steps: Vec<Step>,
    plan_json: serde_json::Value,
}

fn make_plan(
    args: &Args,
    model: &Model,
    supplied: &Supplied,
    seed: Seed,
) -> anyhow::Result<Planned> {
    if let Some(path) = &args.plan {
        let text = crate::files::read_capped(path, crate::files::INPUT_CAP)
            .with_context(|| format!("cannot read the plan {}", path.display()))?;
        let plan_json: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON; give a plan written by `canary plan --format json`",
                path.display()
            )
        })?;
        let walk = walk_from_plan_json(model, supplied, &plan_json)
            .with_context(|| format!("the plan {} cannot be run", path.display()))?;
        return Ok(Planned {
            baseline: walk.baseline,
            steps: walk.steps,
            plan_json,
        });
    }
    let options = PlanOptions {
        strength: args.strength,
        transitions: args.transitions,
        seed,
        supplied: supplied.clone(),
        operations: args.operation_groups(),
        ..PlanOptions::default()
    };
    let plan = plan::plan(model, &options)?;
    let plan_json = plan.to_json(model, supplied);
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

/// The journal plus what people see: progress, and every failure with the seed and the
/// replay line.
struct Console {
    journal: JournalWriter,
    progress: Progress,
    seed: Seed,
    replay: String,
    /// Steps ended and verdicts journaled by this process, for the `run_end` line of an
    /// interrupted walk (whose outcome was dropped with it).
    steps_ended: usize,
    verdicts_passed: usize,
    verdicts_failed: usize,
}

impl Sink for Console {
    fn journaling(&self) -> bool {
        true
    }

    fn event(&mut self, event: Event) -> std::io::Result<()> {
        match &event {
            Event::StepEnd { .. } => self.steps_ended += 1,
            Event::Verdict { verdict, .. } if verdict.passed => self.verdicts_passed += 1,
            Event::Verdict { .. } => self.verdicts_failed += 1,
            _ => {}
        }
        self.journal.write(event)
    }

    fn step_done(&mut self, report: &StepReport<'_>) {
        self.progress.step_done(report);
        if report.passed() {
            return;
        }
        for v in report.verdicts.failures() {
            self.progress.println(&format!(
                "FAIL step {} {}: {}\n     observed {} · expected {}",
                report.index + 1,
                v.check,
                v.message,
                v.observed,
                v.expected
            ));
        }
        self.progress.println(&format!(
            "     seed {} · replay: {}",
            self.seed, self.replay
        ));
    }
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
    let resumed = match &args.resume {
        Some(dir) => {
            if box_options.is_none() {
                bail!(
                    "--resume continues a box run: give --target local|ssh and --dir as the \
                     dropped run had"
                );
            }
            let point = resume::read(dir)?;
            if let Some(w) = &point.torn {
                eprintln!("warning: {}: {w}", dir.join("journal.jsonl").display());
            }
            if point.ended && point.shrink.is_none() {
                println!(
                    "the run in {} already ended; nothing to resume",
                    dir.display()
                );
                return Ok(super::EXIT_OK);
            }
            if point.model_hash != model.hash {
                bail!(
                    "the run in {} used the model {} ({}), not this one ({}); resume with the \
                     same --model",
                    dir.display(),
                    point.model,
                    &point.model_hash[..point.model_hash.len().min(12)],
                    &model.hash[..model.hash.len().min(12)]
                );
            }
            Some(point)
        }
        None => None,
    };
    // A journal is the run's only record: never replace one.
    if let Some(dir) = &args.out
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
        Some(p) => p
            .seed
            .parse::<Seed>()
            .map_err(|e| anyhow::anyhow!("the journal's seed {:?} is not a seed: {e}", p.seed))?,
        None => args.seed.unwrap_or_else(Seed::random),
    };
    let replay = match &resumed {
        Some(p) => p.replay.clone(),
        None => replay_line(&args, &seed, &model),
    };
    println!("seed {seed}");
    let regressions_met = if args.no_replay || resumed.is_some() {
        true
    } else {
        super::replay::replay_first(&args.regressions, &model, &supplied)?
    };

    let planned = match &resumed {
        Some(p) => {
            let walk = walk_from_plan_json(&model, &supplied, &p.plan)
                .context("the journal's plan cannot be run with this model")?;
            Planned {
                baseline: walk.baseline,
                steps: walk.steps,
                plan_json: p.plan.clone(),
            }
        }
        None => make_plan(&args, &model, &supplied, seed)?,
    };
    let skipped = model.skipped(&supplied);
    for s in &skipped {
        println!("SKIPPED {}={}: {}", s.axis, s.value, s.reason);
    }
    if planned.steps.is_empty() {
        bail!("the walk has no steps: nothing to run");
    }

    let mut options = RunOptions {
        fail_fast: args.fail_fast,
        max_steps: args.max_steps,
        ..args.on.run_options(&model)
    };
    if let Some(p) = &resumed {
        if let Some(n) = p.options.get("max_steps").and_then(|v| v.as_u64()) {
            options.max_steps = Some(n as usize);
        }
        if let Some(b) = p.options.get("fail_fast").and_then(|v| v.as_bool()) {
            options.fail_fast = b;
        }
        if let Some(t) = p.options.get("ready_timeout_s").and_then(|v| v.as_f64()) {
            options.readiness.timeout = std::time::Duration::from_secs_f64(t.max(0.0));
        }
    }
    // A resumed run keeps the windows it was judged by.
    let op_timescale = match &resumed {
        Some(p) => p.options.get("op_timescale").and_then(|v| v.as_f64()),
        None => args.on.op_timescale,
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The box is opened before anything is written: a box that cannot be used leaves no
    // run directory behind.
    let mut opened = match box_options {
        Some(o) => Some(
            rt.block_on(BoxTarget::open(o))
                .context("cannot use the box")?,
        ),
        None => None,
    };
    let (out, journal) = match &args.resume {
        Some(dir) => {
            let path = dir.join("journal.jsonl");
            let j = JournalWriter::append(&path)
                .with_context(|| format!("cannot append to {}", path.display()))?;
            (dir.clone(), j)
        }
        None => {
            let id = run_id(&seed);
            let out = match &args.out {
                Some(dir) => dir.clone(),
                None => PathBuf::from("reports").join(&id),
            };
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create the run directory {}", out.display()))?;
            if args.out.is_none() {
                update_latest(Path::new("reports"), &id);
            }
            let path = out.join("journal.jsonl");
            let j = JournalWriter::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            (out, j)
        }
    };
    let journal_path = out.join("journal.jsonl");

    let limit = options
        .max_steps
        .map_or(planned.steps.len(), |n| n.min(planned.steps.len()));
    let progress = Progress::new(
        &model,
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
    let mut opts = BTreeMap::new();
    opts.insert("strength".into(), json!(args.strength));
    opts.insert("transitions".into(), json!(args.transitions));
    opts.insert(
        "operations".into(),
        json!(OpGroup::list_name(&args.operation_groups())),
    );
    opts.insert("max_steps".into(), json!(options.max_steps));
    opts.insert("fail_fast".into(), json!(options.fail_fast));
    opts.insert(
        "ready_timeout_s".into(),
        json!(options.readiness.timeout.as_secs_f64()),
    );
    if let Some(f) = op_timescale {
        opts.insert("op_timescale".into(), json!(f));
    }
    opts.insert(
        "plan_file".into(),
        json!(args.plan.as_ref().map(|p| p.display().to_string())),
    );
    let head = Head {
        manifest: resumed.is_none(),
        run_id: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        seed,
        replay: replay.clone(),
        faults: faults.iter().map(|f| f.name().to_string()).collect(),
        options: opts,
        plan_json: planned.plan_json.clone(),
        skipped: skipped
            .iter()
            .map(|s| (s.axis.clone(), s.value.clone(), s.reason.clone()))
            .collect(),
    };
    let ctx = Ctx {
        model: &model,
        supplied: &supplied,
        start: &planned.baseline,
        steps: &planned.steps,
        options: &options,
        out: &out,
        restore_timeout: *args.on.restore_timeout,
    };
    // A walk that ended with its shrink interrupted: finish the shrink.
    if let (Some(pending), Some(target)) = (
        resumed.as_ref().and_then(|p| p.shrink.as_ref()),
        opened.as_mut(),
    ) {
        console.progress.finish();
        let scaled = op_timescale.map(|f| model.with_operation_timescale(f));
        let ctx = Ctx {
            model: scaled.as_ref().unwrap_or(&model),
            ..ctx
        };
        return resume_shrink(&rt, target, &ctx, pending, &mut console.journal);
    }
    let ended = match opened {
        None => {
            let mut target = SimTarget::new(seed, &faults);
            // The simulator holds no secret of its own; the secret `--supply` values are
            // still kept out of its journal (redacting only when there are some keeps the
            // simulator's journal fast).
            let mut secrets = Redactor::new();
            add_supplied_secrets(&mut secrets, &model, &supplied);
            head.write(&mut console, &model, &target, &secrets)?;
            let result = rt.block_on(async {
                let baseline = match snapshot(&mut target).await {
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
                        &mut target,
                        &model,
                        &supplied,
                        &baseline,
                        &planned.steps,
                        &options,
                        &mut console,
                    )
                    .await
                } else {
                    run_walk(
                        &mut target,
                        &model,
                        &supplied,
                        &baseline,
                        &planned.steps,
                        &options,
                        &mut Redacting::new(&mut console, &secrets),
                    )
                    .await
                }
            });
            Ended {
                result: result.map_err(|e| e.to_string()),
                interrupted: None,
                restore_ok: true,
            }
        }
        Some(mut target) => {
            let scaled = op_timescale.map(|f| model.with_operation_timescale(f));
            let ctx = Ctx {
                model: scaled.as_ref().unwrap_or(&model),
                ..ctx
            };
            let mut ended = rt.block_on(run_box(
                &mut target,
                &ctx,
                &head,
                resumed.as_ref(),
                args.on.keep,
                &mut console,
            ))?;
            if args.shrink {
                console.progress.finish();
                shrink_after(
                    &rt,
                    &mut target,
                    &ctx,
                    &args,
                    &mut ended,
                    &mut console.journal,
                )?;
            }
            ended
        }
    };
    console.progress.finish();
    drop(console);
    let reports = crate::report::derive_reports(&out);
    // The coverage figures of summary.json, so the console never says more than the reports.
    if let Ok((report, _)) = &reports {
        println!("{}", report.coverage_line());
    }
    let mut code = summarise(ended, &seed, &replay, &journal_path);
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

/// What the walk of either kind of target came to.
struct Ended {
    result: Result<RunOutcome, String>,
    interrupted: Option<crate::signal::Interrupt>,
    /// False when the box's restore failed or could not be verified.
    restore_ok: bool,
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

/// The journal's head: manifest, plan and skipped values (a resumed run has them already).
struct Head {
    manifest: bool,
    run_id: String,
    seed: Seed,
    replay: String,
    faults: Vec<String>,
    options: BTreeMap<String, serde_json::Value>,
    plan_json: serde_json::Value,
    skipped: Vec<(String, String, String)>,
}

impl Head {
    fn write<T: Target>(
        &self,
        console: &mut Console,
        model: &Model,
        target: &T,
        redactor: &Redactor,
    ) -> std::io::Result<()> {
        if !self.manifest {
            return Ok(());
        }
        let mut sink = Redacting::new(console, redactor);
        sink.event(Event::Manifest {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: self.run_id.clone(),
            seed: self.seed.to_string(),
            model: model.name.clone(),
            model_hash: model.hash.clone(),
            target: target.name().to_string(),
            under_test: target.describe(),
            faults: self.faults.clone(),
            options: self.options.clone(),
            replay: self.replay.clone(),
        })?;
        sink.event(Event::Plan {
            plan: self.plan_json.clone(),
        })?;
        for (axis, value, reason) in &self.skipped {
            sink.event(Event::Skipped {
                axis: axis.clone(),
                value: value.clone(),
                reason: reason.clone(),
            })?;
        }
        Ok(())
    }
}

/// What every step of a box walk needs.
struct Ctx<'a> {
    model: &'a Model,
    supplied: &'a Supplied,
    /// The raw config the walk starts from (the plan's baseline).
    start: &'a Config,
    steps: &'a [Step],
    options: &'a RunOptions,
    out: &'a Path,
    restore_timeout: std::time::Duration,
}

impl Ctx<'_> {
    /// The safety net's restore: the walk's readiness wait and `--restore-timeout`, naming
    /// the run directory's plain copy of config.json in its advice.
    fn shrink_run(&self) -> ShrinkRun<'_> {
        ShrinkRun {
            model: self.model,
            supplied: self.supplied,
            start: self.start,
            steps: self.steps.iter().map(Step::transition).collect(),
            options: self.options,
            out: self.out,
            restore: self.restore_options(),
        }
    }

    fn restore_options(&self) -> RestoreOptions {
        RestoreOptions {
            ready_timeout: self.options.readiness.timeout,
            poll: std::time::Duration::from_millis(500),
            deadline: self.restore_timeout,
            run_dir: Some(self.out.to_path_buf()),
        }
    }
}

/// Opens the box, takes (or reloads) the snapshot, and runs the walk inside the safety net.
async fn run_box(
    target: &mut BoxTarget,
    ctx: &Ctx<'_>,
    head: &Head,
    resumed: Option<&ResumePoint>,
    keep: bool,
    console: &mut Console,
) -> anyhow::Result<Ended> {
    let snap = match resumed {
        Some(_) => {
            let s = Snapshot::load(ctx.out)
                .with_context(|| format!("cannot read the snapshot in {}", ctx.out.display()))?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} has no {}: the run was dropped before its first step; start it again",
                        ctx.out.display(),
                        safety::SNAPSHOT_FILE
                    )
                })?;
            // Before anything changes on this box: is it the box the run started on?
            same_box(target, &s, ctx).await?;
            // A proxy token left emptied by the dropped run: put back before it is judged.
            safety::settle(target).await;
            target.set_safety_archive(safety::load_backup(ctx.out));
            s
        }
        None => {
            // A proxy token left emptied by a run that was killed outright: put back before
            // the box is snapshotted.
            safety::settle(target).await;
            let s = Snapshot::take(target)
                .await
                .context("cannot snapshot the box before the first step")?;
            s.save(ctx.out).with_context(|| {
                format!("cannot save the box's snapshot in {}", ctx.out.display())
            })?;
            target
                .keep_env_copy()
                .await
                .context("cannot keep a copy of .env before the first step")?;
            s
        }
    };
    if let Some(tz) = &snap.tz {
        // A resumed run keeps the zone it started under (the box's, before any step).
        target.set_tz(tz);
    }
    let original: serde_json::Value = serde_json::from_slice(&snap.config)
        .context("the box's config.json is not JSON; fix it before testing the box")?;
    head.write(
        console,
        ctx.model,
        target,
        &full_redactor(target, &original, ctx),
    )?;

    let mut signals = Signals::install().context("cannot install the Ctrl-C handler")?;
    let restore_opts = ctx.restore_options();
    let guarded = safety::guard_judged(
        target,
        &snap,
        &mut signals,
        keep,
        &restore_opts,
        |walk: &Result<RunOutcome, RunError>| !walk.as_ref().is_ok_and(RunOutcome::passed),
        async |t: &mut BoxTarget| box_walk(t, ctx, &snap, &original, resumed, console).await,
    )
    .await;
    let restore_ok = match &guarded.restore {
        None => true,
        Some(Ok(r)) => r.is_clean(),
        Some(Err(_)) => false,
    };
    if let Some(Err(e)) = &guarded.rollback {
        eprintln!("canary: !!! the rollback to the safety backup failed: {e}");
    }
    let (result, interrupted) = match guarded.end {
        WalkEnd::Finished(r) => (r.map_err(|e| e.to_string()), None),
        WalkEnd::Interrupted(sig) => {
            let redactor = full_redactor(target, &original, ctx);
            let (steps, verdicts_passed, verdicts_failed) = (
                console.steps_ended,
                console.verdicts_passed,
                console.verdicts_failed,
            );
            let mut sink = Redacting::new(console, &redactor);
            sink.event(Event::Stopped {
                after_step: steps.saturating_sub(1),
                reason: format!("interrupted by {sig} at step {}", steps + 1),
            })?;
            sink.event(Event::RunEnd {
                passed: false,
                steps,
                verdicts_passed,
                verdicts_failed,
                exit_code: sig.exit_code(),
            })?;
            (
                Err(format!("interrupted by {sig} at step {}", steps + 1)),
                Some(sig),
            )
        }
    };
    Ok(Ended {
        result,
        interrupted,
        restore_ok,
    })
}

/// Refuses to resume on a box that is not the one the run started on (another target kind,
/// host or stack directory, a config.json neither the snapshot's nor the walk's, other
/// secrets), naming every difference, before anything is changed on it.
async fn same_box(t: &mut BoxTarget, snap: &Snapshot, ctx: &Ctx<'_>) -> anyhow::Result<()> {
    let config = t
        .read_config_raw()
        .await
        .context("cannot read config.json")?;
    let fingerprint = match t
        .kept_env_fingerprint()
        .await
        .context("cannot read the box")?
    {
        Some(fp) => fp,
        None => {
            t.observe()
                .await
                .context("cannot observe the box")?
                .secret_fingerprint
        }
    };
    let original: serde_json::Value =
        serde_json::from_slice(&snap.config).context("the snapshot's config.json is not JSON")?;
    let walk: Vec<serde_json::Value> = ctx
        .steps
        .iter()
        .map(|s| config_json(&original, ctx.model, ctx.supplied, &s.config))
        .collect();
    let seen = safety::identity::Seen {
        identity: safety::BoxIdentity::of(t),
        config: config.as_deref(),
        fingerprint,
    };
    let differences = safety::identity::differences(snap, &seen, &walk);
    if differences.is_empty() {
        return Ok(());
    }
    let here = &seen.identity;
    let (what, end) = if snap.identity.as_ref() == Some(here) {
        ("has changed since the run in", " started on it")
    } else {
        ("is not the box the run in", " started on")
    };
    let mut msg = format!(
        "refusing to resume: the box at {} on {} {what} {}{end}; nothing was changed on it. \
         What differs:",
        here.dir,
        here.host,
        ctx.out.display()
    );
    for d in &differences {
        msg.push_str(&format!("\n  - {d}"));
    }
    match &snap.identity {
        // The box it started on, changed since (secrets, config.json, .env): it can only be
        // put back, not walked on.
        Some(was) if *was == seen.identity => msg.push_str(&format!(
            "\nThis is the box the run started on, changed since. Put it back with `{}`, then \
             start a new run.",
            safety::restore_command(t, ctx.out)
        )),
        Some(was) => msg.push_str(&format!(
            "\nTo go on with that run, give the box it started on (--target {} --dir {}{}). \
             To test this box, start a new run (without --resume).",
            was.kind,
            was.dir,
            if was.kind == "ssh" {
                format!(" --host {}", was.host)
            } else {
                String::new()
            }
        )),
        None => msg.push_str(
            "\nTo go on with that run, give the box it started on. To test this box, start a \
             new run (without --resume).",
        ),
    }
    bail!(msg)
}

/// Everything a box run must never write: the box's secrets as the target knows them, the
/// secret leaves of the original config.json, and the secret `--supply` values.
fn full_redactor(t: &BoxTarget, original: &serde_json::Value, ctx: &Ctx<'_>) -> Redactor {
    let mut r = t.redactor().clone();
    r.add_config(original);
    add_supplied_secrets(&mut r, ctx.model, ctx.supplied);
    r
}

/// The walk on a box, one step at a time through the same runner as the simulator, so each
/// failing step can leave its artifacts before the next one changes the box.
async fn box_walk(
    t: &mut BoxTarget,
    ctx: &Ctx<'_>,
    snap: &Snapshot,
    original: &serde_json::Value,
    resumed: Option<&ResumePoint>,
    console: &mut Console,
) -> Result<RunOutcome, RunError> {
    let target_err = |step: Option<usize>| move |source| RunError::Target { step, source };
    let limit = ctx
        .options
        .max_steps
        .map_or(ctx.steps.len(), |m| m.min(ctx.steps.len()));
    let mut outcome = RunOutcome::default();
    let mut start = 0;
    let mut before = match resumed {
        None => {
            let obs = t.observe().await.map_err(target_err(None))?;
            Redacting::new(console, &full_redactor(t, original, ctx)).event(Event::Baseline {
                config_sha256: Baseline {
                    config: original.clone(),
                    observation: obs.clone(),
                }
                .config_sha256(),
                observation: obs.clone(),
            })?;
            obs
        }
        Some(p) => {
            start = p.next_step();
            outcome.steps_run = p.done.len();
            outcome.steps_failed = p.failed.len();
            outcome.verdicts_passed = p.verdicts_passed;
            outcome.verdicts_failed = p.verdicts_failed;
            println!(
                "resuming at step {} of {} ({} steps confirmed)",
                start + 1,
                limit,
                p.done.len()
            );
            t.observe().await.map_err(target_err(None))?
        }
    };
    let mut cache = WalkCache::new();
    // Where the box is when the walk (or its resumed rest) starts, so that a refused apply
    // (drift) is followed by steps predicted from where the box stayed.
    cache.begin_at(match start {
        0 => ctx.start.clone(),
        s => ctx.steps[s - 1].config.clone(),
    });
    let one = RunOptions {
        max_steps: None,
        fail_fast: false,
        ..ctx.options.clone()
    };
    let mut deadline_hit = None;
    let mut watch = crate::run::broken::BrokenWatch::default();
    for index in start..limit {
        let step = &ctx.steps[index];
        let destructive = step
            .op
            .is_some_and(|i| safety::is_destructive(ctx.model.operations[i].kind));
        if destructive && t.safety_archive().is_none() {
            before = safety_backup(t, ctx, index, console).await?;
        }
        // Rebuilt every step: the box target learns new secret values when they rotate.
        let redactor = &full_redactor(t, original, ctx);
        let half = resumed
            .and_then(|p| p.half_applied.as_ref())
            .filter(|(k, _)| *k == index);
        let failed_now = if let Some((_, apply)) = half
            && t.read_config().await.map_err(target_err(Some(index)))?
                == config_json(original, ctx.model, ctx.supplied, &step.config)
        {
            let prev = resumed.and_then(|p| p.last_observed.clone());
            let (after, verdicts) = judge_again(
                t,
                ctx,
                index,
                apply,
                prev.as_ref().unwrap_or(&before),
                &snap.fingerprint,
                redactor,
                console,
            )
            .await?;
            before = after;
            cache.step_ran(ctx.model, step);
            outcome.steps_run += 1;
            outcome.verdicts_passed += verdicts.passed;
            outcome.verdicts_failed += verdicts.failed;
            for v in verdicts.failures() {
                outcome.failures.push(Failure {
                    step: index,
                    verdict: v.clone(),
                });
            }
            verdicts.failed
        } else {
            let base = Baseline {
                config: original.clone(),
                observation: Observation {
                    secret_fingerprint: snap.fingerprint.clone(),
                    ..before.clone()
                },
            };
            let mut red = Redacting::new(&mut *console, redactor);
            let mut sink = Shifted::new(&mut red, index);
            let o = match run_walk_cached(
                t,
                ctx.model,
                ctx.supplied,
                &base,
                std::slice::from_ref(step),
                &one,
                &mut sink,
                &mut cache,
            )
            .await
            {
                Ok(o) => o,
                Err(e) => {
                    Redacting::new(&mut *console, redactor).event(Event::RunEnd {
                        passed: false,
                        steps: outcome.steps_run,
                        verdicts_passed: outcome.verdicts_passed,
                        verdicts_failed: outcome.verdicts_failed,
                        exit_code: EXIT_USAGE,
                    })?;
                    // The runner saw a one-step walk: name the walk's step.
                    return Err(match e {
                        RunError::Target { source, .. } => RunError::Target {
                            step: Some(index),
                            source,
                        },
                        e => e,
                    });
                }
            };
            // A deadline passed: the step is failed and the walk ends here.
            deadline_hit = o.stopped.clone();
            outcome.steps_run += o.steps_run;
            outcome.verdicts_passed += o.verdicts_passed;
            outcome.verdicts_failed += o.verdicts_failed;
            outcome.ready_seconds.extend(o.ready_seconds);
            outcome.seconds += o.seconds;
            for f in o.failures {
                outcome.failures.push(Failure {
                    step: index,
                    verdict: f.verdict,
                });
            }
            o.verdicts_failed
        };
        if failed_now > 0 {
            outcome.steps_failed += 1;
            match t.capture_artifacts(index as u64, ctx.out).await {
                Ok(dir) => console
                    .progress
                    .println(&format!("     artifacts: {}", dir.display())),
                Err(e) => console
                    .progress
                    .println(&format!("     artifacts could not be captured: {e}")),
            }
            if let Some(why) = deadline_hit.take() {
                outcome.stopped = Some(format!("step {}: {why}", index + 1));
                break;
            }
            if ctx.options.fail_fast && index + 1 < limit {
                outcome.stopped = Some(format!("--fail-fast: step {index} failed"));
                break;
            }
        }
        // A box broken beyond the walk would fail every step alike: stop here, once.
        let missing = t
            .missing_stack_files()
            .await
            .map_err(target_err(Some(index)))?;
        let mut running = None;
        if index + 1 < limit && missing.is_empty() {
            before = t.observe().await.map_err(target_err(Some(index + 1)))?;
            // Only a box that had containers running can lose them all.
            if !snap.running.is_empty() {
                running = Some(
                    before
                        .containers
                        .iter()
                        .filter(|c| c.state == "running")
                        .count(),
                );
            }
        }
        if let Some(why) = watch.after_step(index, &missing, running, &outcome.failures) {
            console.progress.println(&format!("     stopping: {why}"));
            outcome.stopped = Some(why);
            break;
        }
    }
    let redactor = full_redactor(t, original, ctx);
    let mut sink = Redacting::new(console, &redactor);
    crate::run::end_walk(&mut outcome, limit, ctx.steps.len(), &mut sink)?;
    Ok(outcome)
}

/// Takes the safety backup before step `index` (the walk's first destructive operation) and
/// waits for the box to settle after it (a backup stops and restarts the containers); returns
/// the box as the step will find it.
async fn safety_backup(
    t: &mut BoxTarget,
    ctx: &Ctx<'_>,
    index: usize,
    console: &mut Console,
) -> Result<Observation, RunError> {
    let err = |source| RunError::Target {
        step: Some(index),
        source,
    };
    let archive = safety::take_backup(t, Some(ctx.out)).await.map_err(err)?;
    console.progress.println(&format!(
        "     safety backup before step {} (the first destructive operation): {archive}",
        index + 1
    ));
    match t
        .wait_ready(
            ctx.options.readiness.timeout,
            std::time::Duration::from_millis(500),
        )
        .await
    {
        Ok((_, obs)) => Ok(obs),
        Err(e) => {
            console
                .progress
                .println(&format!("     after the safety backup: {e}"));
            t.observe().await.map_err(err)
        }
    }
}

/// A resumed step whose apply was confirmed and whose config is on the box: wait until ready,
/// observe, and judge, without applying again (the second, must-be-no-op apply is skipped
/// too: it would be an apply).
#[allow(clippy::too_many_arguments)]
async fn judge_again(
    t: &mut BoxTarget,
    ctx: &Ctx<'_>,
    index: usize,
    apply: &CommandResult,
    before: &Observation,
    fingerprint: &str,
    redactor: &Redactor,
    console: &mut Console,
) -> Result<(Observation, Verdicts), RunError> {
    let step = &ctx.steps[index];
    let expected = Expected::new(ctx.model, ctx.supplied, &step.effective);
    let err = |source| RunError::Target {
        step: Some(index),
        source,
    };
    let started = std::time::Instant::now();
    let (after, ready, polls) =
        crate::run::wait_settled(t, &expected, &ctx.options.readiness, &ctx.options.settle)
            .await
            .map_err(err)?;
    let mut verdicts = Verdicts::new(true);
    oracle::judge(
        &expected,
        &step.prediction,
        &StepFacts {
            apply,
            ready,
            before,
            after: &after,
            second_apply: None,
            after_second: None,
            baseline_fingerprint: fingerprint,
            operation: None,
            cold_refusal: None,
        },
        &mut verdicts,
    );
    let mut sink = Redacting::new(console, redactor);
    sink.event(Event::Ready {
        step: index,
        reached: ready.reached,
        ended: ready.ended,
        seconds: ready.seconds,
        polls,
    })?;
    sink.event(Event::Observed {
        step: index,
        observation: after.clone(),
    })?;
    for v in &verdicts.list {
        sink.event(Event::Verdict {
            step: index,
            verdict: v.clone(),
        })?;
    }
    sink.event(Event::StepEnd {
        step: index,
        passed: verdicts.failed == 0,
        seconds: ready.seconds,
    })?;
    sink.step_done(&StepReport {
        index,
        step,
        verdicts: &verdicts,
        ready,
        seconds: ready.seconds,
        wall: started.elapsed(),
    });
    Ok((after, verdicts))
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
        let doc = t.read_config().await?;
        let (obs, mut problems) = t.check_only().await?;
        let raw = config_of_json(model, supplied, &doc);
        let effective = model.effective(&raw);
        let expected = Expected::new(model, supplied, &effective);
        // Judged by the oracle's own state checks, like every step.
        let mut verdicts = Verdicts::new(false);
        oracle::judge_state(&expected, &obs, &mut verdicts);
        problems.extend(
            verdicts
                .failures()
                .map(|v| format!("{}: {}", v.check, v.message)),
        );
        let redactor = t.redactor();
        println!("config: {}", describe(&model.labels(&raw)));
        if problems.is_empty() {
            println!("OK: the box is as the model expects of its config");
            Ok(super::EXIT_OK)
        } else {
            for p in &problems {
                println!("FAIL {}", redactor.redact(p));
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
    ctx: &Ctx<'_>,
    args: &Args,
    ended: &mut Ended,
    journal: &mut JournalWriter,
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
    let job = ShrinkJob {
        step: failure.step,
        verdict: failure.verdict.clone(),
        signature: crate::fuzz::signature_of(&failure.verdict),
        budget: ShrinkOptions {
            max_applies: Some(args.shrink_applies),
            max_time: Some(*args.shrink_time),
            verify: true,
            operations: args.operation_groups(),
        },
        confirm_runs: args.confirm_runs,
        regressions: args.regressions.clone(),
        known: Default::default(),
    };
    journal.write(job.start_event())?;
    let (interrupted, restore_ok) = shrink_job(rt, target, &ctx.shrink_run(), job, journal)?;
    ended.interrupted = ended.interrupted.or(interrupted);
    ended.restore_ok &= restore_ok;
    Ok(())
}

/// `--resume` of a run whose box shrink was interrupted: on the box the run started on, the
/// shrink goes on with the candidates its journal judged answered from there.
fn resume_shrink(
    rt: &tokio::runtime::Runtime,
    target: &mut BoxTarget,
    ctx: &Ctx<'_>,
    pending: &PendingShrink,
    journal: &mut JournalWriter,
) -> anyhow::Result<i32> {
    let snap = Snapshot::load(ctx.out)
        .with_context(|| format!("cannot read the snapshot in {}", ctx.out.display()))?
        .ok_or_else(|| anyhow::anyhow!("{} has no snapshot", ctx.out.display()))?;
    rt.block_on(async {
        same_box(target, &snap, ctx).await?;
        safety::settle(target).await;
        anyhow::Ok(())
    })?;
    if let Some(tz) = &snap.tz {
        target.set_tz(tz);
    }
    let verdict = pending.verdict.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "the journal has no failing {} verdict at step {}: the shrink cannot go on",
            pending.signature.check,
            pending.step + 1
        )
    })?;
    let known = pending
        .known(ctx.model, ctx.start)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "shrink: resuming: {} candidates already judged on the box ({} applies), not run again",
        known.len(),
        pending.applies_spent()
    );
    let job = ShrinkJob {
        step: pending.step,
        verdict,
        signature: pending.signature.clone(),
        budget: ShrinkOptions {
            max_applies: Some(pending.max_applies),
            max_time: Some(pending.max_time),
            verify: true,
            operations: pending.operation_groups(),
        },
        confirm_runs: pending.confirm_runs,
        regressions: PathBuf::from(&pending.regressions),
        known,
    };
    let (interrupted, restore_ok) = shrink_job(rt, target, &ctx.shrink_run(), job, journal)?;
    Ok(match interrupted {
        Some(sig) => sig.exit_code(),
        None if !restore_ok => EXIT_USAGE,
        // The walk failed: that is the run's outcome, shrunk or not.
        None => super::EXIT_FAILED,
    })
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

    #[test]
    fn config_json_reads_back_as_the_config_that_wrote_it() {
        let m = crate::model::load_str(
            crate::model::BUILTIN_PITHEAD,
            std::path::Path::new("pithead.toml"),
        )
        .unwrap();
        let s = Supplied::default();
        let d = m.default_config();
        let raw = m
            .config_from_labels(&d, [("p2pool.pool", "nano"), ("tari.mode", "off")])
            .unwrap();
        assert_ne!(raw, d);
        let doc = config_json(&json!({"config_version": "2.0.0"}), &m, &s, &raw);
        assert_eq!(config_of_json(&m, &s, &doc), raw);
        // Keys the file lacks are the model's defaults.
        assert_eq!(config_of_json(&m, &s, &json!({})), d);
    }
}
