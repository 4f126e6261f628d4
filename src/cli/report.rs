//! `canary report DIR [DIR...]`: re-derive the reports of a run from its journal alone, or
//! merge the runs of several shards into one report.

use std::path::PathBuf;

use super::EXIT_OK;
use crate::report::{Report, default_merge_dir};

/// Arguments of `canary report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories (each holding the `journal.jsonl` a run wrote). One directory: its
    /// reports are rewritten in place. Several (the shards of one plan, one per box): one
    /// merged report with the union of their coverage.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// Where to write the reports [default: the run directory for one run;
    /// `merged-<run ids>` beside the first directory for several].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let report = Report::read(&args.dirs)?;
    let out = match (&args.out, args.dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [_]) => report.runs[0].dir.clone(),
        (None, _) => default_merge_dir(&report),
    };
    let files = report.write(&out)?;
    for run in &report.runs {
        for w in &run.warnings {
            eprintln!("warning: {}: {w}", run.dir.display());
        }
        if run.run_end.is_none() {
            eprintln!(
                "INCOMPLETE {}: the run did not finish (no run_end line): {}",
                run.id(),
                run.progress()
            );
        }
    }
    let cov = &report.coverage;
    let steps: usize = report.runs.iter().map(|r| r.steps.len()).sum();
    let failed: usize = report.runs.iter().map(|r| r.verdicts_failed()).sum();
    println!(
        "{} run{}, {steps} steps, {failed} failed verdicts; tuples {}/{}, transitions {}/{}",
        report.runs.len(),
        if report.runs.len() == 1 { "" } else { "s" },
        cov.tuples_covered(),
        cov.goals.tuples.len(),
        cov.transitions_covered(),
        cov.goals.transitions.len()
    );
    println!("{}", report.coverage_line());
    for f in files.all() {
        println!("wrote {}", f.display());
    }
    Ok(EXIT_OK)
}
