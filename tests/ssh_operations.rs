//! Operations over SSH: a real sshd on 127.0.0.1 with the fake box behind it. A node outage
//! (the dashboard's failover rejecting and readmitting workers) and the emptied proxy token
//! (refused, then the exact token put back on the box) pass through the same box target as
//! on the live box, and leave the box as found.

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::target::box_target::{BoxTarget, KEPT_ENV};
use support::Sshd;
use support::ops::*;

#[tokio::test]
async fn a_node_outage_and_an_emptied_token_over_ssh() {
    let sshd = Sshd::start();
    let fake = fast_box(&[]);
    let mut o = fake.ssh_options(&sshd);
    o.apply_timeout = Duration::from_secs(60);
    let mut t = match BoxTarget::open(o).await {
        Ok(t) => t,
        Err(e) => panic!("open over ssh: {e}\n{}", sshd.log()),
    };
    t.wait_ready(Duration::from_secs(30), Duration::from_millis(100))
        .await
        .unwrap();
    let (as_found, _) = found(&mut t).await;
    for (name, outcome, events) in operate(&mut t, &["node-down", "empty-proxy-token"]).await {
        assert!(outcome.passed(), "{name}: {:?}", failed_checks(&outcome));
        let check = if name == "node-down" {
            "op.readmit"
        } else {
            "op.refused"
        };
        assert!(
            verdict(&events, check).is_some_and(|v| v.passed),
            "{name}: {check}"
        );
        assert!(t.owed().is_empty(), "{name}: {:?}", t.owed());
        let (now, _) = found(&mut t).await;
        assert_eq!(now, as_found, "{name}");
    }
    assert!(!fake.dir().join(KEPT_ENV).exists());
}
