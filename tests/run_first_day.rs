//! What a new user meets on the first day (issue #16.4): the README's first command walks the
//! whole model on the simulated stack (every gated value planned, nothing SKIPPED), and a
//! short seed is echoed and replayed as typed, mapping to the same run as its 64-hex form.

#[path = "cli_support/mod.rs"]
mod cli;

use cli::{canary, files_under as walk, text};

#[test]
fn the_first_command_plans_every_gated_value_and_shows_the_short_seed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = canary(
        [
            "run",
            "--seed",
            "1",
            "--no-replay",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(!t.contains("SKIPPED"), "{t}");
    assert!(t.lines().any(|l| l == "seed 1"), "{t}");
    // Every gated value of the model is walked: the cold subnet change, remote nodes, the
    // full data dir, the view key.
    let csv = std::fs::read_to_string(out.join("steps.csv")).unwrap();
    for v in [
        "network.subnet=10.84.0.0/24",
        "monero.mode=remote",
        "tari.mode=remote",
        "monero.prune=false",
        "monero.view_key=set",
    ] {
        assert!(csv.contains(v), "{v} not walked:\n{csv}");
    }
    // The stand-in view key is a secret like any other: in no file of the run.
    for f in walk(&out) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("5151515151515151"),
            "{}",
            f.display()
        );
    }
}

#[test]
fn a_short_seed_replays_as_typed_and_is_the_same_run_as_its_hex() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, name: &str| {
        let out = dir.path().join(name);
        let o = canary(
            [
                "run",
                "--seed",
                seed,
                "--no-replay",
                "--fault",
                "stale-mini-flag",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        // Everything but the first column, the run's name.
        let csv = std::fs::read_to_string(out.join("steps.csv")).unwrap();
        let rows: Vec<String> = csv
            .lines()
            .map(|l| l.split_once(',').map_or(l, |(_, rest)| rest).to_string())
            .collect();
        (text(&o), rows)
    };
    let (short, short_csv) = run("1", "short");
    assert!(short.contains("replay: canary run --seed 1 "), "{short}");
    let hex = format!("01{}", "0".repeat(62));
    let (long, long_csv) = run(&hex, "long");
    assert!(long.contains("replay: canary run --seed 1 "), "{long}");
    assert_eq!(short_csv, long_csv, "the same seed, the same steps");
}
