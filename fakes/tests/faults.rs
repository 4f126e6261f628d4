//! Each injected fault, switched on in a fake box, changes what canary observes; the same
//! step on a clean box does not.

mod support;

use serde_json::json;
use support::FakeBox;

const NOOP: &str = "No configuration changes detected. Nothing to apply.";

fn caddy(b: &FakeBox) -> String {
    std::fs::read_to_string(b.path().join("Caddyfile")).unwrap()
}

/// Flips dashboard.secure false then true again; returns (Caddyfile back on https://, caddy
/// restarted by the second flip).
fn secure_round_trip(b: &FakeBox) -> (bool, bool) {
    b.set("dashboard.secure", json!(false));
    assert_eq!(b.apply().code, 0);
    assert!(caddy(b).contains("http://127.0.0.1 {"));
    let before = b.container("caddy").unwrap();
    b.set("dashboard.secure", json!(true));
    assert_eq!(b.apply().code, 0);
    let after = b.container("caddy").unwrap();
    assert_eq!(
        before["id"], after["id"],
        "caddy is never recreated by a Caddyfile change"
    );
    (
        caddy(b).contains("https://127.0.0.1 {"),
        before["started"] != after["started"],
    )
}

/// The site the running caddy loaded at its start.
fn served_site(b: &FakeBox) -> String {
    let (_, body) = fakes::http::request(
        b.port("caddy"),
        "GET",
        "/health",
        None,
        std::time::Duration::from_secs(2),
    )
    .unwrap();
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["site"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn stale_caddy_scheme() {
    let clean = FakeBox::new(&[]);
    assert_eq!(secure_round_trip(&clean), (true, true));
    assert_eq!(served_site(&clean), "https://127.0.0.1");
    let faulty = FakeBox::new(&["stale-caddy-scheme"]);
    assert_eq!(secure_round_trip(&faulty), (true, false));
    assert_eq!(
        served_site(&faulty),
        "http://127.0.0.1",
        "caddy still serves the stale site"
    );
}

fn tari_to_remote(b: &FakeBox) -> Option<serde_json::Value> {
    b.set("tari.mode", json!("remote"));
    b.set("tari.remote.host", json!("tari.example.lan"));
    let out = b.apply();
    assert_eq!(out.code, 0, "{}", out.text());
    b.container("tari")
}

#[test]
fn leftover_profile_container() {
    assert!(tari_to_remote(&FakeBox::new(&[])).is_none());
    let orphan =
        tari_to_remote(&FakeBox::new(&["leftover-profile-container"])).expect("tari left behind");
    assert_eq!(orphan["state"], "running");
}

#[test]
fn rotated_proxy_token() {
    for (faults, rotates) in [(&[][..], false), (&["rotated-proxy-token"][..], true)] {
        let b = FakeBox::new(faults);
        let fp = b.fingerprint();
        b.set("p2pool.pool", json!("nano"));
        assert_eq!(b.apply().code, 0);
        assert_eq!(
            b.fingerprint(),
            fp,
            "a pool flip does not recreate xmrig-proxy"
        );
        b.set("p2pool.stratum_tls", json!(true));
        assert_eq!(b.apply().code, 0);
        assert_eq!(b.fingerprint() != fp, rotates, "faults {faults:?}");
        assert!(
            b.apply().stdout.contains(NOOP),
            "the next apply is still a no-op"
        );
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
fn lost_apply_incomplete_marker() {
    let clean = FakeBox::new(&[]);
    let (out, _) = failed_flip_then_reapply(&clean);
    assert!(out.contains("Configuration applied."), "{out}");
    clean.api_until("nano after the retry", |v| v["pool"]["type"] == "Nano");

    let faulty = FakeBox::new(&["lost-apply-incomplete-marker"]);
    let (out, api) = failed_flip_then_reapply(&faulty);
    assert!(out.contains(NOOP), "{out}");
    assert_eq!(faulty.env("P2POOL_FLAGS").split(' ').next(), Some("--nano"));
    assert_eq!(
        api["pool"]["type"], "Mini",
        "p2pool still runs the old pool (#125)"
    );
}

#[test]
fn tor_without_monerod_restart() {
    for (faults, restarted) in [
        (&[][..], true),
        (&["tor-without-monerod-restart"][..], false),
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
fn apply_as_restart() {
    let b = FakeBox::new(&["apply-as-restart"]);
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
fn spurious_path_diff() {
    let b = FakeBox::new(&["spurious-path-diff"]);
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
        .env("PITHEAD_FAKE_FAULTS", "spurious-diff") // the older alias of spurious-path-diff
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(NOOP));
    std::fs::write(b.path().join("faults"), "no-such-fault\n").unwrap();
    let out = b.apply();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unknown fault"), "{}", out.stderr);
}

#[test]
fn renamed_leftover_container() {
    for (faults, leftover) in [
        (&[][..], false),
        (&["renamed-leftover-container"][..], true),
    ] {
        let b = FakeBox::new(faults);
        let old_id = b.container("tari").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(tari_to_remote(&b).is_none(), "tari is removed at first");
        b.set("tari.mode", json!("local"));
        assert_eq!(b.apply().code, 0);
        let renamed = b.container(&format!("{old_id}_tari"));
        assert_eq!(
            renamed.is_some(),
            leftover,
            "faults {faults:?}: {:?}",
            b.ps()
        );
        if let Some(r) = renamed {
            assert_eq!(r["state"], "exited");
        }
        assert_eq!(b.container("tari").unwrap()["state"], "running");
    }
}

#[test]
fn stale_mini_flag() {
    for (faults, stale) in [(&[][..], false), (&["stale-mini-flag"][..], true)] {
        let b = FakeBox::new(faults);
        b.set("p2pool.pool", json!("main"));
        assert_eq!(b.apply().code, 0);
        assert_eq!(b.env("P2POOL_PORT"), "37889");
        assert_eq!(
            b.env("P2POOL_FLAGS").split(' ').any(|w| w == "--mini"),
            stale,
            "faults {faults:?}"
        );
        let want = if stale { "Mini" } else { "Main" };
        b.api_until("pool type", |v| v["pool"]["type"] == want);
    }
}

#[test]
fn raw_clearnet_flag() {
    for (faults, raw) in [(&[][..], "false"), (&["raw-clearnet-flag"][..], "true")] {
        let b = FakeBox::new(faults);
        b.set("monero.clearnet_initial_sync", json!(true));
        b.set("tari.clearnet_initial_sync", json!(true));
        assert_eq!(b.apply().code, 0);
        assert_eq!(b.env("TOR_EGRESS_FIREWALL"), "true");
        assert_eq!(b.env("MONERO_CLEARNET_SYNC"), raw, "faults {faults:?}");
        assert_eq!(b.env("TARI_CLEARNET_SYNC"), raw, "faults {faults:?}");
    }
}

#[test]
fn every_fault_name_and_alias_parses() {
    for f in fakes::faults::Fault::ALL {
        assert_eq!(fakes::faults::Fault::from_name_or_alias(f.name()), Some(f));
        if let Some(a) = f.alias() {
            assert_eq!(fakes::faults::Fault::from_name_or_alias(a), Some(f));
        }
    }
    assert_eq!(fakes::faults::Fault::from_name_or_alias("nope"), None);
}
