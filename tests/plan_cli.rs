//! `canary plan` end to end: the JSON contract, SKIPPED lines, redaction, exit codes.

use std::process::Command;

fn canary(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(args)
        .output()
        .expect("run canary")
}

const VIEW_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn all_supplies() -> Vec<String> {
    [
        "remote_monero_host=node.lan".to_string(),
        "remote_tari_host=tari.lan".into(),
        "full_data_dir=/srv/full".into(),
        format!("monero_view_key={VIEW_KEY}"),
        "subnet_cold_apply=yes".into(),
    ]
    .into_iter()
    .flat_map(|s| ["--supply".to_string(), s])
    .collect()
}

#[test]
fn json_has_the_contract_shape() {
    let out = canary(&["plan", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"], "pithead");
    assert_eq!(v["strength"], 2);
    assert_eq!(v["seed"].as_str().unwrap().len(), 64);
    assert_eq!(v["model_hash"].as_str().unwrap().len(), 64);
    assert_eq!(
        v["axes"]["p2pool.pool"],
        serde_json::json!(["main", "mini", "nano"])
    );
    // Gated values are not planned without their prerequisites.
    assert_eq!(v["axes"]["monero.mode"], serde_json::json!(["local"]));
    let walk = v["walk"].as_array().unwrap();
    assert!(!walk.is_empty());
    for step in walk {
        let config = step["config"].as_object().unwrap();
        assert!(config["monero.prune"].is_boolean(), "typed JSON values");
        assert!(config["p2pool.pool"].is_string());
        assert!(step["changed"].is_array());
        assert!(step["recreated"].is_array());
        assert!(step["cost"].is_number());
    }
    let c = &v["coverage"];
    assert_eq!(c["tuples_total"], c["tuples_covered"]);
    assert_eq!(c["transitions_total"], c["transitions_covered"]);
    assert_eq!(c["applies"].as_u64().unwrap() as usize, walk.len());
    assert!(c["infeasible"].is_array());
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 5);
    assert!(
        skipped
            .iter()
            .all(|s| s["axis"].is_string() && s["value"].is_string() && s["reason"].is_string())
    );
    assert!(v.get("shards").is_none());
}

#[test]
fn skipped_values_are_loud_on_stderr() {
    let out = canary(&["plan"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SKIPPED monero.mode=remote:"), "{err}");
    assert!(
        err.contains("SKIPPED network.subnet=10.84.0.0/24:"),
        "{err}"
    );
    assert!(err.contains("--supply remote_monero_host="), "{err}");
    let out = canary(
        &[&["plan".to_string()][..], &all_supplies()]
            .concat()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SKIPPED"));
}

#[test]
fn secrets_are_redacted_everywhere() {
    for format in ["json", "table", "csv"] {
        let mut args = vec!["plan".to_string(), "--format".into(), format.into()];
        args.extend(all_supplies());
        let out = canary(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(VIEW_KEY),
            "{format} output leaks the view key"
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains(VIEW_KEY));
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let set: Vec<&serde_json::Value> = v["walk"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| &s["config"]["monero.view_key"])
                .filter(|k| *k != "")
                .collect();
            assert!(!set.is_empty(), "the plan sets the view key somewhere");
            assert!(set.iter().all(|k| *k == "<redacted>"));
            // Non-secret prerequisites are written as given.
            assert!(text.contains("node.lan"));
        }
    }
}

#[test]
fn shards_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let out = canary(&[
        "plan",
        "--shards",
        "2",
        "--format",
        "json",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let shards = v["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    let total: u64 = shards.iter().map(|s| s["applies"].as_u64().unwrap()).sum();
    assert_eq!(total, v["coverage"]["applies"].as_u64().unwrap());
    assert_eq!(shards[0]["walk"], v["walk"]);
}

#[test]
fn same_seed_same_plan_and_seed_forms() {
    let a = canary(&["plan", "--format", "csv", "--seed", "7"]);
    let b = canary(&[
        "plan",
        "--format",
        "csv",
        "--seed",
        &format!("07{}", "0".repeat(62)),
    ]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
    let csv = String::from_utf8_lossy(&a.stdout);
    assert!(csv.starts_with("walk,step,does,monero.mode,"));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",changed,recreated,cost")
    );
}

#[test]
fn table_has_totals() {
    let out = canary(&["plan"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().unwrap().starts_with("step"));
    assert!(text.contains("walk total:"));
    assert!(text.contains("coverage:"));
    assert!(text.contains('*'), "changed values are highlighted");
}

#[test]
fn bad_input_exits_2_with_a_message() {
    for (args, needle) in [
        (vec!["plan", "--strength", "0"], "strength 0"),
        (vec!["plan", "--strength", "5"], "strength 5"),
        (vec!["plan", "--shards", "0"], "shards"),
        (vec!["plan", "--shards", "99999999999"], "give 1 to 1000"),
        (vec!["plan", "--format", "xml"], "--format"),
        (vec!["plan", "--effort", "hard"], "--effort"),
        (vec!["plan", "--seed", "xyz"], "seed"),
        (vec!["plan", "--supply", "nope=1"], "unknown prerequisite"),
        (
            vec!["plan", "--pict", "/nonexistent/model.txt"],
            "cannot read",
        ),
    ] {
        let out = canary(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn pict_models_plan_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.txt");
    std::fs::write(
        &path,
        "A: a1, a2, a3\nB: b1, b2\nC: c1, c2\n\nIF [A] = \"a1\" THEN [B] <> \"b2\";\n",
    )
    .unwrap();
    let out = canary(&["plan", "--pict", path.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["coverage"]["infeasible"],
        serde_json::json!([{"A": "a1", "B": "b2"}])
    );
    assert_eq!(
        v["coverage"]["tuples_covered"],
        v["coverage"]["tuples_total"]
    );
}

/// Each prerequisite has a type: a value not of it is a usage error naming the prerequisite,
/// the expected form and an example, and `subnet_cold_apply=no` is not a yes.
#[test]
fn supplied_values_are_checked_against_their_type() {
    for (supply, needle) in [
        ("remote_monero_host=node.lan:18081", "has a port"),
        ("remote_tari_host=http://tari.lan", "has a scheme"),
        ("monero_view_key=xyz", "64 lowercase hex digits"),
        ("full_data_dir=srv/full", "an absolute path"),
        ("full_data_dir=", "is empty"),
        ("subnet_cold_apply=maybe", "yes or no"),
    ] {
        let out = canary(&["plan", "--supply", supply]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{supply}: {err}");
        let name = supply.split_once('=').unwrap().0;
        assert!(err.contains(&format!("'{name}'")), "{supply}: {err}");
        assert!(err.contains(needle), "{supply}: {err}");
        assert!(err.contains(&format!("e.g. {name}=")), "{supply}: {err}");
    }
    // `no` is not supplied: the cold subnet change stays SKIPPED, on the sim too.
    let out = canary(&["plan", "--supply", "subnet_cold_apply=no"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SKIPPED network.subnet=10.84.0.0/24"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = canary(&[
        "run",
        "--seed",
        "1",
        "--operations",
        "none",
        "--supply",
        "subnet_cold_apply=no",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(
        !journal.contains(r#""network.subnet":"10.84.0.0/24""#),
        "the sim walked the cold change"
    );
}

#[test]
fn a_bad_secret_is_refused_without_its_value_and_a_duplicate_is_an_error() {
    let bad_key = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    let out = canary(&["plan", "--supply", &format!("monero_view_key={bad_key}")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'monero_view_key'") && err.contains("the value given"),
        "{err}"
    );
    assert!(!err.contains(bad_key), "{err}");
    let out = canary(&[
        "plan",
        "--supply",
        "remote_monero_host=a.lan",
        "--supply",
        "remote_monero_host=b.lan",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("supplied twice"), "{err}");
}

/// A TOML error in a run file shows the line number and the key, never the line: it may hold
/// the view key.
#[test]
fn a_run_file_error_never_echoes_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    for line in [
        format!("monero_view_key = \"{VIEW_KEY}"), // unterminated string
        format!("monero_view_key = {VIEW_KEY}"),   // unquoted
        format!("monero_view_key = \"{VIEW_KEY}\" x"),
    ] {
        std::fs::write(
            &path,
            format!("[supply]\nremote_monero_host = \"node.lan\"\n{line}\n"),
        )
        .unwrap();
        let out = canary(&["plan", "--supply-file", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains(&VIEW_KEY[..16]), "the secret leaked: {err}");
        assert!(err.contains("run.toml:3"), "{err}");
        assert!(err.contains("monero_view_key"), "{err}");
    }
}

#[test]
fn an_endless_model_file_is_refused_at_its_cap() {
    for flag in ["--model", "--pict", "--supply-file"] {
        let out = canary(&["plan", flag, "/dev/zero"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(
            err.contains("/dev/zero is larger than 16 MiB"),
            "{flag}: {err}"
        );
    }
}

/// A 3-way plan of 100 axes x 10 values is 161 700 000 tuples: refused before any of them is
/// allocated, never quietly planned at a lower strength (which once exited 0 with 29% of the
/// 3-way tuples covered after using 22 GB).
#[test]
fn too_many_tuples_are_refused_not_planned_at_a_lower_strength() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.txt");
    let model: String = (0..100)
        .map(|a| {
            let values: Vec<String> = (0..10).map(|v| format!("v{v}")).collect();
            format!("A{a}: {}\n", values.join(", "))
        })
        .collect();
    std::fs::write(&path, model).unwrap();
    let started = std::time::Instant::now();
    let out = canary(&["plan", "--pict", path.to_str().unwrap(), "--strength", "3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "no plan is printed");
    for needle in [
        "161700000 3-way tuples",
        "10000000",
        "lower --strength",
        "fewer axes",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused up front"
    );
}

/// A PICT model of `count` axes with `values` values each (`P0: v0, v1, …`).
fn uniform_pict(count: usize, values: usize) -> String {
    let vals: Vec<String> = (0..values).map(|v| format!("v{v}")).collect();
    (0..count)
        .map(|a| format!("P{a}: {}\n", vals.join(", ")))
        .collect()
}

#[test]
fn effort_seconds_bound_the_wall_time_on_the_largest_classic_instances() {
    let dir = tempfile::tempdir().unwrap();
    for (count, values) in [(100, 3), (20, 10)] {
        let path = dir.path().join(format!("{values}^{count}.txt"));
        std::fs::write(&path, uniform_pict(count, values)).unwrap();
        let start = std::time::Instant::now();
        let out = canary(&[
            "plan",
            "--pict",
            path.to_str().unwrap(),
            "--effort",
            "2",
            "--format",
            "json",
        ]);
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Generous slack: tests share two cores and this is a debug build.
        assert!(
            took < std::time::Duration::from_secs(2 + 5),
            "{values}^{count} --effort 2 took {took:?}"
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let c = &v["coverage"];
        assert_eq!(c["tuples_covered"], c["tuples_total"], "{values}^{count}");
        assert_eq!(c["transitions_covered"], c["transitions_total"]);
        // And independently of the plan's own figures: every pair occurs in some step.
        let rows: Vec<Vec<usize>> = v["walk"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (0..count)
                    .map(|a| {
                        let label = s["config"][format!("P{a}")].as_str().unwrap();
                        label[1..].parse().unwrap()
                    })
                    .collect()
            })
            .collect();
        for a in 0..count {
            for b in a + 1..count {
                let mut seen = vec![false; values * values];
                for r in &rows {
                    seen[r[a] * values + r[b]] = true;
                }
                assert!(!seen.contains(&false), "{values}^{count}: axes {a}, {b}");
            }
        }
    }
}
