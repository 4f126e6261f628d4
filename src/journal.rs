//! The run journal: one JSON object per line in `journal.jsonl`, flushed after every event.
//! Every report (CSV, JUnit, JSON summary, HTML) is derived from the journal alone, and a
//! dropped run resumes from it. Each line is an [`Entry`]: a sequence number, the wall-clock
//! fields (`ts`, `wall_ms`, the only nondeterministic ones) and one [`Event`].
//!
//! Determinism contract: two runs with the same seed, model, target and options write the same
//! lines once `ts` and `wall_ms` are dropped, and the manifest's `run_id` (it names the run's
//! directory, so it carries the time the run started).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::target::{CommandResult, Observation};

/// A config as axis name → value label.
pub type Labels = BTreeMap<String, String>;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 0-based position in the journal.
    pub seq: u64,
    /// Wall-clock time the event was written (RFC 3339). Nondeterministic.
    pub ts: String,
    /// Wall-clock milliseconds since the run started. Nondeterministic.
    pub wall_ms: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// What the model predicted a step would touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Predicted {
    pub created: Vec<String>,
    pub removed: Vec<String>,
    pub recreated: Vec<String>,
    pub restarted: Vec<String>,
    pub cost: f64,
}

pub use canary_oracle::Verdict;

/// The events of a run, tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// First line: what ran, on what, with which seed.
    Manifest {
        tool_version: String,
        run_id: String,
        seed: String,
        model: String,
        model_hash: String,
        /// The model's variant (`--variant`, or detected on the box); absent: the model has
        /// none, or the journal predates variants.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        variant: String,
        target: String,
        /// What is under test (target description: version, dir, host).
        under_test: BTreeMap<String, String>,
        faults: Vec<String>,
        /// The options that shape the walk (strength, transitions, shard, max_steps...).
        options: BTreeMap<String, serde_json::Value>,
        /// One line that replays this run.
        replay: String,
    },
    /// A box run's preflight: the box's compose file compared with the model, before the
    /// first apply.
    ModelPreflight(crate::compose::preflight::Preflight),
    /// The box before the first step: a hash of its config.json (never the content, which
    /// holds credentials) and its first observation, whose fingerprint every step is held to.
    Baseline {
        config_sha256: String,
        observation: Observation,
    },
    /// The plan the run executes: the planner's JSON contract (axes, walk, skipped, coverage).
    Plan { plan: serde_json::Value },
    /// A gated value left out, with its reason (also printed as a loud SKIPPED line).
    Skipped {
        axis: String,
        value: String,
        reason: String,
    },
    /// A step begins.
    StepStart {
        step: usize,
        /// Raw config written to config.json.
        config: Labels,
        /// Config the stack should render.
        effective: Labels,
        /// Axes whose effective value changes.
        changed: Vec<String>,
        predicted: Predicted,
        /// The operation the step performs instead of an apply (`node-down`, `restore`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operation: Option<String>,
    },
    /// One command of an operation (or the `pithead down` of a cold change) finished.
    Action {
        step: usize,
        /// The command as an operator would type it (no secrets: actions take none).
        command: String,
        result: CommandResult,
        /// Target-clock seconds it took.
        seconds: f64,
    },
    /// The fault phase of an operation ended: its `during` expectations held (`reached`) or
    /// its window closed.
    Fault {
        step: usize,
        reached: bool,
        /// Target-clock seconds from the last fault action to the fault showing.
        seconds: f64,
        polls: u32,
    },
    /// `pithead apply -y` finished.
    Apply {
        step: usize,
        result: CommandResult,
        /// Target-clock seconds the apply took.
        seconds: f64,
    },
    /// Readiness polling ended.
    Ready {
        step: usize,
        reached: bool,
        /// Why the wait ended (ready, settled, progressed to timeout, never answered).
        #[serde(default)]
        ended: crate::oracle::WaitEnd,
        /// Target-clock seconds from the end of the apply to ready (or to the timeout).
        seconds: f64,
        polls: u32,
    },
    /// The observation the verdicts were judged on.
    Observed {
        step: usize,
        observation: Observation,
    },
    /// The second apply that must be a no-op.
    SecondApply { step: usize, result: CommandResult },
    /// One check's verdict.
    Verdict {
        step: usize,
        #[serde(flatten)]
        verdict: Verdict,
    },
    /// A step ended.
    StepEnd {
        step: usize,
        passed: bool,
        /// Target-clock seconds for the whole step.
        seconds: f64,
    },
    /// The run stopped before the end of its walk (`--fail-fast`, `--max-steps`).
    Stopped {
        /// The last step that ran.
        after_step: usize,
        reason: String,
    },
    /// The target could not do what was asked (a lost connection, an unusable box): the run
    /// ends here, and this is not a verdict on the box.
    TargetFailed {
        /// The step it happened in; `None` while taking the baseline.
        step: Option<usize>,
        error: String,
    },
    /// A box shrink began (`run --shrink`, after the walk's `run_end`): the failing step it
    /// shrinks and its budget, so `run --resume` can finish a shrink that was interrupted.
    ShrinkStart {
        /// The walk's failing step (the sequence shrunk is the walk's steps up to it).
        step: usize,
        check: String,
        kind: String,
        max_applies: usize,
        max_time_s: f64,
        confirm_runs: usize,
        /// Where a confirmed minimum is saved.
        regressions: String,
        /// Operation groups a candidate may perform.
        operations: Vec<String>,
    },
    /// One candidate the shrink ran on the box, judged: a resumed shrink takes its verdict
    /// from here instead of running it again.
    ShrinkCandidate {
        steps: Vec<ShrinkStep>,
        passed: bool,
        /// The failing step and its signature, when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed_at: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// Steps it executed (the shrinker's cost of it).
        steps_run: usize,
        /// Applies it spent on the box, its restore to the baseline included.
        applies: usize,
    },
    /// The shrink ended (shrunk, not reproduced): nothing left to resume.
    ShrinkEnd { result: String },
    /// Last line of a run.
    RunEnd {
        passed: bool,
        steps: usize,
        verdicts_passed: usize,
        verdicts_failed: usize,
        exit_code: i32,
    },
}

/// A shrink candidate's step: an apply as every axis's label, or an operation by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ShrinkStep {
    Operation { operation: String },
    Apply(Labels),
}

/// Appends entries to a journal file, flushing each one.
pub struct JournalWriter {
    out: BufWriter<File>,
    seq: u64,
    started: std::time::Instant,
}

impl JournalWriter {
    /// Creates (truncates) the journal at `path`.
    pub fn create(path: &Path) -> std::io::Result<JournalWriter> {
        Ok(JournalWriter {
            out: BufWriter::new(File::create(path)?),
            seq: 0,
            started: std::time::Instant::now(),
        })
    }

    /// Opens an existing journal to append to it (resume), continuing its numbering. A torn
    /// last line left by a crash is cut off first.
    pub fn append(path: &Path) -> std::io::Result<JournalWriter> {
        let seq = read_journal(path)?.len() as u64;
        let text = crate::files::read_capped(path, crate::files::JOURNAL_CAP)?;
        let mut good = 0;
        for line in text.split_inclusive('\n') {
            if !line.ends_with('\n') || serde_json::from_str::<Entry>(line.trim()).is_err() {
                break;
            }
            good += line.len();
        }
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        file.set_len(good as u64)?;
        Ok(JournalWriter {
            out: BufWriter::new(file),
            seq,
            started: std::time::Instant::now(),
        })
    }

    /// Writes one event and flushes it to disk.
    pub fn write(&mut self, event: Event) -> std::io::Result<()> {
        let entry = Entry {
            seq: self.seq,
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            wall_ms: self.started.elapsed().as_millis() as u64,
            event,
        };
        serde_json::to_writer(&mut self.out, &entry)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        self.seq += 1;
        Ok(())
    }
}

/// Reads a whole journal. A truncated last line (a crash mid-write) is dropped; any other bad
/// line is an error naming its line number.
pub fn read_journal(path: &Path) -> std::io::Result<Vec<Entry>> {
    read_journal_torn(path).map(|(entries, _)| entries)
}

/// A last journal line that does not parse: a run killed while writing it.
#[derive(Debug, Clone, PartialEq)]
pub struct TornLine {
    /// 1-based line number.
    pub line: usize,
    /// What was written of it.
    pub text: String,
}

impl TornLine {
    /// The event it names, when that much was written (`"event":"apply"`).
    pub fn event(&self) -> Option<&str> {
        let rest = &self.text[self.text.find("\"event\":\"")? + 9..];
        rest.find('"').map(|end| &rest[..end])
    }

    /// The number after `"key":` when it was written whole (followed by `,` or `}`).
    pub fn number(&self, key: &str) -> Option<i64> {
        let pat = format!("\"{key}\":");
        let rest = &self.text[self.text.find(&pat)? + pat.len()..];
        let end = rest.find([',', '}'])?;
        rest[..end].trim().parse().ok()
    }
}

/// Like [`read_journal`], also returning the torn last line it dropped, if any, so a caller
/// that acts on the journal (a resume) can say so and not take the line as never written.
pub fn read_journal_torn(path: &Path) -> std::io::Result<(Vec<Entry>, Option<TornLine>)> {
    let reader = crate::files::open_capped(path, crate::files::JOURNAL_CAP)?;
    let lines: Vec<String> = reader.lines().collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => out.push(e),
            Err(_) if i + 1 == lines.len() => {
                let torn = TornLine {
                    line: i + 1,
                    text: line.clone(),
                };
                return Ok((out, Some(torn)));
            }
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}:{}: not a journal entry: {e}", path.display(), i + 1),
                ));
            }
        }
    }
    Ok((out, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut w = JournalWriter::create(&path).unwrap();
        w.write(Event::Skipped {
            axis: "monero.mode".into(),
            value: "remote".into(),
            reason: "no host".into(),
        })
        .unwrap();
        w.write(Event::StepEnd {
            step: 0,
            passed: true,
            seconds: 1.5,
        })
        .unwrap();
        drop(w);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"seq\": 2, \"ts\"");
        std::fs::write(&path, text).unwrap();
        let entries = read_journal(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(matches!(entries[1].event, Event::StepEnd { step: 0, .. }));
        let mut w = JournalWriter::append(&path).unwrap();
        assert_eq!(w.seq, 2);
        w.write(Event::StepEnd {
            step: 1,
            passed: false,
            seconds: 0.0,
        })
        .unwrap();
        drop(w);
        let entries = read_journal(&path).unwrap();
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2]);
    }
}
