//! The fake box end to end: real processes on ephemeral 127.0.0.1 ports, driven through the
//! generated `pithead` entry point like canary's box target drives a real one.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{FakeBox, alive};

const NOOP: &str = "No configuration changes detected. Nothing to apply.";

#[test]
fn pool_flip_recreates_only_p2pool_and_the_dashboard_reports_it() {
    let b = FakeBox::new(&[]);
    let before = b.ps();
    assert_eq!(
        b.api_until("mini pool", |v| v["pool"]["type"] == "Mini")["pool"]["type"],
        "Mini"
    );
    b.set("p2pool.pool", json!("main"));
    let out = b.apply();
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.stdout.contains("Configuration applied."),
        "{}",
        out.stdout
    );
    let after = b.ps();
    assert_eq!(before.len(), after.len());
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old["name"], new["name"]);
        if old["name"] == "p2pool" {
            assert_ne!(old["id"], new["id"], "p2pool must be recreated");
        } else {
            assert_eq!(old["id"], new["id"], "{} must keep its id", old["name"]);
            assert_eq!(
                old["started"], new["started"],
                "{} must not restart",
                old["name"]
            );
        }
        assert_eq!(new["state"], "running");
    }
    assert_eq!(b.env("P2POOL_PORT"), "37889");
    let api = b.api_until("main pool with hashes", |v| {
        v["pool"]["type"] == "Main" && v["stratum"]["total_hashes"].as_u64() > Some(0)
    });
    assert!(api["proxy_workers"].as_u64() >= Some(1), "{api}");
    assert_eq!(api["sync"]["monero"]["state"], "done");
    assert_eq!(api["monero"]["mode"], "Pruned");

    let again = b.apply();
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains(NOOP), "{}", again.stdout);
    assert_eq!(
        b.ps(),
        after,
        "a no-op apply touches nothing (health aside)"
    );
}

#[test]
fn refused_configs_exit_1_and_write_nothing() {
    let b = FakeBox::new(&[]);
    let env_before = b.env_text();
    let good = b.config();
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("p2pool.pool", json!("huge")),
        ("tari.mode", json!("sometimes")),
        ("monero.view_key", json!("a".repeat(64))), // with remote monero, below
        ("monero.remote.host", json!("")),
        (
            "dashboard.auth.username",
            json!("admin\nPROXY_AUTH_TOKEN=x"),
        ),
        ("network.subnet", json!("10.1.2.3/16")),
        ("dashboard.secure", json!("yes")),
    ];
    for (path, value) in cases {
        b.write_config(&good);
        b.set(path, value.clone());
        if path.starts_with("monero.") {
            b.set("monero.mode", json!("remote"));
        }
        let out = b.apply();
        assert_eq!(
            out.code,
            1,
            "{path}={value} must be refused: {}",
            out.text()
        );
        assert!(out.stderr.contains("error:"), "{}", out.stderr);
        assert_eq!(b.env_text(), env_before, "{path}: .env must be untouched");
    }
    // Not JSON at all.
    std::fs::write(b.path().join("config.json"), "{ not json").unwrap();
    assert_eq!(b.apply().code, 1);
    b.write_config(&good);
    assert!(b.apply().stdout.contains(NOOP));
}

#[test]
fn env_posture_follows_the_config() {
    let b = FakeBox::new(&[]);
    let meta = std::fs::metadata(b.path().join(".env")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    assert_eq!(b.env("COMPOSE_PROFILES"), "local_node,local_tari");
    assert_eq!(b.env("MONERO_RPC_BIND"), "127.0.0.1");
    b.set("monero.rpc_lan_access", json!(true));
    b.set("monero.clearnet_initial_sync", json!(true));
    b.set("monero.prune", json!(false));
    b.set("dashboard.secure", json!(false));
    b.set("xvb.enabled", json!(false));
    let out = b.apply();
    assert_eq!(out.code, 0, "{}", out.text());
    assert_eq!(b.env("MONERO_RPC_BIND"), "0.0.0.0");
    assert_eq!(b.env("MONERO_PRUNE"), "0");
    assert_eq!(
        b.env("MONERO_CLEARNET_SYNC"),
        "false",
        "forced off while the firewall is on (#2649)"
    );
    assert_eq!(b.env("DASHBOARD_SECURE"), "false");
    assert_eq!(b.env("XVB_ENABLED"), "false");
    let caddy = std::fs::read_to_string(b.path().join("Caddyfile")).unwrap();
    assert!(caddy.contains("http://127.0.0.1 {"), "{caddy}");
    let api = b.api_until("full node shown", |v| v["monero"]["mode"] == "Full");
    assert_eq!(api["xvb"]["enabled"], false);

    b.set("network.tor_egress_firewall", json!(false));
    assert_eq!(b.apply().code, 0);
    assert_eq!(b.env("MONERO_CLEARNET_SYNC"), "true");

    b.set("monero.view_key", json!("b".repeat(64)));
    assert_eq!(b.apply().code, 0);
    assert_eq!(b.env("PAYOUT_CONFIRM_ENABLED"), "true");
    assert!(
        b.env("COMPOSE_PROFILES")
            .split(',')
            .any(|p| p == "payout_confirm")
    );
    assert!(b.container("wallet-rpc").is_some());
    b.api_until("payout confirmation shown", |v| {
        v["earnings"]["confirmed"]["enabled"] == true
    });
}

#[test]
fn secrets_are_kept_across_applies() {
    let b = FakeBox::new(&[]);
    let fp = b.fingerprint();
    let token = b.env("PROXY_AUTH_TOKEN");
    for (path, value) in [
        ("p2pool.pool", json!("nano")),
        ("monero.mode", json!("remote")),
        ("monero.mode", json!("local")),
        ("tari.mode", json!("off")),
    ] {
        b.set(path, value);
        let out = b.apply();
        assert_eq!(out.code, 0, "{}", out.text());
        assert_eq!(b.fingerprint(), fp, "after {path}");
        let st = b.pithead(&["status"]);
        assert_eq!(st.code, 0, "after {path}: {}", st.text());
        let remote = b
            .env("COMPOSE_PROFILES")
            .split(',')
            .all(|p| p != "local_node");
        assert_eq!(b.container("monerod").is_none(), remote, "after {path}");
    }
    assert_eq!(b.env("PROXY_AUTH_TOKEN"), token);
    assert_eq!(
        b.env("TARI_REQUIRED"),
        "false",
        "tari.mode=off forces TARI_REQUIRED=false"
    );
}

#[test]
fn a_profile_change_recreates_tor_and_restarts_monerod() {
    let b = FakeBox::new(&[]);
    let tor = b.container("tor").unwrap();
    let monerod = b.container("monerod").unwrap();
    b.set("tari.mode", json!("remote"));
    b.set("tari.remote.host", json!("tari.example.lan"));
    let out = b.apply();
    assert_eq!(out.code, 0, "{}", out.text());
    let tor2 = b.container("tor").unwrap();
    let monerod2 = b.container("monerod").unwrap();
    assert_ne!(tor["id"], tor2["id"], "tor recreated");
    assert_eq!(monerod["id"], monerod2["id"], "monerod keeps its container");
    assert_ne!(
        monerod["started"], monerod2["started"],
        "monerod restarted (#972)"
    );
    assert!(
        b.container("tari").is_none(),
        "the deactivated profile's container is removed (#795)"
    );
    assert_eq!(b.env("TARI_MEM_LIMIT"), "0m");
}

#[test]
fn status_and_doctor_follow_the_containers() {
    let b = FakeBox::new(&[]);
    let ok = b.pithead(&["status"]);
    assert_eq!(ok.code, 0, "{}", ok.text());
    let doctor = b.pithead(&["doctor"]);
    assert_eq!(doctor.code, 0, "{}", doctor.text());
    assert!(doctor.stdout.contains("egress firewall is installed"));
    assert!(doctor.stdout.contains("All checks passed."));

    // A stopped proxy is "likely intentional"; a stopped monerod is a problem.
    assert_eq!(b.pithead(&["compose", "stop", "xmrig-proxy"]).code, 0);
    let held = b.pithead(&["status"]);
    assert_eq!(held.code, 0, "{}", held.text());
    assert!(held.stdout.contains("likely intentional"));
    assert_eq!(b.pithead(&["compose", "stop", "monerod"]).code, 0);
    assert_eq!(b.container("monerod").unwrap()["state"], "exited");
    assert_eq!(b.pithead(&["status"]).code, 1);
    b.api_until("monerod down badge", |v| {
        v["badges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["text"] == "monerod DOWN")
            && v["proxy_workers"] == 0
    });
    assert_eq!(b.pithead(&["up"]).code, 0);
    assert_eq!(b.pithead(&["status"]).code, 0);

    // Frozen (SIGSTOP) monerod: running but unhealthy, status 1; SIGCONT recovers.
    assert_eq!(
        b.pithead(&["compose", "kill", "-s", "SIGSTOP", "monerod"])
            .code,
        0
    );
    let frozen = b.container("monerod").unwrap();
    assert_eq!(
        (frozen["state"].as_str(), frozen["health"].as_str()),
        (Some("running"), Some("unhealthy"))
    );
    assert_eq!(b.pithead(&["status"]).code, 1);
    assert_eq!(
        b.pithead(&["compose", "kill", "-s", "SIGCONT", "monerod"])
            .code,
        0
    );
    assert_eq!(b.pithead(&["status"]).code, 0);

    // tor stopped: doctor fails.
    assert_eq!(b.pithead(&["compose", "stop", "tor"]).code, 0);
    let bad = b.pithead(&["doctor", "--json"]);
    assert_eq!(bad.code, 1);
    let report: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert!(report["summary"]["fail"].as_u64() >= Some(1));
}

#[test]
fn restart_keeps_ids_and_restart_tor_restarts_monerod() {
    let b = FakeBox::new(&[]);
    let before = b.ps();
    let out = b.pithead(&["restart", "tor"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let after = b.ps();
    for (o, n) in before.iter().zip(&after) {
        assert_eq!(o["id"], n["id"]);
        let restarted = o["name"] == "tor" || o["name"] == "monerod";
        assert_eq!(o["started"] != n["started"], restarted, "{}", o["name"]);
    }
    assert_eq!(b.pithead(&["restart", "nonsense"]).code, 1);
    assert_eq!(b.pithead(&["restart"]).code, 0);
    assert!(
        b.ps()
            .iter()
            .zip(&after)
            .all(|(n, o)| n["id"] == o["id"] && n["started"] != o["started"])
    );
}

#[test]
fn up_refuses_an_empty_proxy_token_and_apply_remints_it() {
    let b = FakeBox::new(&[]);
    let token = b.env("PROXY_AUTH_TOKEN");
    let fp = b.fingerprint();
    let emptied = b
        .env_text()
        .replace(&format!("PROXY_AUTH_TOKEN={token}"), "PROXY_AUTH_TOKEN=");
    std::fs::write(b.path().join(".env"), &emptied).unwrap();
    let ids = b.ps();
    let out = b.pithead(&["up"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("refusing to start an unauthenticated xmrig-proxy control API"),
        "{}",
        out.stderr
    );
    assert_eq!(b.ps(), ids, "up touched no container");
    // Restore the exact token: up works and the fingerprint is back.
    std::fs::write(
        b.path().join(".env"),
        emptied.replace(
            "PROXY_AUTH_TOKEN=\n",
            &format!("PROXY_AUTH_TOKEN={token}\n"),
        ),
    )
    .unwrap();
    assert_eq!(b.pithead(&["up"]).code, 0);
    assert_eq!(b.fingerprint(), fp);
    // apply mints a new token when it is empty (which changes the fingerprint, legitimately).
    std::fs::write(b.path().join(".env"), &emptied).unwrap();
    assert_eq!(b.apply().code, 0);
    assert!(!b.env("PROXY_AUTH_TOKEN").is_empty());
    assert_ne!(b.fingerprint(), fp);
}

#[test]
fn backup_down_restore_up_brings_the_pool_and_secrets_back() {
    let b = FakeBox::new(&[]);
    let fp = b.fingerprint();
    let out = b.pithead(&["backup", "-y", "--no-encrypt"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let archive = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup written: "))
        .unwrap()
        .to_string();
    assert_eq!(
        b.pithead(&["backup", "-y"]).code,
        1,
        "no passphrase and no --no-encrypt"
    );
    b.set("p2pool.pool", json!("nano"));
    assert_eq!(b.apply().code, 0);
    b.api_until("nano", |v| v["pool"]["type"] == "Nano");
    assert_eq!(
        b.pithead(&["restore", "-y", &archive]).code,
        1,
        "the stack must be stopped"
    );
    assert_eq!(b.pithead(&["down"]).code, 0);
    assert!(b.ps().is_empty());
    let restored = b.pithead(&["restore", "-y", &archive]);
    assert_eq!(restored.code, 0, "{}", restored.text());
    assert_eq!(b.pithead(&["up"]).code, 0);
    assert_eq!(b.fingerprint(), fp);
    assert_eq!(b.env("P2POOL_PORT"), "37888");
    b.api_until("mini again", |v| v["pool"]["type"] == "Mini");
    assert_eq!(b.pithead(&["status"]).code, 0);
}

#[test]
fn a_subnet_move_needs_down_then_up_and_the_marker_retries() {
    let b = FakeBox::new(&[]);
    b.set("network.subnet", json!("10.84.0.0/24"));
    let out = b.apply();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        b.path().join(".env.apply-incomplete").exists(),
        "the retry marker stays (#125)"
    );
    let again = b.apply();
    assert_eq!(
        again.code,
        1,
        "the marker makes the re-apply retry: {}",
        again.text()
    );
    assert!(!again.stdout.contains("No configuration changes"));
    assert_eq!(b.pithead(&["down"]).code, 0);
    assert_eq!(b.pithead(&["up"]).code, 0);
    assert_eq!(b.env("NETWORK_PREFIX"), "10.84.0");
    let retried = b.apply();
    assert_eq!(retried.code, 0, "{}", retried.text());
    assert!(!b.path().join(".env.apply-incomplete").exists());
}

#[test]
fn monerod_control_drives_the_sync_view() {
    let b = FakeBox::new(&[]);
    let port = b.port("monerod");
    let body = r#"{"mode":"syncing","height":100,"target_height":1000000000}"#;
    let (code, _) =
        fakes::http::request(port, "POST", "/control", Some(body), Duration::from_secs(2)).unwrap();
    assert_eq!(code, 200);
    let (code, info) =
        fakes::http::request(port, "GET", "/get_info", None, Duration::from_secs(2)).unwrap();
    assert_eq!(code, 200);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["synchronized"], false);
    b.api_until("monero syncing", |v| {
        v["sync"]["monero"]["state"] == "syncing"
    });
    let rpc = r#"{"jsonrpc":"2.0","id":"0","method":"get_info"}"#;
    let (_, reply) =
        fakes::http::request(port, "POST", "/json_rpc", Some(rpc), Duration::from_secs(2)).unwrap();
    assert!(reply.contains("\"result\""), "{reply}");
    // A short target is reached over time, then the node reads as synced.
    let body = r#"{"mode":"syncing","height":100,"target_height":2000}"#;
    fakes::http::request(port, "POST", "/control", Some(body), Duration::from_secs(2)).unwrap();
    b.api_until("monero done", |v| v["sync"]["monero"]["state"] == "done");
    fakes::http::request(
        port,
        "POST",
        "/control",
        Some(r#"{"mode":"down"}"#),
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(
        fakes::http::request(port, "GET", "/get_info", None, Duration::from_millis(500)).is_none()
    );
    assert_eq!(
        b.pithead(&["status"]).code,
        1,
        "a down monerod is unhealthy"
    );
}

#[test]
fn teardown_leaves_no_process_behind() {
    let b = FakeBox::new(&[]);
    b.set("p2pool.pool", json!("main"));
    assert_eq!(b.apply().code, 0);
    let pids = b.recorded_pids();
    assert!(pids.len() >= 10, "{pids:?}");
    assert!(pids.iter().filter(|(p, s)| alive(*p, *s)).count() >= 9);
    let out = b.teardown();
    assert_eq!(out.code, 0, "{}", out.text());
    let deadline = Instant::now() + Duration::from_secs(3);
    while pids.iter().any(|(p, s)| alive(*p, *s)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let left: Vec<_> = pids.iter().filter(|(p, s)| alive(*p, *s)).collect();
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn a_daemon_exits_promptly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(support::BIN)
        .args(["daemon", "monerod", "--port", &port.to_string()])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "daemon never listened");
        std::thread::sleep(Duration::from_millis(2));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(1), "SIGTERM ignored");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_held_lock_gives_exit_75() {
    use std::os::fd::AsRawFd;
    let b = FakeBox::new(&[]);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(b.path().join(".pithead.lock"))
        .unwrap();
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
    let out = std::process::Command::new(b.path().join("pithead"))
        .args(["apply", "-y"])
        .env("PITHEAD_LOCK_TIMEOUT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75));
    // Read-only commands do not wait for the lock.
    assert_eq!(b.pithead(&["status"]).code, 0);
    drop(file);
    assert_eq!(b.apply().code, 0);
}

#[test]
fn both_entry_point_forms_find_their_stack_dir() {
    let linked = FakeBox::new(&[]);
    assert!(
        std::fs::symlink_metadata(linked.path().join("pithead"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let out = std::process::Command::new("./pithead")
        .arg("status")
        .current_dir(linked.path())
        .env_remove("PITHEAD_FAKE_DIR")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let scripted = FakeBox::with_args(&[], &["--script-entry"]);
    assert!(
        std::fs::read_to_string(scripted.path().join("pithead"))
            .unwrap()
            .starts_with("#!/bin/sh")
    );
    // Called from elsewhere, with a misleading PITHEAD_FAKE_DIR in the caller's environment.
    let out = std::process::Command::new(scripted.path().join("pithead"))
        .args(["ps", "--format", "json"])
        .current_dir("/")
        .env("PITHEAD_FAKE_DIR", linked.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let scripted_ids: Vec<String> = scripted.ps().iter().map(|c| c["id"].to_string()).collect();
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen_ids: Vec<String> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].to_string())
        .collect();
    assert_eq!(
        seen_ids, scripted_ids,
        "the script resolves its own directory"
    );
}

#[test]
fn the_docker_engine_refuses_a_box_set_up_for_processes() {
    let b = FakeBox::new(&[]);
    let out = std::process::Command::new(b.path().join("pithead"))
        .args(["up"])
        .env("PITHEAD_FAKE_ENGINE", "docker")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not set up for the docker engine"));
}
