//! Versions are data on a box (issue #14): the box's own CLI says which variant of the model
//! it is (its `--help` lists the tari.mode values it has), asked read-only; a box run picks
//! that variant and says so, and an explicit `--variant` wins with a warning.

#[path = "box_support/mod.rs"]
mod support;

use std::process::Command;
use std::time::Duration;

use canary::model::variant::Detected;
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions};
use support::{FakeBox, files_under};

fn builtin() -> canary::model::Model {
    canary::model::load_str(
        canary::model::BUILTIN_PITHEAD,
        std::path::Path::new("pithead.toml"),
    )
    .unwrap()
}

/// Every file of the box with its bytes (the fake's own bookkeeping left out).
fn contents(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join(".pithead-fake")))
        .map(|p| {
            let b = std::fs::read(&p).unwrap_or_default();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

async fn detect(fake: &FakeBox) -> Detected {
    let mut o = BoxTargetOptions::new(BoxKind::Local {
        dir: fake.dir().to_str().unwrap().into(),
    });
    o.command_timeout = Duration::from_secs(30);
    let t = BoxTarget::open(o).await.unwrap();
    assert!(t.ask("apply").await.is_err(), "a changing verb was asked");
    t.variant_of(&builtin()).await
}

#[tokio::test]
async fn the_fake_box_tells_its_variant_without_changing() {
    let newest = FakeBox::setup_with(&[], &["--no-start"]);
    let older = FakeBox::setup_with(&[], &["--no-start", "--tari-modes", "local,remote"]);
    let before = contents(older.dir());
    assert_eq!(detect(&newest).await, Detected::One("newest".into()));
    assert_eq!(detect(&older).await, Detected::One("no-tari-off".into()));
    assert_eq!(contents(older.dir()), before, "detection changed the box");

    // The older build really refuses tari.mode=off, changing nothing.
    let cfg = older.dir().join("config.json");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    c["tari"]["mode"] = "off".into();
    std::fs::write(&cfg, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    let env = std::fs::read(older.dir().join(".env")).unwrap();
    let o = Command::new(older.dir().join("pithead"))
        .args(["apply", "-y"])
        .current_dir(older.dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(r#"tari.mode must be "local" or "remote""#),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(older.dir().join(".env")).unwrap(), env);
}

fn run(fake: &FakeBox, out: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(["run", "--target", "local", "--dir"])
        .arg(fake.dir())
        .arg("--api-url")
        .arg(format!(
            "http://127.0.0.1:{}/api/state",
            fake.dashboard_port()
        ))
        .args(["--ready-timeout", "30s", "--seed", "7", "--no-replay"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .current_dir(out.parent().unwrap())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_run_on_an_older_box_detects_its_variant_and_plans_no_refused_value() {
    let fake = FakeBox::setup_with(&[], &["--tari-modes", "local,remote"]);
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let (code, stdout, stderr) = run(&fake, &out, &["--max-steps", "6"]);
    assert!(
        stdout.contains("variant no-tari-off (detected"),
        "{stdout}{stderr}"
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let journal: Vec<serde_json::Value> = std::fs::read_to_string(out.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let manifest = journal.iter().find(|e| e["event"] == "manifest").unwrap();
    assert_eq!(manifest["variant"], "no-tari-off", "{manifest}");
    assert!(
        manifest["replay"]
            .as_str()
            .unwrap()
            .contains("--variant no-tari-off"),
        "{manifest}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"][0]["variant"], "no-tari-off", "{summary}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("no-tari-off"),
        "report.html does not name the variant"
    );
    let plan = journal.iter().find(|e| e["event"] == "plan").unwrap();
    assert_eq!(plan["plan"]["variant"], "no-tari-off");
    assert!(
        !journal
            .iter()
            .any(|e| e["event"] == "verdict" && e["check"] == "drift"),
        "a refused apply: the older box was walked as the newest"
    );

    // --variant wins, with a warning that the box answers otherwise.
    let out2 = work.path().join("run2");
    let (_, stdout, stderr) = run(&fake, &out2, &["--variant", "newest", "--check"]);
    assert!(
        stderr.contains(
            "warning: --variant newest was given, but the box answers like variant 'no-tari-off'"
        ),
        "{stdout}{stderr}"
    );
}
