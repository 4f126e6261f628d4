//! Each injected fault, switched on in a fake box, changes what canary observes; the same
//! step on a clean box does not.

mod support;

use serde_json::json;
use support::FakeBox;

const NOOP: &str = "No configuration changes detected. Nothing to apply.";

fn caddy(b: &FakeBox) -> String {
    std::fs::read_to_string(b.path().join("Caddyfile")).unwrap()
}

/// Flips dashboard.secure; returns (Caddyfile has http://, caddy restarted).
fn secure_flip(b: &FakeBox) -> (bool, bool) {
    let before = b.container("caddy").unwrap();
    b.set("dashboard.secure", json!(false));
    assert_eq!(b.apply().code, 0);
    let after = b.container("caddy").unwrap();
    assert_eq!(
        before["id"], after["id"],
        "caddy is never recreated by a Caddyfile change"
    );
    (
        caddy(b).contains("http://127.0.0.1 {"),
        before["started"] != after["started"],
    )
}

#[test]
fn stale_caddy_scheme() {
    assert_eq!(secure_flip(&FakeBox::new(&[])), (true, true));
    let faulty = FakeBox::new(&["stale-caddy-scheme"]);
    assert_eq!(secure_flip(&faulty), (false, false));
    assert!(caddy(&faulty).contains("https://"));
    assert_eq!(faulty.env("DASHBOARD_SECURE"), "false");
}

fn tari_to_remote(b: &FakeBox) -> Option<serde_json::Value> {
    b.set("tari.mode", json!("remote"));
    b.set("tari.remote.host", json!("tari.example.lan"));
    let out = b.apply();
    assert_eq!(out.code, 0, "{}", out.text());
    b.container("tari")
}

#[test]
fn orphan_profile_container() {
    assert!(tari_to_remote(&FakeBox::new(&[])).is_none());
    let orphan =
        tari_to_remote(&FakeBox::new(&["orphan-profile-container"])).expect("tari left behind");
    assert_eq!(orphan["state"], "running");
}

#[test]
fn token_rotated_by_apply() {
    for (faults, rotates) in [(&[][..], false), (&["token-rotated-by-apply"][..], true)] {
        let b = FakeBox::new(faults);
        let fp = b.fingerprint();
        b.set("p2pool.pool", json!("nano"));
        assert_eq!(b.apply().code, 0);
        assert_eq!(b.fingerprint() != fp, rotates, "faults {faults:?}");
    }
}

#[test]
fn tari_required_ignores_off() {
    for (faults, required) in [
        (&[][..], "false"),
        (&["tari-required-ignores-off"][..], "true"),
    ] {
        let b = FakeBox::new(faults);
        b.set("tari.mode", json!("off"));
        assert_eq!(b.apply().code, 0);
        assert_eq!(b.env("TARI_REQUIRED"), required, "faults {faults:?}");
        let api = b.api_until("dashboard recreated", |v| v["tari"]["active"] == false);
        // With the fault the sync gate waits for a Tari that will never come (#1855).
        assert_eq!(api["miner_released"] == true, required == "false", "{api}");
        if required == "true" {
            assert_eq!(api["proxy_workers"], 0);
        }
    }
}

fn failed_flip_then_reapply(b: &FakeBox) -> (String, serde_json::Value) {
    std::fs::write(b.path().join(".pithead-fake/fail-next-up"), "").unwrap();
    b.set("p2pool.pool", json!("nano"));
    let failed = b.apply();
    assert_eq!(failed.code, 1, "{}", failed.text());
    let again = b.apply();
    assert_eq!(again.code, 0, "{}", again.text());
    (again.stdout, b.api())
}

#[test]
fn failed_recreate_not_retried() {
    let clean = FakeBox::new(&[]);
    let (out, _) = failed_flip_then_reapply(&clean);
    assert!(out.contains("Configuration applied."), "{out}");
    clean.api_until("nano after the retry", |v| v["pool"]["type"] == "Nano");

    let faulty = FakeBox::new(&["failed-recreate-not-retried"]);
    let (out, api) = failed_flip_then_reapply(&faulty);
    assert!(out.contains(NOOP), "{out}");
    assert_eq!(faulty.env("P2POOL_FLAGS").split(' ').next(), Some("--nano"));
    assert_eq!(
        api["pool"]["type"], "Mini",
        "p2pool still runs the old pool (#125)"
    );
}

#[test]
fn tor_recreate_skips_monerod() {
    for (faults, restarted) in [
        (&[][..], true),
        (&["tor-recreate-skips-monerod"][..], false),
    ] {
        let b = FakeBox::new(faults);
        let before = b.container("monerod").unwrap();
        tari_to_remote(&b);
        let after = b.container("monerod").unwrap();
        assert_eq!(before["id"], after["id"]);
        assert_eq!(
            before["started"] != after["started"],
            restarted,
            "faults {faults:?}"
        );
    }
}

#[test]
fn apply_is_restart() {
    let b = FakeBox::new(&["apply-is-restart"]);
    let before = b.container("p2pool").unwrap();
    b.set("p2pool.pool", json!("main"));
    assert_eq!(b.apply().code, 0);
    let after = b.container("p2pool").unwrap();
    assert_eq!(before["id"], after["id"], "restarted, not recreated (#273)");
    assert_ne!(before["started"], after["started"]);
    assert_eq!(b.env("P2POOL_PORT"), "37889");
    assert_eq!(
        b.api()["pool"]["type"],
        "Mini",
        "the old args are still in force"
    );
}

#[test]
fn spurious_diff() {
    let b = FakeBox::new(&["spurious-diff"]);
    let first = b.apply();
    assert_eq!(first.code, 0);
    assert!(!first.stdout.contains(NOOP), "{}", first.stdout);
    let dash = b.container("dashboard").unwrap();
    let second = b.apply();
    assert!(
        !second.stdout.contains(NOOP),
        "never idempotent (#695): {}",
        second.stdout
    );
    assert_ne!(b.container("dashboard").unwrap()["id"], dash["id"]);
}

#[test]
fn faults_from_the_environment_and_unknown_names() {
    let b = FakeBox::new(&[]);
    let out = std::process::Command::new(b.path().join("pithead"))
        .args(["apply", "-y"])
        .env("PITHEAD_FAKE_FAULTS", "spurious-diff")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(NOOP));
    std::fs::write(b.path().join("faults"), "no-such-fault\n").unwrap();
    let out = b.apply();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unknown fault"), "{}", out.stderr);
}
