//! `canary plan`: plan closed walks covering a model and print them.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::{EXIT_OK, ModelArgs};
use crate::model::{Model, OpGroup, Supplied};
use crate::plan::{self, Effort, Plan, PlanOptions};
use crate::rng::Seed;

/// Arguments of `canary plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,

    /// Cover every t-way value tuple (1 each value, 2 pairs, up to 4).
    #[arg(long, default_value_t = 2, value_name = "T")]
    pub strength: usize,

    /// Cover every ordered value change of each axis. Default: the model's setting (on for
    /// Pithead).
    #[arg(long, value_name = "BOOL")]
    pub transitions: Option<bool>,

    /// Seed: 64 hex characters or an integer. Default 0, so plans are reproducible.
    #[arg(long, default_value = "0")]
    pub seed: Seed,

    /// Split the work into N closed walks from the baseline (one box each).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub shards: usize,

    /// How hard to search: quick, thorough (10 s), or a number of seconds, which is also a
    /// limit on wall time: past it the best complete plan found so far is printed.
    #[arg(long, default_value = "quick", value_name = "quick|thorough|SECONDS")]
    pub effort: String,

    /// Operation groups to plan besides config applies: lifecycle (restart, down/up, backup,
    /// restore), faults (a node stopped, frozen or removed, an emptied token), both
    /// (`lifecycle,faults` or `all`), or none.
    #[arg(long, default_value = "none", value_name = "GROUPS")]
    pub operations: Groups,

    /// Output format: table, json or csv.
    #[arg(long, default_value = "table")]
    pub format: String,

    /// Write the plan to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The operation groups of an `--operations` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups(pub Vec<OpGroup>);

impl std::str::FromStr for Groups {
    type Err = String;
    fn from_str(s: &str) -> Result<Groups, String> {
        OpGroup::parse_list(s).map(Groups)
    }
}

fn parse_effort(s: &str) -> anyhow::Result<Effort> {
    match s {
        "quick" => Ok(Effort::Quick),
        "thorough" => Ok(Effort::Thorough { seconds: 10.0 }),
        other => match other.parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                Ok(Effort::Thorough { seconds })
            }
            _ => bail!("--effort takes quick, thorough or a number of seconds, got '{other}'"),
        },
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let format = args.format.as_str();
    if !matches!(format, "table" | "json" | "csv") {
        bail!("unknown --format '{format}': use table, json or csv");
    }
    let effort = parse_effort(&args.effort)?;
    let model = args.model.load()?;
    let supplied = args.model.supplied(&model)?;
    let options = PlanOptions {
        strength: args.strength,
        transitions: args.transitions,
        seed: args.seed,
        shards: args.shards,
        effort,
        supplied: supplied.clone(),
        baseline: None,
        operations: args.operations.0.clone(),
    };
    let plan = plan::plan(&model, &options)?;
    for s in &plan.skipped {
        eprintln!("SKIPPED {}={}: {}", s.axis, s.value, s.reason);
    }
    let bold = args.out.is_none() && std::io::stdout().is_terminal();
    let text = match format {
        "json" => {
            let mut t = serde_json::to_string_pretty(&plan.to_json(&model, &supplied))?;
            t.push('\n');
            t
        }
        "csv" => csv_text(&plan, &model)?,
        _ => table(&plan, &model, &supplied, bold),
    };
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write the plan to {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

fn table(plan: &Plan, model: &Model, supplied: &Supplied, bold: bool) -> String {
    let _ = supplied;
    let mut out = String::new();
    let mut headers: Vec<String> = vec!["step".into(), "does".into()];
    headers.extend(model.axes.iter().map(|a| a.name.clone()));
    headers.push("recreated".into());
    headers.push("cost".into());
    for (w, walk) in plan.walks.iter().enumerate() {
        if plan.walks.len() > 1 {
            let _ = writeln!(out, "walk {} of {}:", w + 1, plan.walks.len());
        }
        let mut rows: Vec<Vec<(String, bool)>> = Vec::new();
        for (i, step) in walk.steps.iter().enumerate() {
            let does = step
                .op
                .map_or("apply", |o| model.operations[o].name.as_str());
            let mut row = vec![(format!("{}", i + 1), false), (does.to_string(), false)];
            for a in 0..model.axes.len() {
                let changed = step.changed.contains(&a);
                let label = model.label(a, step.config.0[a]).to_string();
                let shown = if step.config.0[a] != step.effective.0[a] {
                    format!("{label}→{}", model.label(a, step.effective.0[a]))
                } else {
                    label
                };
                row.push((
                    if changed && !bold {
                        format!("*{shown}*")
                    } else {
                        shown
                    },
                    changed,
                ));
            }
            let p = &step.prediction;
            let mut touched: Vec<String> = p.recreated.clone();
            touched.extend(p.created.iter().map(|s| format!("+{s}")));
            touched.extend(p.removed.iter().map(|s| format!("-{s}")));
            touched.extend(p.restarted.iter().map(|s| format!("~{s}")));
            row.push((touched.join(" "), false));
            row.push((format!("{:.0}", p.cost), false));
            rows.push(row);
        }
        let widths: Vec<usize> = (0..headers.len())
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].0.chars().count())
                    .chain(std::iter::once(headers[c].chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line: Vec<String> = headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| format!("{h:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        for r in &rows {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|((text, hi), w)| {
                    let padded = format!("{text:<w$}");
                    if *hi && bold {
                        format!("\x1b[1m{padded}\x1b[0m")
                    } else {
                        padded
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        let _ = writeln!(
            out,
            "walk total: {} applies, {} operations, {:.0} s predicted",
            walk.applies(),
            walk.operations(),
            walk.cost()
        );
    }
    let c = &plan.coverage;
    let _ = writeln!(
        out,
        "coverage: {}/{} {}-way tuples, {}/{} value changes, {} infeasible tuples; {} applies (lower bound {}), {:.0} s predicted; seed {}",
        c.tuples_covered,
        c.tuples_total,
        plan.strength,
        c.transitions_covered,
        c.transitions_total,
        c.infeasible.len(),
        c.applies,
        c.lower_bound,
        c.cost,
        plan.seed
    );
    if c.operations_total > 0 || !c.operations_infeasible.is_empty() {
        let _ = writeln!(
            out,
            "operations: {}/{} (operation, state class) goals in {} operation steps; {} infeasible",
            c.operations_covered,
            c.operations_total,
            c.operation_steps,
            c.operations_infeasible.len()
        );
    }
    out
}

fn csv_text(plan: &Plan, model: &Model) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["walk".into(), "step".into(), "does".into()];
    header.extend(model.axes.iter().map(|a| a.name.clone()));
    header.extend(["changed", "recreated", "cost"].map(String::from));
    w.write_record(&header)?;
    for (wi, walk) in plan.walks.iter().enumerate() {
        for (i, step) in walk.steps.iter().enumerate() {
            let does = step
                .op
                .map_or("apply", |o| model.operations[o].name.as_str());
            let mut rec: Vec<String> =
                vec![(wi + 1).to_string(), (i + 1).to_string(), does.to_string()];
            rec.extend((0..model.axes.len()).map(|a| model.label(a, step.config.0[a]).to_string()));
            rec.push(
                step.changed
                    .iter()
                    .map(|&a| model.axes[a].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            rec.push(step.prediction.recreated.join(" "));
            rec.push(format!("{}", step.prediction.cost));
            w.write_record(&rec)?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
