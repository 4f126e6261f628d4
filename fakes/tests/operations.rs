//! The fake box performs Pithead's operations for real: the dashboard's worker failover on
//! its own timers (#31), the service-level `compose` verbs, and the four operation faults.
//! Timings are short (NODE_DOWN_AFTER_SEC=1, NODE_RECOVERY_AFTER_SEC=2) and every wait
//! polls, never sleeps a fixed time.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::FakeBox;

const DOWN: f64 = 1.0;
const RECOVERY: f64 = 2.0;

fn fast(faults: &[&str]) -> FakeBox {
    FakeBox::with_args(
        faults,
        &[
            "--daemon-env",
            &format!("NODE_DOWN_AFTER_SEC={DOWN}"),
            "--daemon-env",
            &format!("NODE_RECOVERY_AFTER_SEC={RECOVERY}"),
        ],
    )
}

fn state(b: &FakeBox, name: &str) -> String {
    b.container(name).map_or("missing".into(), |c| {
        c["state"].as_str().unwrap().to_string()
    })
}

/// Polls until `what` holds, returning how long it took; panics after `limit`.
fn until(what: &str, limit: Duration, mut pred: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if pred() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn node_down_rejects_workers_then_readmits_them_after_the_recovery_window() {
    let b = fast(&[]);
    assert_eq!(b.pithead(&["compose", "stop", "monerod"]).code, 0);
    // A stopped monerod is a problem for status at once.
    assert_eq!(b.pithead(&["status"]).code, 1);
    let took = until("xmrig-proxy stopped", Duration::from_secs(10), || {
        state(&b, "xmrig-proxy") == "exited"
    });
    assert!(
        took >= Duration::from_secs_f64(DOWN * 0.8),
        "rejected after {took:?}, before the down window"
    );
    let status = b.pithead(&["status"]);
    assert_eq!(status.code, 1, "monerod still down: {}", status.text());
    assert!(status.stdout.contains("node down"), "{}", status.stdout);
    assert_eq!(b.api()["workers_rejected"], true);

    let before = b.container("xmrig-proxy").unwrap();
    assert_eq!(b.pithead(&["compose", "start", "monerod"]).code, 0);
    let back = Instant::now();
    // While the window runs the proxy stays stopped, and that is no problem for status.
    let held = b.pithead(&["status"]);
    assert_eq!(held.code, 0, "{}", held.text());
    assert_eq!(state(&b, "xmrig-proxy"), "exited");
    until("xmrig-proxy readmitted", Duration::from_secs(10), || {
        state(&b, "xmrig-proxy") == "running"
    });
    assert!(
        back.elapsed() >= Duration::from_secs_f64(RECOVERY),
        "readmitted {:?} after monerod came back",
        back.elapsed()
    );
    let after = b.container("xmrig-proxy").unwrap();
    assert_eq!(after["id"], before["id"], "a start, not a recreate");
    b.api_until("workers back", |v| {
        v["workers_rejected"] == false && v["proxy_workers"].as_u64() > Some(0)
    });
    assert_eq!(b.pithead(&["status"]).code, 0);
}

#[test]
fn premature_readmit_lets_workers_back_without_the_window() {
    let b = fast(&["premature-readmit"]);
    assert_eq!(b.pithead(&["compose", "stop", "monerod"]).code, 0);
    until("xmrig-proxy stopped", Duration::from_secs(10), || {
        state(&b, "xmrig-proxy") == "exited"
    });
    assert_eq!(b.pithead(&["compose", "start", "monerod"]).code, 0);
    let took = until("xmrig-proxy readmitted", Duration::from_secs(10), || {
        state(&b, "xmrig-proxy") == "running"
    });
    assert!(
        took < Duration::from_secs_f64(RECOVERY),
        "readmitted after {took:?}"
    );
}

#[test]
fn a_frozen_node_is_unhealthy_and_rejects_workers_until_thawed() {
    let b = fast(&[]);
    assert_eq!(
        b.pithead(&["compose", "kill", "-s", "SIGSTOP", "monerod"])
            .code,
        0
    );
    assert_eq!(b.pithead(&["status"]).code, 1);
    until("xmrig-proxy stopped", Duration::from_secs(10), || {
        state(&b, "xmrig-proxy") == "exited"
    });
    let frozen = b.container("monerod").unwrap();
    assert_eq!(frozen["health"], "unhealthy");
    assert_eq!(
        b.pithead(&["compose", "kill", "-s", "SIGCONT", "monerod"])
            .code,
        0
    );
    until("xmrig-proxy readmitted", Duration::from_secs(10), || {
        state(&b, "xmrig-proxy") == "running"
    });
    assert_eq!(b.pithead(&["status"]).code, 0);
}

#[test]
fn compose_up_of_one_service_brings_back_only_that_one() {
    let b = fast(&[]);
    assert_eq!(b.pithead(&["compose", "stop", "p2pool"]).code, 0);
    let rm = b.pithead(&["compose", "rm", "-sf", "monerod"]);
    assert_eq!(rm.code, 0, "{}", rm.text());
    assert_eq!(state(&b, "monerod"), "missing");
    assert_eq!(b.pithead(&["status"]).code, 1);
    let before = b.container("tor").unwrap();
    let up = b.pithead(&["compose", "up", "-d", "monerod"]);
    assert_eq!(up.code, 0, "{}", up.text());
    assert_eq!(state(&b, "monerod"), "running");
    assert_eq!(
        state(&b, "p2pool"),
        "exited",
        "a named up touches nothing else"
    );
    assert_eq!(b.container("tor").unwrap(), before);
}

#[test]
fn up_accepts_an_empty_token_under_its_fault() {
    for (faults, code) in [(&[][..], 1), (&["up-accepts-empty-token"][..], 0)] {
        let b = fast(faults);
        let token = b.env("PROXY_AUTH_TOKEN");
        let emptied = b
            .env_text()
            .replace(&format!("PROXY_AUTH_TOKEN={token}"), "PROXY_AUTH_TOKEN=");
        std::fs::write(b.path().join(".env"), &emptied).unwrap();
        let proxy = b.container("xmrig-proxy").unwrap();
        let out = b.pithead(&["up"]);
        assert_eq!(out.code, code, "{faults:?}: {}", out.text());
        let now = b.container("xmrig-proxy").unwrap();
        if code == 0 {
            // The unauthenticated proxy runs: a recreate with the empty token.
            assert_ne!(now["id"], proxy["id"]);
            assert_eq!(now["state"], "running");
        } else {
            assert_eq!(now, proxy);
        }
    }
}

#[test]
fn restart_tor_strands_monerod_under_its_fault() {
    for (faults, restarted) in [
        (&[][..], true),
        (&["restart-tor-strands-monerod"][..], false),
    ] {
        let b = fast(faults);
        let before = b.container("monerod").unwrap();
        assert_eq!(b.pithead(&["restart", "tor"]).code, 0);
        let after = b.container("monerod").unwrap();
        assert_eq!(
            before["started"] != after["started"],
            restarted,
            "{faults:?}"
        );
    }
}

#[test]
fn restart_reverts_args_under_its_fault() {
    for (faults, pool) in [(&[][..], "main"), (&["restart-reverts-args"][..], "mini")] {
        let b = fast(faults);
        assert_eq!(
            b.api()["pool"]["type"],
            "Mini",
            "the fake box starts on mini"
        );
        b.set("p2pool.pool", json!("main"));
        assert_eq!(b.apply().code, 0);
        b.api_until("main", |v| v["pool"]["type"] == "Main");
        assert_eq!(b.pithead(&["restart"]).code, 0);
        let want = if pool == "main" { "Main" } else { "Mini" };
        b.api_until(want, |v| v["pool"]["type"] == want);
        // Either way the rendered config says main: the revert is in the running container.
        assert!(!b.env("P2POOL_FLAGS").contains("--mini"), "{faults:?}");
    }
}
