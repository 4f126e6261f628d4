//! The preflight of a box run against the fake box: the box's own docker-compose.yml (read
//! from its stack directory) is compared with the model before the first apply, journaled,
//! and shown in summary.json and report.html; drift is a loud warning, and `--strict-model`
//! stops the run before anything on the box changes.

#[path = "box_support/mod.rs"]
mod support;

use std::path::Path;

use support::cli::{canary, on_box, text};
use support::{FakeBox, Sshd};

fn mini_compose() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mini-stack/docker-compose.yml"),
    )
    .unwrap()
}

/// The mini-stack's compose file with one key the model does not list for p2pool.
fn drifted() -> (String, usize) {
    let from = "      P2POOL_FLAGS: ${P2POOL_FLAGS}\n";
    let text = mini_compose().replacen(
        from,
        "      P2POOL_FLAGS: ${P2POOL_FLAGS}\n      PRUNE_TOO: ${MONERO_PRUNE}\n",
        1,
    );
    let line = text.lines().position(|l| l.contains("PRUNE_TOO")).unwrap() + 1;
    (text, line)
}

fn run(fake: &FakeBox, out: &Path, extra: &[&str]) -> (Option<i32>, String) {
    run_on(fake, None, out, extra)
}

fn run_on(
    fake: &FakeBox,
    sshd: Option<&Sshd>,
    out: &Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let mut args = on_box(fake, "run", sshd);
    // The fake box lists its containers with its CLI, compose file or not.
    args.extend(["--containers", "pithead"].map(String::from));
    args.extend(["--seed", "7", "--max-steps", "1", "--out"].map(String::from));
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = canary(&args, out.parent().unwrap());
    (o.status.code(), text(&o))
}

fn summary_preflight(out: &Path) -> serde_json::Value {
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    s["runs"][0]["preflight"].clone()
}

#[test]
fn a_box_run_compares_the_box_compose_file_with_the_model_first() {
    let fake = FakeBox::setup();
    let work = tempfile::tempdir().unwrap();
    let compose = fake.dir().join("docker-compose.yml");

    // The box's compose file (the mini-stack's, whose services the fake plays) agrees with the
    // model: one line, recorded.
    std::fs::write(&compose, mini_compose()).unwrap();
    let out = work.path().join("agrees");
    let (code, all) = run(&fake, &out, &[]);
    assert_eq!(code, Some(0), "{all}");
    assert!(
        all.contains("PREFLIGHT the model agrees with the box's"),
        "{all}"
    );
    assert!(!all.contains("!!! PREFLIGHT"), "{all}");
    let p = summary_preflight(&out);
    assert_eq!(p["status"], "agrees", "{p}");
    assert_eq!(
        p["compose"][0],
        format!("{}/docker-compose.yml", fake.dir().display())
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("model preflight"),
        "report.html has no preflight row"
    );
    assert!(html.contains("<span class=\"st pass\">agrees</span>"));

    // Drift: a loud warning with both places, journaled before the first step, reported.
    let (text, line) = drifted();
    std::fs::write(&compose, &text).unwrap();
    let out = work.path().join("drift");
    let (code, all) = run(&fake, &out, &[]);
    assert_eq!(
        code,
        Some(0),
        "drift warns, it does not fail the walk: {all}"
    );
    assert!(
        all.contains("!!! PREFLIGHT: the model has DRIFTED"),
        "{all}"
    );
    let at = format!("{}/docker-compose.yml:{line} / ", fake.dir().display());
    assert!(all.contains(&at), "{at} not in:\n{all}");
    assert!(
        all.contains("service 'p2pool' interpolates MONERO_PRUNE"),
        "{all}"
    );
    let p = summary_preflight(&out);
    assert_eq!(p["status"], "drift", "{p}");
    assert_eq!(p["drift"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["drift"][0]["kind"], "unlisted_input");
    assert_eq!(p["drift"][0]["compose_at"]["line"], line);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<span class=\"st fail\">DRIFT</span>"),
        "report.html does not show the drift"
    );
    assert!(html.contains(&format!("docker-compose.yml:{line}</code>")));
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let events: Vec<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    let pre = events
        .iter()
        .position(|e| e == "\"model_preflight\"")
        .unwrap();
    let first_step = events.iter().position(|e| e == "\"step_start\"").unwrap();
    assert!(pre < first_step, "{events:?}");

    // --strict-model: stopped before anything changes, no run directory.
    // What canary would change first: config.json (applies) and .env (its kept copy).
    let before: Vec<Vec<u8>> = ["config.json", ".env"]
        .iter()
        .map(|f| std::fs::read(fake.dir().join(f)).unwrap())
        .collect();
    let out = work.path().join("strict");
    let (code, all) = run(&fake, &out, &["--strict-model"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("--strict-model: stopped before the first apply"),
        "{all}"
    );
    assert!(!out.exists(), "a stopped run leaves no run directory");
    for (f, bytes) in ["config.json", ".env"].iter().zip(&before) {
        assert_eq!(
            &std::fs::read(fake.dir().join(f)).unwrap(),
            bytes,
            "{f} changed"
        );
    }
    assert!(!fake.dir().join(".env.canary-orig").exists());

    // A box without a compose file: not compared, said loudly; strict stops.
    std::fs::remove_file(&compose).unwrap();
    let out = work.path().join("none");
    let (code, all) = run(&fake, &out, &["--strict-model"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("was not compared with the model"), "{all}");
    assert!(all.contains("docker-compose.yml is missing"), "{all}");
}

#[test]
fn over_ssh_the_preflight_reads_the_box_file_through_the_connection() {
    let sshd = Sshd::start();
    let fake = FakeBox::setup();
    let work = tempfile::tempdir().unwrap();
    let (text, line) = drifted();
    std::fs::write(fake.dir().join("docker-compose.yml"), &text).unwrap();
    let out = work.path().join("strict");
    let (code, all) = run_on(&fake, Some(&sshd), &out, &["--strict-model"]);
    assert_eq!(code, Some(1), "{all}");
    let at = format!("{}/docker-compose.yml:{line} / ", fake.dir().display());
    assert!(all.contains(&at), "{at} not in:\n{all}");
    assert!(!out.exists());
    // Agreeing again, the run goes ahead.
    std::fs::write(fake.dir().join("docker-compose.yml"), mini_compose()).unwrap();
    let out = work.path().join("agrees");
    let (code, all) = run_on(&fake, Some(&sshd), &out, &["--strict-model"]);
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(summary_preflight(&out)["status"], "agrees");
}
