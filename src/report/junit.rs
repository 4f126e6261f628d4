//! `junit.xml`: one `<testsuite>` per run, one `<testcase>` per step and check, for CI
//! dashboards. The classname is the step with its changed values, the name the check; a
//! failure carries observed and expected in its message and the replay command in its body.
//! Skipped (gated) values appear as skipped test cases so dashboards show them too. A run that
//! did not finish (no `run_end` line) carries one more failing case, `run: finished`, so a
//! dashboard never shows it green.

use std::io::Write;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Failure, Report, RunDigest, StepStatus, join_values, show, xml_safe};

/// Classname and name of the case an unfinished run fails.
const RUN_CASE: (&str, &str) = ("run", "finished");

/// Longest failure `message` attribute; the full values are in the failure's body.
const MESSAGE_MAX: usize = 400;

/// The classname of step `i` of `run`: `step N: a=x, b=y`.
pub fn classname(run: &RunDigest, i: usize) -> String {
    let changed = run.changed_values(i);
    let step = run.steps[i].step;
    if let Some(op) = &run.steps[i].operation {
        format!("step {step}: operation {op}")
    } else if changed.is_empty() {
        format!("step {step}")
    } else {
        format!("step {step}: {}", join_values(&changed))
    }
}

/// The one-line failure message: observed, expected and the check's own message.
pub fn failure_message(f: &Failure) -> String {
    let mut m = format!(
        "observed {}, expected {}",
        show(&f.observed),
        show(&f.expected)
    );
    if !f.message.is_empty() {
        m = format!("{}: {m}", f.message);
    }
    one_line(&m, MESSAGE_MAX)
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn start<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut s = BytesStart::new(name);
    for (k, v) in attrs {
        s.push_attribute((*k, &*xml_safe(v)));
    }
    s
}

/// Writes the JUnit XML of `report`.
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let tests: usize = report.runs.iter().map(cases).sum();
    let failures: usize = report.runs.iter().map(failed_cases).sum();
    let time: f64 = report.runs.iter().map(run_seconds).sum();
    w.write_event(Event::Start(start(
        "testsuites",
        &[
            ("name", "canary"),
            ("tests", &tests.to_string()),
            ("failures", &failures.to_string()),
            ("errors", "0"),
            ("time", &format!("{time:.3}")),
        ],
    )))?;
    for run in &report.runs {
        suite(&mut w, run)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    w.into_inner().write_all(b"\n")
}

/// Test cases of a run: a check per verdict, one for a step without verdicts, one per skip.
fn cases(run: &RunDigest) -> usize {
    let steps: usize = run.steps.iter().map(|s| s.verdicts.len().max(1)).sum();
    steps + run.skipped.len() + usize::from(run.run_end.is_none())
}

fn failed_cases(run: &RunDigest) -> usize {
    run.steps
        .iter()
        .map(|s| {
            if s.verdicts.is_empty() {
                usize::from(s.status() != StepStatus::Passed)
            } else {
                s.failed_count()
            }
        })
        .sum::<usize>()
        + usize::from(run.run_end.is_none())
}

fn run_seconds(run: &RunDigest) -> f64 {
    run.steps.iter().filter_map(|s| s.end.map(|e| e.1)).sum()
}

fn suite(w: &mut Writer<&mut dyn Write>, run: &RunDigest) -> std::io::Result<()> {
    let id = run.id();
    let m = &run.manifest;
    w.write_event(Event::Start(start(
        "testsuite",
        &[
            ("name", &format!("canary {id}")),
            ("tests", &cases(run).to_string()),
            ("failures", &failed_cases(run).to_string()),
            ("errors", "0"),
            ("skipped", &run.skipped.len().to_string()),
            ("time", &format!("{:.3}", run_seconds(run))),
        ],
    )))?;
    w.write_event(Event::Start(BytesStart::new("properties")))?;
    let props = [
        ("run_id", id.as_str()),
        ("seed", &m.seed),
        ("model", &m.model),
        ("model_hash", &m.model_hash),
        ("target", &m.target),
        ("tool_version", &m.tool_version),
        ("replay", &m.replay),
    ];
    for (name, value) in props {
        w.write_event(Event::Empty(start(
            "property",
            &[("name", name), ("value", value)],
        )))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))?;

    for (i, s) in run.steps.iter().enumerate() {
        let class = classname(run, i);
        if s.verdicts.is_empty() {
            let attrs = [("classname", class.as_str()), ("name", "step")];
            match s.status() {
                StepStatus::Passed => w.write_event(Event::Empty(start("testcase", &attrs)))?,
                status => {
                    let message = match (status, s.apply_exit) {
                        (StepStatus::Unfinished, _) => "the step did not finish".to_string(),
                        (_, Some(code)) if code != 0 => format!("apply exited {code}"),
                        _ => "the step failed".to_string(),
                    };
                    let mut body = message.clone();
                    if let Some(out) = &s.apply_output {
                        body.push_str("\napply output:\n");
                        body.push_str(out);
                    }
                    body.push_str(&format!("\nreplay: {}", m.replay));
                    failing_case(w, &attrs, &message, &body)?;
                }
            }
            continue;
        }
        let mut failures = s.failures.iter();
        for &(check, passed) in &s.verdicts {
            let name = &run.checks[check as usize];
            let attrs = [("classname", class.as_str()), ("name", name.as_str())];
            if passed {
                w.write_event(Event::Empty(start("testcase", &attrs)))?;
                continue;
            }
            // Failures are stored in verdict order, so the next one is this check's.
            let Some(f) = failures.next() else { continue };
            let body = format!(
                "{}\nobserved: {}\nexpected: {}\nreplay: {}",
                if f.message.is_empty() {
                    &f.check
                } else {
                    &f.message
                },
                pretty(&f.observed),
                pretty(&f.expected),
                m.replay
            );
            failing_case(w, &attrs, &failure_message(f), &body)?;
        }
    }
    if run.run_end.is_none() {
        let message = format!(
            "the run did not finish (no run_end line): {}",
            run.progress()
        );
        let body = format!("{message}\nreplay: {}", m.replay);
        failing_case(
            w,
            &[("classname", RUN_CASE.0), ("name", RUN_CASE.1)],
            &message,
            &body,
        )?;
    }
    for sk in &run.skipped {
        let name = format!("{}={}", sk.axis, sk.value);
        w.write_event(Event::Start(start(
            "testcase",
            &[("classname", "skipped"), ("name", &name)],
        )))?;
        w.write_event(Event::Empty(start("skipped", &[("message", &sk.reason)])))?;
        w.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))
}

/// How a drift failure's message starts (`check: message`), its JUnit type being `drift`.
const DRIFT_PREFIX: &str = "the box's CLI refuses";

fn failing_case(
    w: &mut Writer<&mut dyn Write>,
    attrs: &[(&str, &str)],
    message: &str,
    body: &str,
) -> std::io::Result<()> {
    w.write_event(Event::Start(start("testcase", attrs)))?;
    w.write_event(Event::Start(start(
        "failure",
        &[
            ("message", message),
            // Drift (the box's CLI refuses a planned value) is its own failure type.
            (
                "type",
                if message.starts_with(DRIFT_PREFIX) {
                    "drift"
                } else if attrs.first() == Some(&("classname", RUN_CASE.0)) {
                    "incomplete"
                } else {
                    "verdict"
                },
            ),
        ],
    )))?;
    w.write_event(Event::Text(BytesText::new(&xml_safe(body))))?;
    w.write_event(Event::End(BytesEnd::new("failure")))?;
    w.write_event(Event::End(BytesEnd::new("testcase")))
}
