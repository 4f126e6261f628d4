//! `canary run`: plan (or read a saved plan), run the walk on a target, check every step,
//! journal everything under `reports/<run-id>/`, and exit 0 when every verdict passed, 1 when
//! any failed, 2 on usage, model or target errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;

use super::{EXIT_USAGE, ModelArgs};
use crate::faults::{self, Fault};
use crate::journal::{Event, JournalWriter};
use crate::model::{Config, Model, Supplied};
use crate::plan::{self, PlanOptions, Step};
use crate::rng::Seed;
use crate::run::progress::{Progress, ProgressMode};
use crate::run::{
    ReadinessPolicy, RunError, RunOptions, Sink, StepReport, run_walk, snapshot,
    walk_from_plan_json,
};
use crate::target::Target;
use crate::target::sim::SimTarget;

/// Where the walk runs. More kinds (`local`, `ssh`) join as box targets land.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetKind {
    /// The in-process simulated Pithead: deterministic, on a virtual clock.
    Sim,
}

impl TargetKind {
    fn as_str(self) -> &'static str {
        match self {
            TargetKind::Sim => "sim",
        }
    }
}

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

    /// Where to run the walk.
    #[arg(long, value_enum, default_value = "sim")]
    pub target: TargetKind,

    /// Switch on an injected fault (repeatable); `canary faults` lists them.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,

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

    /// How long a step may take to become ready after its apply (target clock).
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub ready_timeout: humantime::Duration,
}

/// Shell-quotes one word of a command line, only when needed.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/=:,+@%-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The one line that replays this run. Secret prerequisites are never printed: their value
/// is left as a placeholder to fill in.
fn replay_line(args: &Args, seed: &Seed, model: &Model) -> String {
    let mut w: Vec<String> = vec!["canary".into(), "run".into()];
    let mut push = |flag: &str, value: Option<String>| {
        w.push(flag.to_string());
        if let Some(v) = value {
            w.push(quote(&v));
        }
    };
    push("--seed", Some(seed.to_string()));
    push("--target", Some(args.target.as_str().to_string()));
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
    }
    if let Some(n) = args.max_steps {
        push("--max-steps", Some(n.to_string()));
    }
    if args.ready_timeout.to_string() != "10m" {
        push("--ready-timeout", Some(args.ready_timeout.to_string()));
    }
    w.join(" ")
}

/// A run id: UTC time to the second and the seed's first 8 hex characters.
fn run_id(seed: &Seed) -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{stamp}-{}", &seed.to_string()[..8])
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

fn make_plan(args: &Args, model: &Model, supplied: &Supplied, seed: Seed) -> anyhow::Result<Planned> {
    if let Some(path) = &args.plan {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the plan {}", path.display()))?;
        let plan_json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON; give a plan written by `canary plan --format json`", path.display()))?;
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
        ..PlanOptions::default()
    };
    let plan = plan::plan(model, &options)?;
    let plan_json = plan.to_json(model, supplied);
    let steps = plan.walks.into_iter().next().map(|w| w.steps).unwrap_or_default();
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
}

impl Sink for Console {
    fn journaling(&self) -> bool {
        true
    }

    fn event(&mut self, event: Event) -> std::io::Result<()> {
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
        self.progress
            .println(&format!("     seed {} · replay: {}", self.seed, self.replay));
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let model = args.model.load()?;
    let supplied = args.model.supplied(&model)?;
    let faults: Vec<Fault> = faults::parse_all(&args.faults)?;
    let seed = args.seed.unwrap_or_else(Seed::random);
    let replay = replay_line(&args, &seed, &model);
    println!("seed {seed}");

    let planned = make_plan(&args, &model, &supplied, seed)?;
    let skipped = model.skipped(&supplied);
    for s in &skipped {
        println!("SKIPPED {}={}: {}", s.axis, s.value, s.reason);
    }
    if planned.steps.is_empty() {
        bail!("the walk has no steps: nothing to run");
    }

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
    let journal_path = out.join("journal.jsonl");
    let mut journal = JournalWriter::create(&journal_path)
        .with_context(|| format!("cannot write {}", journal_path.display()))?;

    let mut target = match args.target {
        TargetKind::Sim => SimTarget::new(seed, &faults),
    };
    let options = RunOptions {
        readiness: ReadinessPolicy {
            timeout: *args.ready_timeout,
            ..ReadinessPolicy::default()
        },
        fail_fast: args.fail_fast,
        max_steps: args.max_steps,
        ..RunOptions::default()
    };
    let mut opts = BTreeMap::new();
    opts.insert("strength".into(), json!(args.strength));
    opts.insert("transitions".into(), json!(args.transitions));
    opts.insert("max_steps".into(), json!(args.max_steps));
    opts.insert("fail_fast".into(), json!(args.fail_fast));
    opts.insert("ready_timeout_s".into(), json!(options.readiness.timeout.as_secs_f64()));
    opts.insert("plan_file".into(), json!(args.plan.as_ref().map(|p| p.display().to_string())));
    journal.write(Event::Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: id.clone(),
        seed: seed.to_string(),
        model: model.name.clone(),
        model_hash: model.hash.clone(),
        target: target.name().to_string(),
        under_test: target.describe(),
        faults: faults.iter().map(|f| f.name().to_string()).collect(),
        options: opts,
        replay: replay.clone(),
    })?;
    journal.write(Event::Plan {
        plan: planned.plan_json,
    })?;
    for s in skipped {
        journal.write(Event::Skipped {
            axis: s.axis,
            value: s.value,
            reason: s.reason,
        })?;
    }

    let limit = args.max_steps.map_or(planned.steps.len(), |n| n.min(planned.steps.len()));
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
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(async {
        let baseline = match snapshot(&mut target).await {
            Ok(b) => b,
            Err(source) => {
                console.journal.write(Event::TargetFailed {
                    step: None,
                    error: source.to_string(),
                })?;
                return Err(RunError::Target { step: None, source });
            }
        };
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
    });
    console.progress.finish();
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: the run could not finish: {e}");
            eprintln!("journal: {}", journal_path.display());
            eprintln!("seed {seed} · replay: {replay}");
            return Ok(EXIT_USAGE);
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
    Ok(outcome.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_and_wraps_the_rest() {
        assert_eq!(quote("--fault"), "--fault");
        assert_eq!(quote("strategies/x.toml"), "strategies/x.toml");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
