//! Drift on a box (issue #13): a `pithead` older than the model refuses `tari.mode: off` by
//! validation. Each refused apply is one `drift` verdict, and the walk goes on from where the
//! box stayed: every other verdict of the walk passes (the steps after a refusal are predicted
//! from the config the box runs, not from the refused one), and the box is put back.

#[path = "box_support/mod.rs"]
mod support;

use support::{FakeBox, cli};

/// A CLI wrapper that refuses `tari.mode: off` the way builds without it do, changing nothing.
fn older_cli(fake: &FakeBox) -> &'static str {
    let text = "#!/bin/sh\n\
        if [ \"$1\" = apply ] && grep -Eq '\"mode\": *\"off\"' config.json; then\n  \
          echo 'Parsing configuration...'\n  \
          echo 'Error: tari.mode must be \"local\" or \"remote\"' >&2\n  \
          exit 1\n\
        fi\n\
        exec ./pithead \"$@\"\n";
    support::write_exec(&fake.dir().join("older"), text);
    "./older"
}

#[test]
fn refused_applies_are_drift_and_the_walk_goes_on_from_where_the_box_is() {
    let fake = FakeBox::setup();
    let older = older_cli(&fake);
    let original = std::fs::read(fake.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let mut args = cli::on_box(&fake, "run", None);
    args.extend(["--pithead", older, "--seed", "7", "--no-replay", "--out"].map(String::from));
    args.push(out.display().to_string());
    let o = cli::canary(&args, work.path());
    let text = cli::text(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let failed: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "verdict" && e["passed"] == false)
        .collect();
    let drift = failed.iter().filter(|v| v["check"] == "drift").count();
    assert!(drift > 0, "no drift verdict:\n{text}");
    let others: Vec<String> = failed
        .iter()
        .filter(|v| v["check"] != "drift")
        .map(|v| format!("step {}: {} {}", v["step"], v["check"], v["message"]))
        .collect();
    assert!(
        others.is_empty(),
        "besides {drift} drift verdicts:\n{}\n{text}",
        others.join("\n")
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"][0]["verdicts_drift"], drift, "{summary}");
    // A refused value was never reached: no tuple holding tari.mode=off is covered.
    let coverage = std::fs::read_to_string(out.join("coverage.csv")).unwrap();
    let off: Vec<&str> = coverage
        .lines()
        .filter(|l| l.contains("tari.mode=off"))
        .collect();
    assert!(
        !off.is_empty(),
        "coverage.csv lists no tari.mode=off goal:\n{coverage}"
    );
    for line in off {
        assert!(
            line.contains(",no") || line.contains(",false") || line.ends_with(','),
            "covered although refused: {line}"
        );
    }
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        original,
        "the box is put back"
    );
}
