//! Progress output of a run: a bar on a terminal (the step, the coverage reached, an ETA from
//! measured step times), plain lines when stdout is not a terminal or `CI` is set.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::StepReport;
use crate::model::Model;
use crate::plan::Step;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar redrawn in place.
    Bar,
    /// One line per step at most once a second, plus every failing step.
    Plain,
    /// Nothing (tests, the fuzzer).
    Hidden,
}

impl ProgressMode {
    /// A bar on an interactive terminal; plain lines in CI (`CI` set) or when piped.
    pub fn for_stdout() -> ProgressMode {
        if std::env::var_os("CI").is_some() || !std::io::stdout().is_terminal() {
            ProgressMode::Plain
        } else {
            ProgressMode::Bar
        }
    }
}

/// Fraction of the walk's coverage reached after each step: the values, value pairs and
/// value changes (per axis, on effective configs) the applies reached so far over all those
/// the whole walk's applies reach. The last entry is 1.0 for a walk with an apply, 0.0 for a
/// walk of operations only.
pub fn coverage_curve(model: &Model, start: &crate::model::Config, steps: &[Step]) -> Vec<f64> {
    let mut seen: HashSet<u64> = HashSet::new();
    let mut counts = Vec::with_capacity(steps.len());
    let mut prev = model.effective(start);
    for step in steps {
        // Coverage is what applies reach (as in the plan and the reports): an operation earns
        // none, though the next apply starts from where it left the box.
        if step.op.is_some() {
            prev = step.effective.clone();
            counts.push(seen.len());
            continue;
        }
        let c = &step.effective.0;
        for a in 0..c.len() {
            seen.insert(key(0, a, c[a], 0, 0));
            for b in a + 1..c.len() {
                seen.insert(key(1, a, c[a], b, c[b]));
            }
            if prev.0[a] != c[a] {
                seen.insert(key(2, a, prev.0[a], a, c[a]));
            }
        }
        prev = step.effective.clone();
        counts.push(seen.len());
    }
    let total = seen.len().max(1) as f64;
    counts.into_iter().map(|n| n as f64 / total).collect()
}

fn key(kind: u64, a: usize, va: u16, b: usize, vb: u16) -> u64 {
    kind << 60 | (a as u64 & 0xfff) << 44 | (va as u64) << 28 | (b as u64 & 0xfff) << 16 | vb as u64
}

/// Shows a run's progress.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    total: usize,
    coverage: Vec<f64>,
    /// Predicted cost per step (seconds, floored), to weigh the ETA: a monerod recreate takes
    /// far longer than a caddy restart.
    costs: Vec<f64>,
    done_cost: f64,
    spent: Duration,
    failed_steps: usize,
    last_line: Option<Instant>,
}

impl Progress {
    /// Progress for a walk of `steps` starting from `start`.
    pub fn new(
        model: &Model,
        start: &crate::model::Config,
        steps: &[Step],
        mode: ProgressMode,
    ) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(steps.len() as u64),
                ProgressDrawTarget::stdout(),
            );
            bar.set_style(
                ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:30}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Progress {
            mode,
            bar,
            total: steps.len(),
            coverage: coverage_curve(model, start, steps),
            costs: steps.iter().map(|s| s.prediction.cost.max(1.0)).collect(),
            done_cost: 0.0,
            spent: Duration::ZERO,
            failed_steps: 0,
            last_line: None,
        }
    }

    /// The estimated wall time left: the predicted cost of the steps left, at the measured
    /// wall time per unit of predicted cost so far.
    pub fn eta(&self, done: usize) -> Option<Duration> {
        if self.done_cost <= 0.0 || done == 0 {
            return None;
        }
        let left: f64 = self.costs.get(done..).map_or(0.0, |c| c.iter().sum());
        Some(self.spent.mul_f64(left / self.done_cost))
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(line),
            (None, ProgressMode::Hidden) => {}
            (None, _) => println!("{line}"),
        }
    }

    /// Advances past a finished step.
    pub fn step_done(&mut self, report: &StepReport<'_>) {
        let done = report.index + 1;
        self.done_cost += self.costs.get(report.index).copied().unwrap_or(1.0);
        self.spent += report.wall;
        if !report.passed() {
            self.failed_steps += 1;
        }
        let coverage = self.coverage.get(report.index).copied().unwrap_or(1.0) * 100.0;
        let eta = self.eta(done).map_or("?".to_string(), |d| {
            humantime::format_duration(round(d)).to_string()
        });
        let msg = format!(
            "walk coverage {coverage:.0}% · {} failed · ready in {:.0}s · eta {eta}",
            self.failed_steps, report.ready.seconds
        );
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                    bar.set_message(msg);
                }
            }
            ProgressMode::Plain => {
                let due = self
                    .last_line
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
                if due || !report.passed() || done == self.total {
                    println!(
                        "step {done}/{} {} · {msg}",
                        self.total,
                        if report.passed() { "ok" } else { "FAILED" }
                    );
                    self.last_line = Some(Instant::now());
                }
            }
            ProgressMode::Hidden => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_grows_to_one_and_counts_only_new_items() {
        let (m, s, d) = crate::run::test_start();
        let a = m.config_from_labels(&d, [("p2pool.pool", "main")]).unwrap();
        let steps = super::super::steps_from(&m, &s, &d, [a.clone(), a, d.clone()]);
        let c = coverage_curve(&m, &d, &steps);
        assert_eq!(c.len(), 3);
        assert!(c[0] > 0.0 && c[0] < 1.0);
        // Re-applying the same config covers nothing new.
        assert_eq!(c[0], c[1]);
        assert_eq!(c[2], 1.0);
    }
}
