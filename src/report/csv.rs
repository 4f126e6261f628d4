//! `steps.csv` (one row per step) and `coverage.csv` (one row per required tuple and
//! transition), for spreadsheets and scripts.

use std::io::Write;

use super::{Report, join_values};

fn fmt_secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.3}")).unwrap_or_default()
}

fn fmt_opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_err(e: ::csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// Column names of `steps.csv`.
pub const STEP_COLUMNS: [&str; 21] = [
    "run",
    "step",
    "does",
    "status",
    "changed",
    "recreated",
    "restarted",
    "created",
    "removed",
    "containers_from",
    "time_to_ready_s",
    "ready_reached",
    "fault_reached",
    "time_to_fault_s",
    "apply_exit",
    "apply_s",
    "second_apply_exit",
    "verdicts_passed",
    "verdicts_failed",
    "failed_checks",
    "step_s",
];

/// One row per step of every run. Lists inside a cell are separated by `; ` (changed values)
/// or a space (container names); `containers_from` says whether the container columns were
/// observed (diff of two observations) or predicted (first step of a run).
pub fn write_steps(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(STEP_COLUMNS).map_err(csv_err)?;
    for run in &report.runs {
        let id = run.id();
        for (i, s) in run.steps.iter().enumerate() {
            let changed = run
                .changed_values(i)
                .iter()
                .map(|(a, v)| format!("{a}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let c = s.containers.clone().unwrap_or_default();
            let failed: Vec<&str> = s.failures.iter().map(|f| f.check.as_str()).collect();
            w.write_record([
                id.clone(),
                s.step.to_string(),
                s.operation.clone().unwrap_or_else(|| "apply".to_string()),
                s.status().as_str().to_string(),
                changed,
                c.recreated.join(" "),
                c.restarted.join(" "),
                c.created.join(" "),
                c.removed.join(" "),
                if c.observed { "observed" } else { "predicted" }.to_string(),
                fmt_secs(s.ready_seconds),
                fmt_opt(s.ready_reached),
                fmt_opt(s.fault_reached),
                fmt_secs(s.fault_seconds),
                fmt_opt(s.apply_exit),
                fmt_secs(s.apply_seconds),
                fmt_opt(s.second_apply_exit),
                s.passed_count().to_string(),
                s.failed_count().to_string(),
                failed.join(" "),
                fmt_secs(s.end.map(|e| e.1)),
            ])
            .map_err(csv_err)?;
        }
    }
    w.flush()
}

/// One row per required goal: `kind` (`tuple` or `transition`), `goal` (`a=x, b=y` or
/// `axis: from -> to`), `covered` (`true`/`false`) and the run and step that first covered it.
pub fn write_coverage(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let cov = &report.coverage;
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(["kind", "goal", "covered", "run", "step"])
        .map_err(csv_err)?;
    let at_fields = |at: &Option<super::StepAt>| match at {
        Some(at) => (report.run_id(*at), at.step.to_string()),
        None => (String::new(), String::new()),
    };
    for (t, at) in cov.goals.tuples.iter().zip(&cov.tuples) {
        let (run, step) = at_fields(at);
        w.write_record([
            "tuple",
            &join_values(t),
            if at.is_some() { "true" } else { "false" },
            &run,
            &step,
        ])
        .map_err(csv_err)?;
    }
    for (x, at) in cov.goals.transitions.iter().zip(&cov.transitions) {
        let (run, step) = at_fields(at);
        w.write_record([
            "transition",
            &format!("{}: {} -> {}", x.axis, x.from, x.to),
            if at.is_some() { "true" } else { "false" },
            &run,
            &step,
        ])
        .map_err(csv_err)?;
    }
    for ((op, class), at) in cov.goals.operations.iter().zip(&cov.operations) {
        let (run, step) = at_fields(at);
        let goal = if class.is_empty() {
            op.clone()
        } else {
            format!("{op} @ {}", join_values(class))
        };
        w.write_record([
            "operation",
            &goal,
            if at.is_some() { "true" } else { "false" },
            &run,
            &step,
        ])
        .map_err(csv_err)?;
    }
    w.flush()
}
