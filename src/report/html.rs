//! `report.html`: one self-contained page for people. Inline CSS and SVG only: no script, no
//! font, no image, nothing fetched, so it opens the same from a CI artifact, a mail attachment
//! or a file on an air-gapped box. Every piece of text from the journal is escaped (config
//! values may hold `<`, quotes or control characters).
//!
//! The page: the manifest of each run; the headline figures; the walk as a timeline of steps
//! (bar colour = verdict, bar height = time to ready; a failed bar links to its failure); each
//! failure with observed and expected values and its replay command; the pair coverage heatmap
//! (axis × axis, shade = share of that pair's value pairs covered); the transitions covered per
//! axis; what is left uncovered; the skipped values; all steps in a folded table.

use std::fmt::Write as _;
use std::io::Write;

use super::{Report, RunDigest, RunStatus, StepDigest, StepStatus, join_values, show, xml_safe};

/// Escapes text for HTML content and attribute values alike.
pub fn esc(text: &str) -> String {
    let text = xml_safe(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ok:#2e9d5b; --bad:#d64545; --unk:#9aa0a6; --ink:#1d2330; --muted:#5f6b7a;
        --line:#e3e7ee; --bg:#f6f8fb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:18px 32px; display:flex; align-items:center;
         gap:16px; flex-wrap:wrap; }
header h1 { margin:0; font-size:22px; font-weight:650; letter-spacing:.2px; }
header .sub { color:#c5cedb; }
.badge { padding:3px 10px; border-radius:999px; font-weight:700; font-size:12px;
         letter-spacing:.6px; }
.badge.pass { background:var(--ok); } .badge.fail { background:var(--bad); }
.badge.incomplete { background:var(--unk); }
main { padding:8px 32px 40px; max-width:1400px; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 20px;
          margin:18px 0; }
h2 { font-size:17px; margin:2px 0 10px; } h3 { font-size:15px; margin:10px 0 6px; }
h4 { margin:4px 0; font-size:12px; text-transform:uppercase; color:var(--muted);
     letter-spacing:.5px; }
table { border-collapse:collapse; }
.kv td { padding:2px 14px 2px 0; vertical-align:top; }
.kv td:first-child { color:var(--muted); white-space:nowrap; }
code, pre { font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
pre { background:#f3f5f9; border:1px solid var(--line); border-radius:6px; padding:8px 10px;
      margin:0; white-space:pre-wrap; word-break:break-word; max-height:320px; overflow:auto; }
.figures { display:flex; flex-wrap:wrap; gap:12px; }
.figure { border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:150px; }
.figure .n { font-size:24px; font-weight:650; } .figure .l { color:var(--muted); font-size:12px; }
.figure.bad .n { color:var(--bad); } .figure.ok .n { color:var(--ok); }
.scroll { overflow-x:auto; }
.legend { color:var(--muted); font-size:12px; display:flex; gap:14px; align-items:center;
          flex-wrap:wrap; }
.sw { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:4px;
      vertical-align:-1px; }
svg text { font:11px system-ui,sans-serif; fill:var(--muted); }
rect.passed { fill:var(--ok); } rect.failed { fill:var(--bad); }
rect.unfinished { fill:var(--unk); }
.failure { border-left:4px solid var(--bad); padding:6px 14px 10px; margin:12px 0;
           background:#fffafa; border-radius:0 8px 8px 0; }
.failure h3 { margin:4px 0; } .failure .where { color:var(--muted); font-weight:400; }
.ov { display:grid; grid-template-columns:1fr 1fr; gap:12px; margin:8px 0; }
.replay code { background:#1d2330; color:#e8edf5; padding:3px 8px; border-radius:5px;
               display:inline-block; word-break:break-all; }
.heat td, .heat th { width:38px; height:30px; text-align:center; font-size:11px; padding:0; }
.heat th.row { text-align:right; padding-right:8px; white-space:nowrap; width:auto;
               font-weight:500; }
.heat th.col { writing-mode:vertical-rl; transform:rotate(180deg); height:auto;
               padding:6px 0; font-weight:500; white-space:nowrap; vertical-align:bottom; }
.heat td.cell { border:2px solid #fff; border-radius:4px; }
.heat td.diag { background:#eef1f5; }
.axes { display:flex; flex-wrap:wrap; gap:18px; }
.axis { border:1px solid var(--line); border-radius:8px; padding:6px 12px 10px; }
.axis h3 { font-size:13px; } .axis .frac { color:var(--muted); font-weight:400; }
.tx td, .tx th { padding:2px 6px; text-align:center; font-size:12px; }
.tx th { color:var(--muted); font-weight:500; }
.tx td.y { background:#dff3e6; color:#1e6b3e; border-radius:4px; }
.tx td.n { background:#fbe3e1; color:#a02c2c; border-radius:4px; }
.tx td.d { color:#c8ced8; }
.steps th, .steps td { border-bottom:1px solid var(--line); padding:3px 8px; text-align:left;
                       font-size:12.5px; vertical-align:top; }
.steps tr.failed td { background:#fff3f2; }
.st { font-weight:600; } .st.passed { color:var(--ok); } .st.failed { color:var(--bad); }
.st.unfinished { color:var(--unk); }
ul.plain { margin:4px 0; padding-left:18px; }
.muted { color:var(--muted); }
summary { cursor:pointer; font-weight:600; }
footer { color:var(--muted); font-size:12px; padding:0 32px 24px; }
"#;

/// Failing steps shown unfolded; the rest sit in a folded list.
const FAILURES_OPEN: usize = 10;

fn status_of(s: &StepDigest) -> StepStatus {
    s.status()
}

fn anchor(run: usize, step: usize) -> String {
    format!("f{run}-{step}")
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "—".into())
}

fn percent(covered: usize, required: usize) -> String {
    if required == 0 {
        "—".into()
    } else {
        format!("{:.1}%", covered as f64 * 100.0 / required as f64)
    }
}

/// Writes the page, streaming (a long walk's page is never held whole in memory).
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut sink = Sink { out, error: None };
    match render(report, &mut sink) {
        Ok(()) => Ok(()),
        Err(_) => Err(sink
            .error
            .unwrap_or_else(|| std::io::Error::other("formatting the report failed"))),
    }
}

/// `fmt::Write` over an `io::Write`, keeping the io error `fmt::Error` cannot carry.
struct Sink<'a> {
    out: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl std::fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

fn render(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let ids: Vec<String> = report.runs.iter().map(RunDigest::id).collect();
    // An unfinished run is INCOMPLETE, never PASSED, however many of its steps passed.
    let status = RunStatus::worst(report.runs.iter().map(RunDigest::status));
    let first = &report.runs[0].manifest;
    writeln!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>canary report — {}</title><style>{STYLE}</style></head><body>",
        esc(&ids.join(", "))
    )?;
    writeln!(
        p,
        "<header><h1>canary report</h1><span id=\"verdict\" class=\"badge {}\">{}</span>\
         <span class=\"sub\">model {} · {} · {}</span></header><main>",
        match status {
            RunStatus::Passed => "pass",
            RunStatus::Failed => "fail",
            RunStatus::Incomplete => "incomplete",
        },
        status.as_str().to_uppercase(),
        esc(&first.model),
        esc(&short_hash(&first.model_hash)),
        esc(&if ids.len() == 1 {
            format!("run {}", ids[0])
        } else {
            format!("{} runs merged", ids.len())
        }),
    )?;
    manifest(report, p)?;
    figures(report, p)?;
    timeline(report, p)?;
    failures(report, p)?;
    heatmap(report, p)?;
    transitions(report, p)?;
    uncovered(report, p)?;
    skipped(report, p)?;
    steps_table(report, p)?;
    warnings(report, p)?;
    writeln!(
        p,
        "</main><footer>Derived by canary from the run journal alone \
         (<code>journal.jsonl</code>); re-derive with <code>canary report DIR</code>.</footer>\
         </body></html>"
    )
}

fn short_hash(h: &str) -> String {
    if h.len() > 16 {
        format!("sha256 {}…", &h[..h.floor_char_boundary(16)])
    } else if h.is_empty() {
        "no model hash".into()
    } else {
        format!("sha256 {h}")
    }
}

fn manifest(report: &Report, p: &mut Sink) -> std::fmt::Result {
    writeln!(p, "<section id=\"manifest\"><h2>Runs</h2>")?;
    for run in &report.runs {
        let m = &run.manifest;
        writeln!(p, "<h3>{}</h3><table class=\"kv\">", esc(&run.id()))?;
        let mut row = |k: &str, v: String| writeln!(p, "<tr><td>{k}</td><td>{v}</td></tr>");
        row("tool version", esc(&m.tool_version))?;
        row("seed", format!("<code>{}</code>", esc(&m.seed)))?;
        row(
            "model",
            format!("{} <code>{}</code>", esc(&m.model), esc(&m.model_hash)),
        )?;
        row("target", esc(&m.target))?;
        let under: Vec<String> = m
            .under_test
            .iter()
            .map(|(k, v)| format!("{}: {}", esc(k), esc(v)))
            .collect();
        row(
            "under test",
            if under.is_empty() {
                "—".into()
            } else {
                under.join("<br>")
            },
        )?;
        row(
            "faults",
            if m.faults.is_empty() {
                "none".into()
            } else {
                esc(&m.faults.join(", "))
            },
        )?;
        if !m.options.is_empty() {
            let opts: Vec<String> = m
                .options
                .iter()
                .map(|(k, v)| format!("{}={}", k, show(v)))
                .collect();
            row("options", esc(&opts.join(" ")))?;
        }
        let state = match &run.run_end {
            Some(e) => format!("finished, exit code {}", e.exit_code),
            None => format!("did not finish (no run_end line): {}", run.progress()),
        };
        row("run", esc(&state))?;
        if let Some(pf) = &run.preflight {
            row("model preflight", preflight(pf))?;
        }
        row(
            "replay",
            format!(
                "<span class=\"replay\"><code>{}</code></span>",
                esc(&m.replay)
            ),
        )?;
        writeln!(p, "</table>")?;
    }
    writeln!(p, "</section>")
}

/// A box run's compose file against the model: agreement in one line, drift as a list with
/// both places and the fix.
fn preflight(pf: &crate::compose::preflight::Preflight) -> String {
    use crate::compose::preflight::Status;
    let files = esc(&pf.compose.join(" + "));
    match pf.status {
        Status::Agrees => format!("<span class=\"st pass\">agrees</span> with {files}"),
        Status::Unread => format!(
            "<span class=\"st fail\">not compared</span>: {}",
            esc(pf.error.as_deref().unwrap_or(""))
        ),
        Status::Drift => {
            let items: Vec<String> = pf
                .drift
                .iter()
                .map(|d| {
                    format!(
                        "<li>{} <span class=\"muted\"><code>{}</code> / <code>{}</code></span><br>fix: {}</li>",
                        esc(&d.message),
                        esc(&d.compose_at.to_string()),
                        esc(&d.model_at.to_string()),
                        esc(d.fix.lines().next().unwrap_or(""))
                    )
                })
                .collect();
            format!(
                "<span class=\"st fail\">DRIFT</span>: the model disagrees with {files} in {} place(s)<ul class=\"plain\">{}</ul>",
                pf.drift.len(),
                items.join("")
            )
        }
    }
}

fn figures(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let cov = &report.coverage;
    let steps: usize = report.runs.iter().map(|r| r.steps.len()).sum();
    let failed_steps: usize = report.runs.iter().map(RunDigest::steps_failed).sum();
    let vp: usize = report.runs.iter().map(RunDigest::verdicts_passed).sum();
    let vf: usize = report.runs.iter().map(RunDigest::verdicts_failed).sum();
    let skipped: usize = report.runs.iter().map(|r| r.skipped.len()).sum();
    let (tc, tr) = (cov.tuples_covered(), cov.goals.tuples.len());
    let (xc, xr) = (cov.transitions_covered(), cov.goals.transitions.len());
    writeln!(p, "<section id=\"figures\"><div class=\"figures\">")?;
    let mut fig = |class: &str, n: String, l: String| {
        writeln!(
            p,
            "<div class=\"figure {class}\"><div class=\"n\">{n}</div><div class=\"l\">{l}</div></div>"
        )
    };
    fig("", steps.to_string(), "steps run".into())?;
    fig(
        if failed_steps > 0 { "bad" } else { "ok" },
        failed_steps.to_string(),
        "steps failed".into(),
    )?;
    fig(
        if vf > 0 { "bad" } else { "ok" },
        format!("{vf} / {}", vp + vf),
        "verdicts failed".into(),
    )?;
    let drift: usize = report.runs.iter().map(RunDigest::verdicts_drift).sum();
    if drift > 0 {
        fig(
            "bad",
            drift.to_string(),
            "drift (values the box's CLI refuses)".into(),
        )?;
    }
    let (oc, or) = (cov.operations_covered(), cov.goals.operations.len());
    if or > 0 {
        fig(
            if oc == or { "ok" } else { "" },
            percent(oc, or),
            esc(&format!(
                "(operation, state class) goals covered ({oc} of {or})"
            )),
        )?;
    }
    fig(
        if tc == tr { "ok" } else { "" },
        percent(tc, tr),
        esc(&format!(
            "{}-way tuples covered ({tc} of {tr}, goals {})",
            cov.goals.strength,
            cov.goals.tuples_from.as_str()
        )),
    )?;
    fig(
        if xc == xr { "ok" } else { "" },
        percent(xc, xr),
        esc(&format!("transitions covered ({xc} of {xr})")),
    )?;
    fig("", skipped.to_string(), "values skipped".into())?;
    writeln!(p, "</div></section>")
}

fn timeline(report: &Report, p: &mut Sink) -> std::fmt::Result {
    writeln!(
        p,
        "<section id=\"timeline\"><h2>The walk</h2><div class=\"legend\">\
         <span><span class=\"sw\" style=\"background:var(--ok)\"></span>passed</span>\
         <span><span class=\"sw\" style=\"background:var(--bad)\"></span>failed (click for the failure)</span>\
         <span><span class=\"sw\" style=\"background:var(--unk)\"></span>unfinished</span>\
         <span>bar height: time to ready</span></div>"
    )?;
    for (r, run) in report.runs.iter().enumerate() {
        let n = run.steps.len();
        writeln!(
            p,
            "<h3>{} <span class=\"muted\">· {n} steps{}</span></h3>",
            esc(&run.id()),
            match run.plan.as_ref().and_then(|pl| pl.planned_steps) {
                Some(planned) if planned != n => format!(" of {planned} planned"),
                _ => String::new(),
            }
        )?;
        if n == 0 {
            writeln!(p, "<p class=\"muted\">No step ran.</p>")?;
            continue;
        }
        let bw = (900.0 / n as f64).clamp(3.0, 18.0);
        let gap = if bw >= 5.0 { 1.5 } else { 0.0 };
        let max_ready = run
            .steps
            .iter()
            .filter_map(|s| s.ready_seconds)
            .fold(0.0f64, f64::max);
        let (left, top, plot_h) = (44.0, 8.0, 96.0);
        let width = left + bw * n as f64 + 10.0;
        let height = top + plot_h + 22.0;
        writeln!(
            p,
            "<div class=\"scroll\"><svg class=\"walk\" data-run=\"{}\" width=\"{width:.0}\" \
             height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
             aria-label=\"timeline of {n} steps\">",
            esc(&run.id())
        )?;
        writeln!(
            p,
            "<line x1=\"{left}\" y1=\"{y}\" x2=\"{x2:.1}\" y2=\"{y}\" stroke=\"#cfd6e0\"/>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text>\
             <text x=\"{lx}\" y=\"{y}\" text-anchor=\"end\">0 s</text>",
            y = top + plot_h,
            x2 = width - 10.0,
            lx = left - 6.0,
            ty = top + 9.0,
            max = esc(&format!("{max_ready:.0} s")),
        )?;
        let label_every = (n / 12).max(1);
        for (i, s) in run.steps.iter().enumerate() {
            let status = status_of(s);
            let ready = s.ready_seconds.unwrap_or(0.0);
            let h = if max_ready > 0.0 {
                10.0 + (plot_h - 10.0) * ready / max_ready
            } else {
                10.0
            };
            let x = left + bw * i as f64;
            let changed = match &s.operation {
                Some(op) => format!("operation {op}"),
                None => join_values(&run.changed_values(i)),
            };
            let tip = format!(
                "step {} · {} · ready {} · {}{}",
                s.step,
                status.as_str(),
                secs(s.ready_seconds),
                if changed.is_empty() {
                    "no change"
                } else {
                    &changed
                },
                if s.failures.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = s.failures.iter().map(|f| f.check.as_str()).collect();
                    format!(" · failed: {}", names.join(", "))
                }
            );
            let rect = format!(
                "<rect class=\"step {}\" data-step=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" \
                 height=\"{h:.1}\" rx=\"1.5\"><title>{}</title></rect>",
                status.as_str(),
                s.step,
                top + plot_h - h,
                (bw - gap).max(1.0),
                esc(&tip)
            );
            if status == StepStatus::Failed {
                writeln!(p, "<a href=\"#{}\">{rect}</a>", anchor(r, s.step))?;
            } else {
                writeln!(p, "{rect}")?;
            }
            if i % label_every == 0 {
                writeln!(
                    p,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    x + bw / 2.0,
                    top + plot_h + 15.0,
                    s.step
                )?;
            }
        }
        writeln!(p, "</svg></div>")?;
    }
    writeln!(p, "</section>")
}

fn failures(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let count: usize = report
        .runs
        .iter()
        .flat_map(|r| &r.steps)
        .map(|s| {
            if s.failures.is_empty() {
                usize::from(s.status() != StepStatus::Passed)
            } else {
                s.failures.len()
            }
        })
        .sum();
    writeln!(
        p,
        "<section id=\"failures\"><h2>Failures <span class=\"muted\">({count})</span></h2>"
    )?;
    if count == 0 {
        writeln!(p, "<p>Every verdict passed.</p>")?;
    }
    let failing_steps: usize = report
        .runs
        .iter()
        .map(RunDigest::steps_failed)
        .sum::<usize>()
        + report
            .runs
            .iter()
            .flat_map(|r| &r.steps)
            .filter(|s| s.status() == StepStatus::Unfinished)
            .count();
    let mut shown = 0;
    for (r, run) in report.runs.iter().enumerate() {
        for (i, s) in run.steps.iter().enumerate() {
            if s.failures.is_empty() && s.status() == StepStatus::Passed {
                continue;
            }
            // A fault that fails every step must not bury the rest of the page.
            if shown == FAILURES_OPEN {
                writeln!(
                    p,
                    "<details><summary>{} more failing steps</summary>",
                    failing_steps - FAILURES_OPEN
                )?;
            }
            shown += 1;
            let changed = match &s.operation {
                Some(op) => format!("operation {op}"),
                None => join_values(&run.changed_values(i)),
            };
            let open = |p: &mut Sink, check: &str| {
                writeln!(
                    p,
                    "<article class=\"failure\" data-check=\"{}\"><h3>{} \
                     <span class=\"where\">· {} · step {}</span></h3>\
                     <p class=\"changed\">changed: <code>{}</code></p>",
                    esc(check),
                    esc(check),
                    esc(&run.id()),
                    s.step,
                    esc(if changed.is_empty() {
                        "nothing"
                    } else {
                        &changed
                    })
                )
            };
            writeln!(p, "<div id=\"{}\">", anchor(r, s.step))?;
            for f in &s.failures {
                open(p, &f.check)?;
                if !f.message.is_empty() {
                    writeln!(p, "<p class=\"msg\">{}</p>", esc(&f.message))?;
                }
                writeln!(
                    p,
                    "<div class=\"ov\"><div><h4>observed</h4><pre class=\"observed\">{}</pre></div>\
                     <div><h4>expected</h4><pre class=\"expected\">{}</pre></div></div>",
                    esc(&pretty(&f.observed)),
                    esc(&pretty(&f.expected))
                )?;
                replay(p, run)?;
            }
            if s.failures.is_empty() {
                open(p, "step")?;
                let msg = match (s.status(), s.apply_exit) {
                    (StepStatus::Unfinished, _) => "The step did not finish.".to_string(),
                    (_, Some(code)) if code != 0 => format!("The apply exited {code}."),
                    _ => "The step failed.".to_string(),
                };
                writeln!(p, "<p class=\"msg\">{}</p>", esc(&msg))?;
                if let Some(out) = &s.apply_output {
                    writeln!(p, "<h4>apply output</h4><pre>{}</pre>", esc(out))?;
                }
                replay(p, run)?;
            }
            writeln!(p, "</div>")?;
        }
    }
    if shown > FAILURES_OPEN {
        writeln!(p, "</details>")?;
    }
    writeln!(p, "</section>")
}

fn replay(p: &mut Sink, run: &RunDigest) -> std::fmt::Result {
    writeln!(
        p,
        "<p class=\"replay\">replay: <code>{}</code></p></article>",
        esc(if run.manifest.replay.is_empty() {
            "(the manifest has no replay command)"
        } else {
            &run.manifest.replay
        })
    )
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Background and text colour of a heatmap cell: red when nothing is covered, then greens
/// darkening with the share.
fn shade(covered: usize, required: usize) -> (String, &'static str) {
    if covered == 0 {
        return ("#f6d5d2".into(), "#8d2a2a");
    }
    let share = covered as f64 / required as f64;
    let light = 90.0 - 58.0 * share;
    let ink = if light < 58.0 { "#ffffff" } else { "#1d4d33" };
    (format!("hsl(145,52%,{light:.0}%)"), ink)
}

fn heatmap(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let cov = &report.coverage;
    let axes = &cov.goals.axes;
    writeln!(
        p,
        "<section id=\"heatmap\"><h2>Pair coverage</h2><p class=\"muted\">Each cell: the share \
         of the two axes' value pairs that some step's effective config held.</p>"
    )?;
    if axes.len() < 2 {
        writeln!(
            p,
            "<p class=\"muted\">Fewer than two planned axes: no pairs.</p></section>"
        )?;
        return Ok(());
    }
    writeln!(
        p,
        "<div class=\"scroll\"><table class=\"heat\"><tr><th></th>"
    )?;
    for (name, _) in &axes[..axes.len() - 1] {
        writeln!(p, "<th class=\"col\">{}</th>", esc(name))?;
    }
    writeln!(p, "</tr>")?;
    for (a, (row, _)) in axes.iter().enumerate().skip(1) {
        writeln!(p, "<tr><th class=\"row\">{}</th>", esc(row))?;
        for (b, (col, _)) in axes.iter().enumerate().take(axes.len() - 1) {
            if b >= a {
                writeln!(p, "<td></td>")?;
                continue;
            }
            let cell = cov.pairs[a][b];
            if cell.required == 0 {
                writeln!(p, "<td class=\"diag\"></td>")?;
                continue;
            }
            let (bg, ink) = shade(cell.covered, cell.required);
            let pct = (cell.covered as f64 * 100.0 / cell.required as f64).round();
            writeln!(
                p,
                "<td class=\"cell\" data-covered=\"{}\" data-required=\"{}\" \
                 style=\"background:{bg};color:{ink}\" title=\"{}\">{pct}</td>",
                cell.covered,
                cell.required,
                esc(&format!(
                    "{row} × {col}: {} of {} value pairs covered",
                    cell.covered, cell.required
                ))
            )?;
        }
        writeln!(p, "</tr>")?;
    }
    writeln!(
        p,
        "</table></div><p class=\"legend\">\
         <span><span class=\"sw\" style=\"background:#f6d5d2\"></span>none</span>\
         <span><span class=\"sw\" style=\"background:hsl(145,52%,75%)\"></span>some</span>\
         <span><span class=\"sw\" style=\"background:hsl(145,52%,32%)\"></span>all</span>\
         <span>numbers: % covered</span></p></section>"
    )
}

fn transitions(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let cov = &report.coverage;
    writeln!(
        p,
        "<section id=\"transitions\"><h2>Transitions</h2><p class=\"muted\">Every ordered value \
         change of each axis (row: from, column: to), marked with the step that made it.</p>\
         <div class=\"axes\">"
    )?;
    for (axis, values) in &cov.goals.axes {
        let (c, r) = cov.transitions_of(axis);
        if r == 0 {
            continue;
        }
        writeln!(
            p,
            "<div class=\"axis\" data-axis=\"{}\"><h3>{} <span class=\"frac\">{c}/{r}</span></h3>\
             <table class=\"tx\"><tr><th>from \\ to</th>",
            esc(axis),
            esc(axis)
        )?;
        for v in values {
            writeln!(p, "<th>{}</th>", esc(v))?;
        }
        writeln!(p, "</tr>")?;
        for from in values {
            writeln!(p, "<tr><th>{}</th>", esc(from))?;
            for to in values {
                if from == to {
                    writeln!(p, "<td class=\"d\">·</td>")?;
                    continue;
                }
                let goal = cov
                    .goals
                    .transitions
                    .iter()
                    .zip(&cov.transitions)
                    .find(|(x, _)| x.axis == *axis && x.from == *from && x.to == *to);
                match goal {
                    Some((_, Some(at))) => writeln!(
                        p,
                        "<td class=\"y\" title=\"{}\">✓ {}</td>",
                        esc(&format!("{}, step {}", report.run_id(*at), at.step)),
                        at.step
                    )?,
                    Some((_, None)) => writeln!(p, "<td class=\"n\">✗</td>")?,
                    None => writeln!(p, "<td class=\"d\">–</td>")?,
                }
            }
            writeln!(p, "</tr>")?;
        }
        writeln!(p, "</table></div>")?;
    }
    writeln!(p, "</div></section>")
}

fn uncovered(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let cov = &report.coverage;
    let tuples: Vec<String> = cov
        .goals
        .tuples
        .iter()
        .zip(&cov.tuples)
        .filter(|(_, at)| at.is_none())
        .map(|(t, _)| join_values(t))
        .collect();
    let trans: Vec<String> = cov
        .goals
        .transitions
        .iter()
        .zip(&cov.transitions)
        .filter(|(_, at)| at.is_none())
        .map(|(x, _)| format!("{}: {} → {}", x.axis, x.from, x.to))
        .collect();
    if tuples.is_empty() && trans.is_empty() {
        return writeln!(
            p,
            "<section id=\"uncovered\"><h2>Uncovered</h2><p>Every required tuple and transition \
             was covered.</p></section>"
        );
    }
    let open = if tuples.len() + trans.len() <= 40 {
        " open"
    } else {
        ""
    };
    writeln!(
        p,
        "<section id=\"uncovered\"><h2>Uncovered</h2><details{open}><summary>{} tuples, {} \
         transitions not covered</summary><ul class=\"plain\">",
        tuples.len(),
        trans.len()
    )?;
    for t in tuples.iter().chain(&trans) {
        writeln!(p, "<li><code>{}</code></li>", esc(t))?;
    }
    writeln!(p, "</ul></details></section>")
}

fn skipped(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let all: Vec<(&RunDigest, &super::Skipped)> = report
        .runs
        .iter()
        .flat_map(|r| r.skipped.iter().map(move |s| (r, s)))
        .collect();
    writeln!(p, "<section id=\"skipped\"><h2>Skipped values</h2>")?;
    if all.is_empty() {
        writeln!(p, "<p class=\"muted\">None: every value was planned.</p>")?;
    } else {
        writeln!(p, "<ul class=\"plain\">")?;
        for (run, s) in all {
            writeln!(
                p,
                "<li><code>{}={}</code> — {}{}</li>",
                esc(&s.axis),
                esc(&s.value),
                esc(&s.reason),
                if report.runs.len() > 1 {
                    format!(" <span class=\"muted\">({})</span>", esc(&run.id()))
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(p, "</ul>")?;
    }
    writeln!(p, "</section>")
}

fn steps_table(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let n: usize = report.runs.iter().map(|r| r.steps.len()).sum();
    writeln!(
        p,
        "<section id=\"steps\"><details><summary>All {n} steps</summary><div class=\"scroll\">\
         <table class=\"steps\"><tr><th>run</th><th>step</th><th>verdict</th><th>changed</th>\
         <th>recreated</th><th>restarted</th><th>ready</th><th>apply exit</th><th>checks</th>\
         <th>failed</th></tr>"
    )?;
    for run in &report.runs {
        let id = esc(&run.id());
        for (i, s) in run.steps.iter().enumerate() {
            let status = s.status();
            let c = s.containers.clone().unwrap_or_default();
            let failed: Vec<&str> = s.failures.iter().map(|f| f.check.as_str()).collect();
            writeln!(
                p,
                "<tr class=\"{st}\"><td>{id}</td><td>{}</td><td class=\"st {st}\">{st}</td>\
                 <td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}/{}</td><td>{}</td></tr>",
                s.step,
                esc(&join_values(&run.changed_values(i))),
                esc(&c.recreated.join(" ")),
                esc(&c.restarted.join(" ")),
                secs(s.ready_seconds),
                s.apply_exit.map(|c| c.to_string()).unwrap_or("—".into()),
                s.passed_count(),
                s.verdicts.len(),
                esc(&failed.join(", ")),
                st = status.as_str(),
            )?;
        }
    }
    writeln!(p, "</table></div></details></section>")
}

fn warnings(report: &Report, p: &mut Sink) -> std::fmt::Result {
    let all: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| r.warnings.iter().map(move |w| format!("{}: {w}", r.id())))
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    writeln!(
        p,
        "<section id=\"warnings\"><h2>Reading the journal</h2><ul class=\"plain\">"
    )?;
    for w in all {
        writeln!(p, "<li>{}</li>", esc(&w))?;
    }
    writeln!(p, "</ul></section>")
}
