//! End to end: the local box target against the real fake box (`pithead-fake setup`), with
//! its daemons running as local processes: observe, a pool flip in one round trip, readiness,
//! artifacts without the box's secrets, and the safety net putting the box back.

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::redact::parse_env;
use canary::safety::Snapshot;
use canary::target::Target;
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions, ContainerList};
use support::{FakeBox, files_under};

#[tokio::test]
async fn a_pool_flip_on_the_fake_box_is_observed_and_restored() {
    let fake = FakeBox::setup();
    let mut o = BoxTargetOptions::new(BoxKind::Local {
        dir: fake.dir().to_str().unwrap().into(),
    });
    o.api_url = format!("http://127.0.0.1:{}/api/state", fake.dashboard_port());
    o.command_timeout = Duration::from_secs(30);
    let mut t = BoxTarget::open(o).await.unwrap();
    assert_eq!(
        t.container_list(),
        &ContainerList::PitheadPs,
        "no compose file: the fake's ps"
    );
    let (ready, obs) = t
        .wait_ready(Duration::from_secs(30), Duration::from_millis(100))
        .await
        .unwrap();
    assert!(ready < Duration::from_secs(30));
    assert!(
        obs.containers.iter().any(|c| c.name == "p2pool"),
        "{:?}",
        obs.containers
    );
    assert!(obs.api.is_object(), "the dashboard answered: {}", obs.api);
    assert_eq!(obs.secret_fingerprint.len(), 64);

    let snap = Snapshot::take(&mut t).await.unwrap();
    let before_p2pool = obs
        .containers
        .iter()
        .find(|c| c.name == "p2pool")
        .unwrap()
        .id
        .clone();
    let mut cfg = t.read_config().await.unwrap();
    let pool = cfg["p2pool"]["pool"].as_str().unwrap_or("mini").to_string();
    let flipped = if pool == "main" { "mini" } else { "main" };
    cfg["p2pool"]["pool"] = serde_json::json!(flipped);
    let r = t.apply_config(&cfg).await.unwrap();
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(r.output.contains("Configuration applied."), "{}", r.output);
    let (_, after) = t
        .wait_ready(Duration::from_secs(30), Duration::from_millis(100))
        .await
        .unwrap();
    let p2pool = after
        .containers
        .iter()
        .find(|c| c.name == "p2pool")
        .unwrap();
    assert_ne!(p2pool.id, before_p2pool, "a pool flip recreates p2pool");
    assert_eq!(
        after.secret_fingerprint, snap.fingerprint,
        "secrets kept across the flip"
    );
    let again = t.apply().await.unwrap();
    assert!(
        again.output.contains("No configuration changes detected"),
        "{}",
        again.output
    );

    // Artifacts hold none of the box's secret values.
    let run = tempfile::tempdir().unwrap();
    t.capture_artifacts(1, run.path()).await.unwrap();
    let env = std::fs::read_to_string(fake.dir().join(".env")).unwrap();
    let secrets: Vec<String> = parse_env(&env)
        .into_iter()
        .filter(|(k, v)| canary::redact::is_secret_env_key(k) && v.len() >= 8 && v != "placeholder")
        .map(|(_, v)| v)
        .collect();
    assert!(!secrets.is_empty(), "the fake box has provisioned secrets");
    for f in files_under(run.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{} leaks a secret", f.display());
        }
    }

    fake.assert_restored(&mut t, &snap).await;
}
