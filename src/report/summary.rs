//! `summary.json`: what a script needs to know about a run (or merged shards) without reading
//! the journal: the manifest fields, counts, coverage figures and each failure with the
//! command that replays its run.
//!
//! Shape: `model`, `model_hash`, `runs` (one object per run: `run_id`, `seed`, `target`,
//! `tool_version`, `faults`, `replay`, `finished`, `status`, `passed`, counts), `counts`,
//! `coverage`, `status` (`passed`, `failed` or `incomplete`), `passed`, `failures`, `skipped`,
//! `warnings`; each run's `preflight` (a box run's compose file against the model: `status`,
//! `drift`, or null); for a single run, `run_id`, `seed`, `target` and `replay`
//! are also at the top level.

use std::io::Write;

use serde_json::{Value, json};

use super::{Report, RunDigest, RunStatus, StepStatus};

fn ratio(covered: usize, required: usize) -> Value {
    if required == 0 {
        Value::Null
    } else {
        json!((covered as f64 / required as f64 * 10_000.0).round() / 10_000.0)
    }
}

fn run_json(run: &RunDigest) -> Value {
    let m = &run.manifest;
    json!({
        "run_id": run.id(),
        "dir": run.dir.display().to_string(),
        "seed": m.seed,
        "target": m.target,
        "tool_version": m.tool_version,
        "under_test": m.under_test,
        "faults": m.faults,
        "replay": m.replay,
        "finished": run.run_end.is_some(),
        "status": run.status().as_str(),
        "passed": run.status() == RunStatus::Passed,
        "exit_code": run.run_end.as_ref().map(|e| e.exit_code),
        "planned_steps": run.plan.as_ref().and_then(|p| p.planned_steps),
        "steps": run.steps.len(),
        "steps_done": run.steps_done(),
        "steps_failed": run.steps_failed(),
        "verdicts_passed": run.verdicts_passed(),
        "verdicts_failed": run.verdicts_failed(),
        "verdicts_drift": run.verdicts_drift(),
        "preflight": run.preflight,
    })
}

/// The summary as a JSON value.
pub fn summary(report: &Report) -> Value {
    let cov = &report.coverage;
    let first = &report.runs[0].manifest;
    let mut failures = Vec::new();
    for run in &report.runs {
        for (i, s) in run.steps.iter().enumerate() {
            let changed: serde_json::Map<String, Value> = run
                .changed_values(i)
                .into_iter()
                .map(|(a, v)| (a, Value::String(v)))
                .collect();
            for f in &s.failures {
                failures.push(json!({
                    "run_id": run.id(),
                    "step": s.step,
                    "changed": changed,
                    "check": f.check,
                    "observed": f.observed,
                    "expected": f.expected,
                    "message": f.message,
                    "replay": run.manifest.replay,
                }));
            }
            if s.failures.is_empty() && s.status() != StepStatus::Passed {
                failures.push(json!({
                    "run_id": run.id(),
                    "step": s.step,
                    "changed": changed,
                    "check": "step",
                    "observed": s.status().as_str(),
                    "expected": "passed",
                    "message": match s.apply_exit {
                        Some(code) if code != 0 => format!("apply exited {code}"),
                        _ => format!("the step is {}", s.status().as_str()),
                    },
                    "replay": run.manifest.replay,
                }));
            }
        }
        // A run that stopped, or ended failed, without a failing step is still not a pass.
        if run.steps_failed() == 0 && run.status() != RunStatus::Passed {
            let (observed, message) = match &run.run_end {
                None => (
                    RunStatus::Incomplete.as_str(),
                    format!(
                        "the run did not finish (no run_end line): {}",
                        run.progress()
                    ),
                ),
                Some(e) => (
                    RunStatus::Failed.as_str(),
                    format!("the run ended failed, exit code {}", e.exit_code),
                ),
            };
            failures.push(json!({
                "run_id": run.id(),
                "step": Value::Null,
                "changed": {},
                "check": "run",
                "observed": observed,
                "expected": "passed",
                "message": message,
                "replay": run.manifest.replay,
            }));
        }
    }
    let mut status = RunStatus::worst(report.runs.iter().map(RunDigest::status));
    if status == RunStatus::Passed && !failures.is_empty() {
        status = RunStatus::Failed;
    }
    let skipped: Vec<Value> = report
        .runs
        .iter()
        .flat_map(|r| {
            r.skipped.iter().map(move |s| {
                json!({"run_id": r.id(), "axis": s.axis, "value": s.value, "reason": s.reason})
            })
        })
        .collect();
    let warnings: Vec<Value> = report
        .runs
        .iter()
        .flat_map(|r| {
            r.warnings
                .iter()
                .map(move |w| json!({"run_id": r.id(), "warning": w}))
        })
        .collect();
    let (tc, tr) = (cov.tuples_covered(), cov.goals.tuples.len());
    let (xc, xr) = (cov.transitions_covered(), cov.goals.transitions.len());
    let mut out = json!({
        "model": first.model,
        "model_hash": first.model_hash,
        "runs": report.runs.iter().map(run_json).collect::<Vec<_>>(),
        "counts": {
            "runs": report.runs.len(),
            "steps": report.runs.iter().map(|r| r.steps.len()).sum::<usize>(),
            "steps_failed": report.runs.iter().map(RunDigest::steps_failed).sum::<usize>(),
            "verdicts_passed": report.runs.iter().map(RunDigest::verdicts_passed).sum::<usize>(),
            "verdicts_failed": report.runs.iter().map(RunDigest::verdicts_failed).sum::<usize>(),
            "skipped": skipped.len(),
        },
        "coverage": {
            "strength": cov.goals.strength,
            "tuples": {"required": tr, "covered": tc, "ratio": ratio(tc, tr),
                       "infeasible": cov.goals.tuples_infeasible,
                       "goals_from": cov.goals.tuples_from.as_str()},
            "transitions": {"required": xr, "covered": xc, "ratio": ratio(xc, xr),
                            "infeasible": cov.goals.transitions_infeasible,
                            "goals_from": cov.goals.transitions_from.as_str()},
            "operations": {"required": cov.goals.operations.len(),
                           "covered": cov.operations_covered(),
                           "ratio": ratio(cov.operations_covered(), cov.goals.operations.len())},
        },
        "status": status.as_str(),
        "passed": status == RunStatus::Passed,
        "failures": failures,
        "skipped": skipped,
        "warnings": warnings,
    });
    if let [run] = report.runs.as_slice() {
        let o = out.as_object_mut().expect("built as an object");
        o.insert("run_id".into(), json!(run.id()));
        o.insert("seed".into(), json!(run.manifest.seed));
        o.insert("target".into(), json!(run.manifest.target));
        o.insert("replay".into(), json!(run.manifest.replay));
    }
    out
}

/// Writes `summary.json`.
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &summary(report))?;
    out.write_all(b"\n")
}
