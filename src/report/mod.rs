//! Reports derived from a run's journal alone: `steps.csv`, `coverage.csv`, `junit.xml`,
//! `summary.json` and `report.html`, one module per format. The journal is read once, streaming,
//! into a [`RunDigest`] per run; several runs (the shards of one plan, one per box) merge into
//! one [`Report`] whose coverage is the union of theirs and whose steps and failures keep the run
//! they came from.
//!
//! Nothing here reads anything but journals: the journal is already redacted, so a report can
//! never show a secret the journal does not hold.

mod coverage;
mod csv;
mod digest;
mod html;
mod junit;
mod summary;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use coverage::{Coverage, GoalSource, Goals, PairCell, StepAt, Transition, Tuple};
pub use digest::{
    Containers, Failure, Manifest, PlanDigest, RunDigest, RunEnd, RunStatus, Skipped, StepDigest,
    StepStatus, read_run,
};

/// The journal's file name inside a run directory.
pub const JOURNAL: &str = "journal.jsonl";

/// Why reports could not be derived.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: no such run directory (give the directory a run wrote, e.g. reports/<run-id>)", path.display())]
    NoRunDir { path: PathBuf },
    #[error("{}: cannot open the journal: {source} (is this a run directory? runs write {JOURNAL} there)", path.display())]
    NoJournal {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the journal is empty: the run wrote nothing; run it again", path.display())]
    EmptyJournal { path: PathBuf },
    #[error("{}:{line}: {message} (the journal is corrupt at this line; a journal is written only by `canary run`)", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "runs of different models cannot be merged: {first} and {other}; merge only the shards of one plan"
    )]
    MixedModels {
        /// The first run: `id (model NAME, sha256 HASH)`.
        first: String,
        /// The run that differs, in the same form.
        other: String,
    },
    #[error("no run directories given")]
    NoRuns,
}

/// The files written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    pub steps_csv: PathBuf,
    pub coverage_csv: PathBuf,
    pub junit_xml: PathBuf,
    pub summary_json: PathBuf,
    pub report_html: PathBuf,
}

impl ReportFiles {
    fn in_dir(dir: &Path) -> ReportFiles {
        ReportFiles {
            steps_csv: dir.join("steps.csv"),
            coverage_csv: dir.join("coverage.csv"),
            junit_xml: dir.join("junit.xml"),
            summary_json: dir.join("summary.json"),
            report_html: dir.join("report.html"),
        }
    }

    /// Every file, in a fixed order.
    pub fn all(&self) -> [&Path; 5] {
        [
            &self.steps_csv,
            &self.coverage_csv,
            &self.junit_xml,
            &self.summary_json,
            &self.report_html,
        ]
    }
}

/// One or more runs and their joint coverage: what every format renders.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub runs: Vec<RunDigest>,
    pub coverage: Coverage,
}

impl Report {
    /// Digests the journal of each run directory (or `journal.jsonl` path) and merges them.
    pub fn read(run_dirs: &[PathBuf]) -> Result<Report, ReportError> {
        let mut runs = Vec::with_capacity(run_dirs.len());
        for dir in run_dirs {
            // The journal itself named instead of its directory: take its directory.
            let dir = match dir.parent() {
                Some(parent) if dir.is_file() && dir.file_name() == Some(JOURNAL.as_ref()) => {
                    if parent.as_os_str().is_empty() {
                        Path::new(".").to_path_buf()
                    } else {
                        parent.to_path_buf()
                    }
                }
                _ => dir.clone(),
            };
            let dir = &dir;
            if !dir.is_dir() {
                return Err(ReportError::NoRunDir { path: dir.clone() });
            }
            runs.push(read_run(dir, &dir.join(JOURNAL))?);
        }
        Report::merge(runs)
    }

    /// Merges digested runs: the union of their goals, marked by all their steps.
    pub fn merge(runs: Vec<RunDigest>) -> Result<Report, ReportError> {
        let Some(first) = runs.first() else {
            return Err(ReportError::NoRuns);
        };
        for other in &runs[1..] {
            let (a, b) = (&first.manifest, &other.manifest);
            if !a.model_hash.is_empty() && !b.model_hash.is_empty() && a.model_hash != b.model_hash
            {
                let show = |r: &RunDigest| {
                    format!(
                        "{} (model {}, sha256 {})",
                        r.id(),
                        r.manifest.model,
                        r.manifest.model_hash
                    )
                };
                return Err(ReportError::MixedModels {
                    first: show(first),
                    other: show(other),
                });
            }
        }
        let goals = Goals::union(
            runs.iter()
                .map(|r| {
                    let options = serde_json::to_value(&r.manifest.options).unwrap_or_default();
                    Goals::of_plan(r.plan.as_ref(), &options)
                })
                .collect(),
        );
        let coverage = Coverage::compute(goals, &runs);
        Ok(Report { runs, coverage })
    }

    /// The run id of a covering step, for people.
    pub fn run_id(&self, at: StepAt) -> String {
        self.runs[at.run].id()
    }

    /// The coverage as one console line, with the same figures as `summary.json`: goals
    /// covered of required, and apart from them the goals no valid config can reach.
    pub fn coverage_line(&self) -> String {
        let cov = &self.coverage;
        let g = &cov.goals;
        let mut line = format!(
            "coverage: {}/{} {}-way tuples, {}/{} value changes",
            cov.tuples_covered(),
            g.tuples.len(),
            g.strength,
            cov.transitions_covered(),
            g.transitions.len()
        );
        if g.tuples_infeasible + g.transitions_infeasible > 0 {
            line.push_str(&format!(
                "; infeasible under the constraints (not goals, not covered): {} tuples, {} value \
                 changes",
                g.tuples_infeasible, g.transitions_infeasible
            ));
        }
        line
    }

    /// Writes every format into `dir` (created if missing), each file replaced atomically.
    pub fn write(&self, dir: &Path) -> Result<ReportFiles, ReportError> {
        fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let files = ReportFiles::in_dir(dir);
        write_atomic(&files.steps_csv, |w| csv::write_steps(self, w))?;
        write_atomic(&files.coverage_csv, |w| csv::write_coverage(self, w))?;
        write_atomic(&files.junit_xml, |w| junit::write(self, w))?;
        write_atomic(&files.summary_json, |w| summary::write(self, w))?;
        write_atomic(&files.report_html, |w| html::write(self, w))?;
        Ok(files)
    }
}

/// Derives every report of one run from `run_dir/journal.jsonl` alone and writes them next
/// to it.
pub fn write_reports(run_dir: &Path) -> Result<ReportFiles, ReportError> {
    Report::read(&[run_dir.to_path_buf()])?.write(run_dir)
}

/// Like [`write_reports`], also returning the report for the console's figures.
pub fn derive_reports(run_dir: &Path) -> Result<(Report, ReportFiles), ReportError> {
    let report = Report::read(&[run_dir.to_path_buf()])?;
    let files = report.write(run_dir)?;
    Ok((report, files))
}

/// Merges the runs of several shards into one report written into `out`.
pub fn merge_reports(run_dirs: &[PathBuf], out: &Path) -> Result<ReportFiles, ReportError> {
    Report::read(run_dirs)?.write(out)
}

/// Where a merged report goes by default: `merged-<id>-<id>...` beside the first run
/// directory (ids shortened when there are many shards).
pub fn default_merge_dir(report: &Report) -> PathBuf {
    let first = &report.runs[0].dir;
    let parent = first
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ids: Vec<String> = report.runs.iter().map(|r| file_safe(&r.id())).collect();
    let mut name = format!("merged-{}", ids.join("-"));
    if name.len() > 96 {
        name = format!("merged-{}-and-{}-more", ids[0], ids.len() - 1);
    }
    parent.join(name)
}

fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_atomic(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = fs::File::create(&tmp).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    render(&mut out).map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    fs::rename(&tmp, path).map_err(io)
}

/// Text made safe for XML 1.0 (and HTML): characters XML cannot hold at all (most control
/// characters, e.g. the ANSI colour escapes of a CLI's output) become U+FFFD. Markup
/// characters are left for the writer to escape.
pub(crate) fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if text.chars().any(bad) {
        text.chars()
            .map(|c| if bad(c) { '\u{fffd}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// `axis=value` pairs joined for one line.
pub(crate) fn join_values(values: &[(String, String)]) -> String {
    values
        .iter()
        .map(|(a, v)| format!("{a}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON value on one line, strings without their quotes.
pub(crate) fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
