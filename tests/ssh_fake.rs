//! End to end over SSH: a real sshd on 127.0.0.1 with the fake box behind it, driven through
//! the same box target as the live box.

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::safety::Snapshot;
use canary::target::Target;
use canary::target::box_target::BoxTarget;
use support::{FakeBox, Sshd};

#[tokio::test]
async fn the_fake_box_over_ssh_flips_and_is_restored() {
    let sshd = Sshd::start();
    let fake = FakeBox::setup();
    let mut t = match BoxTarget::open(fake.ssh_options(&sshd)).await {
        Ok(t) => t,
        Err(e) => panic!("open over ssh: {e}\n{}", sshd.log()),
    };
    let wait = (Duration::from_secs(30), Duration::from_millis(100));
    let (_, obs) = t.wait_ready(wait.0, wait.1).await.unwrap();
    assert!(obs.api.is_object(), "{}", obs.api);
    let snap = Snapshot::take(&mut t).await.unwrap();
    let mut cfg = t.read_config().await.unwrap();
    let flipped = if cfg["p2pool"]["pool"] == "main" {
        "mini"
    } else {
        "main"
    };
    cfg["p2pool"]["pool"] = serde_json::json!(flipped);
    let r = t.apply_config(&cfg).await.unwrap();
    assert_eq!(r.exit_code, 0, "{}", r.output);
    let (_, after) = t.wait_ready(wait.0, wait.1).await.unwrap();
    assert_eq!(after.secret_fingerprint, snap.fingerprint);
    let id = |o: &canary::target::Observation| {
        o.containers
            .iter()
            .find(|c| c.name == "p2pool")
            .map(|c| c.id.clone())
    };
    assert!(id(&obs).is_some(), "{:?}", obs.containers);
    assert_ne!(id(&after), id(&obs), "a pool flip recreates p2pool");
    fake.assert_restored(&mut t, &snap).await;
}
