//! The fake box's speed (issue #5: at least 20 applies per second with all observations).
//! One iteration is what canary's box target does per step: write config.json, `pithead
//! apply -y`, then observe (`status`, `ps --format json`, .env, `/api/state`, the secret
//! fingerprint).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pithead-fake");

fn pithead(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(dir.join("pithead"))
        .args(args)
        .output()
        .expect("pithead runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn observe(dir: &Path, dashboard: u16) {
    let (status, _) = pithead(dir, &["status"]);
    assert_eq!(status, 0);
    let (_, ps) = pithead(dir, &["ps", "--format", "json"]);
    assert!(ps.starts_with('['));
    let env = std::fs::read_to_string(dir.join(".env")).expect(".env");
    let _ = fakes::render::secret_fingerprint(&env);
    let api = fakes::http::request(dashboard, "GET", "/api/state", None, Duration::from_secs(2));
    assert!(matches!(api, Some((200, _))));
}

fn set_pool(dir: &Path, pool: &str) {
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["p2pool"]["pool"] = pool.into();
    let tmp = dir.join("config.json.tmp");
    std::fs::write(&tmp, config.to_string()).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

fn applies(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new(BIN)
        .arg("setup")
        .arg(dir.path())
        .args(["--dashboard-port", "0"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "setup failed");
    let dir = dir.path().canonicalize().unwrap();
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".pithead-fake/settings.json")).unwrap(),
    )
    .unwrap();
    let dashboard = settings["ports"]["dashboard"].as_u64().unwrap() as u16;

    let mut group = c.benchmark_group("fake_box");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    let mut flip = false;
    group.bench_function("pool_flip_apply_and_observe", |b| {
        b.iter(|| {
            flip = !flip;
            set_pool(&dir, if flip { "main" } else { "mini" });
            let (code, out) = pithead(&dir, &["apply", "-y"]);
            assert_eq!(code, 0, "{out}");
            assert!(out.contains("Configuration applied."));
            observe(&dir, dashboard);
        })
    });
    group.bench_function("noop_apply_and_observe", |b| {
        b.iter(|| {
            let (code, out) = pithead(&dir, &["apply", "-y"]);
            assert_eq!(code, 0);
            assert!(out.contains("No configuration changes detected"));
            observe(&dir, dashboard);
        })
    });
    group.finish();
    let _ = Command::new(BIN).arg("teardown").arg(&dir).status();
}

criterion_group!(benches, applies);
criterion_main!(benches);
