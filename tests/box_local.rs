//! The box target over a local shell against a scripted box: commands run with the pinned
//! environment, config.json is written atomically with hostile values intact, observations
//! are parsed and redacted, the safety net restores, and no planted secret reaches an artifact.

#[path = "box_support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use canary::safety::{Snapshot, restore};
use canary::target::Target;
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions};
use serde_json::json;
use support::*;

#[tokio::test]
async fn observes_the_box_in_one_call_and_redacts() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let (obs, text) = t.observe_full().await.unwrap();
    assert_eq!(obs.status_exit, 0);
    let names: Vec<_> = obs.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["p2pool", "tor"]);
    assert_eq!(obs.containers[1].health.as_deref(), Some("healthy"));
    assert_eq!(obs.env.get("XVB_ENABLED").map(String::as_str), Some("true"));
    assert!(
        !obs.env.contains_key("PROXY_AUTH_TOKEN"),
        "secret lines stay on the box"
    );
    assert!(!obs.env.contains_key("P2POOL_ONION_ADDRESS"));
    assert_eq!(obs.api["pool"]["type"], "mini");
    assert_eq!(obs.secret_fingerprint, b.expected_fingerprint());
    let all = format!(
        "{}{}{}",
        serde_json::to_string(&obs).unwrap(),
        text.status,
        text.containers
    );
    assert!(!all.contains(PLANTED_TOKEN), "planted token leaked: {all}");
    assert!(
        text.status.contains("<redacted:PROXY_AUTH_TOKEN>"),
        "{}",
        text.status
    );
    // One observation is one round trip: status and ps ran once each.
    let calls = b.calls();
    assert_eq!(calls.matches("status |").count(), 1, "{calls}");
    assert_eq!(calls.matches("ps --format json |").count(), 1, "{calls}");
}

#[tokio::test]
async fn apply_runs_with_the_pinned_environment() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let r = t.apply().await.unwrap();
    assert_eq!(r.exit_code, 0);
    assert!(r.output.contains("Configuration applied."), "{}", r.output);
    let again = t.apply().await.unwrap();
    assert!(
        again.output.contains("No configuration changes detected"),
        "{}",
        again.output
    );
    let calls = b.calls();
    assert!(calls.contains("apply -y | TZ=UTC LC_ALL=C"), "{calls}");
}

#[tokio::test]
async fn every_cli_call_runs_under_the_boxs_own_zone() {
    let b = ScriptedBox::new();
    let env = std::fs::read_to_string(b.dir().join(".env")).unwrap();
    std::fs::write(
        b.dir().join(".env"),
        env.replace("DASHBOARD_TZ=UTC", "DASHBOARD_TZ=\"Europe/Berlin\""),
    )
    .unwrap();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    assert_eq!(t.tz(), "Europe/Berlin");
    assert_eq!(
        t.describe()["tz"],
        "Europe/Berlin",
        "recorded in the manifest"
    );
    t.apply().await.unwrap();
    t.apply_config(&json!({"p2pool": {"pool": "main"}}))
        .await
        .unwrap();
    t.observe().await.unwrap();
    let calls = b.calls();
    // The harmless `--help` probe at open (can the CLI run at all?), then the four.
    assert_eq!(calls.lines().count(), 5, "{calls}");
    assert!(
        calls
            .lines()
            .all(|l| l.ends_with("| TZ=Europe/Berlin LC_ALL=C")),
        "{calls}"
    );
}

#[tokio::test]
async fn a_node_username_that_is_a_common_word_is_not_masked_in_cli_output() {
    let b = ScriptedBox::new();
    let pw = "node-pass-41c9e2";
    std::fs::write(
        b.dir().join("config.json"),
        format!(
            "{{\"monero\": {{\"node_username\": \"pithead\", \"node_password\": \"{pw}\"}}}}\n"
        ),
    )
    .unwrap();
    let env = std::fs::read_to_string(b.dir().join(".env")).unwrap();
    std::fs::write(
        b.dir().join(".env"),
        format!("{env}MONERO_NODE_USERNAME=pithead\nMONERO_NODE_PASSWORD={pw}\n"),
    )
    .unwrap();
    // A CLI that names itself in every line and prints the password once.
    std::fs::write(
        b.dir().join("pithead"),
        format!(
            "#!/bin/sh\necho '[pithead] Parsing configuration...'\n\
             echo '[pithead] rpc-login=pithead:{pw}'\ngrep '^MONERO_NODE' .env\n"
        ),
    )
    .unwrap();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let r = t
        .pithead(&["doctor"], Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        r.output.contains("[pithead] Parsing configuration..."),
        "{}",
        r.output
    );
    assert!(
        r.output
            .contains("[pithead] rpc-login=pithead:<redacted:MONERO_NODE_PASSWORD>"),
        "{}",
        r.output
    );
    assert!(
        r.output
            .contains("MONERO_NODE_USERNAME=<redacted:MONERO_NODE_USERNAME>"),
        "the username is still masked at its place: {}",
        r.output
    );
    assert!(!r.output.contains(pw), "{}", r.output);
}

#[tokio::test]
async fn hostile_config_values_arrive_intact_and_nothing_runs() {
    let b = ScriptedBox::new();
    std::fs::set_permissions(
        b.dir().join("config.json"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let marker = b.dir().join("pwned");
    let nasty = format!(
        "a \"quoted\" 'single' $(touch {m}) `touch {m}` ; touch {m}\nsecond line\\n $HOME",
        m = marker.display()
    );
    let cfg = json!({"config_version": "2.0.0", "dashboard": {"hostname": nasty}});
    t.write_config(&cfg).await.unwrap();
    let back = t.read_config().await.unwrap();
    assert_eq!(back, cfg);
    assert!(!marker.exists(), "a config value was executed by a shell");
    let mode = std::fs::metadata(b.dir().join("config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the atomic write keeps the old mode");
    let leftovers: Vec<_> = files_under(b.dir())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".canary."))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[tokio::test]
async fn restore_puts_config_back_and_verifies() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    t.apply().await.unwrap();
    let original = std::fs::read(b.dir().join("config.json")).unwrap();
    let snap = Snapshot::take(&mut t).await.unwrap();
    t.write_config(&json!({"p2pool": {"pool": "main"}}))
        .await
        .unwrap();
    t.apply().await.unwrap();
    assert_ne!(
        std::fs::read(b.dir().join("config.json")).unwrap(),
        original
    );
    let report = restore(&mut t, &snap, &quick_restore(5)).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert!(report.config_written);
    assert_eq!(
        std::fs::read(b.dir().join("config.json")).unwrap(),
        original
    );
    assert!(
        b.calls().lines().last().unwrap().starts_with("ps"),
        "verified after the re-apply"
    );
}

#[tokio::test]
async fn restore_reports_a_changed_fingerprint_and_a_lost_container() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let snap = Snapshot::take(&mut t).await.unwrap();
    // The walk "regenerated" the proxy token and p2pool stopped.
    let env = std::fs::read_to_string(b.dir().join(".env")).unwrap();
    put(
        &b.dir().join(".env"),
        &env.replace(PLANTED_TOKEN, "a-new-minted-token-000"),
    );
    put(
        &b.dir().join("containers.jsonl"),
        "{\"name\":\"tor\",\"id\":\"t1\",\"started\":\"s1\",\"state\":\"running\",\"health\":\"healthy\"}\n\
         {\"name\":\"p2pool\",\"id\":\"p1\",\"started\":\"s1\",\"state\":\"exited\"}\n",
    );
    let report = restore(&mut t, &snap, &quick_restore(5)).await.unwrap();
    let all = report.differences.join("\n");
    assert!(all.contains("fingerprint changed"), "{all}");
    assert!(
        all.contains("containers no longer running: p2pool"),
        "{all}"
    );
    assert!(all.contains("not ready"), "{all}");
    assert!(
        !all.contains("a-new-minted-token-000"),
        "the new secret leaked: {all}"
    );
}

#[tokio::test]
async fn check_only_changes_nothing_and_names_problems() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let before = std::fs::read(b.dir().join("config.json")).unwrap();
    let (_, problems) = t.check_only().await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    put(&b.dir().join("status.code"), "1");
    let (_, problems) = t.check_only().await.unwrap();
    assert_eq!(problems, vec!["pithead status exited 1".to_string()]);
    assert_eq!(std::fs::read(b.dir().join("config.json")).unwrap(), before);
    assert!(!b.calls().contains("apply"), "check must not apply");
}

#[tokio::test]
async fn artifacts_are_complete_and_hold_no_secret() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let run = tempfile::tempdir().unwrap();
    let dir = t.capture_artifacts(3, run.path()).await.unwrap();
    assert_eq!(dir, run.path().join("artifacts").join("step-3"));
    for f in [
        "status.txt",
        "containers.txt",
        "containers.json",
        "api-state.json",
        "doctor.txt",
        "config.json",
        "env.txt",
        "logs.txt",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let env = std::fs::read_to_string(dir.join("env.txt")).unwrap();
    assert!(env.contains("XVB_ENABLED=true"), "{env}");
    assert!(env.contains("PROXY_AUTH_TOKEN=<redacted"), "{env}");
    let doctor = std::fs::read_to_string(dir.join("doctor.txt")).unwrap();
    assert!(doctor.contains("All checks passed."), "{doctor}");
    let logs = std::fs::read_to_string(dir.join("logs.txt")).unwrap();
    assert!(
        logs.contains("p2pool: authenticated with <redacted:PROXY_AUTH_TOKEN>"),
        "{logs}"
    );
    for f in files_under(run.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        for secret in [
            PLANTED_TOKEN,
            PLANTED_PASSWORD,
            "abcdefghijklmnopqrstuvwxyz234567",
        ] {
            assert!(
                !text.contains(secret),
                "{} leaks {secret}:\n{text}",
                f.display()
            );
        }
    }
}

#[tokio::test]
async fn unusable_boxes_say_what_to_do() {
    let missing = BoxTargetOptions::new(BoxKind::Local {
        dir: "/nonexistent/stack".into(),
    });
    let e = BoxTarget::open(missing).await.unwrap_err().to_string();
    assert!(e.contains("does not exist"), "{e}");
    let b = ScriptedBox::new();
    let mut o = b.local_options();
    o.pithead = "./no-such-pithead".into();
    let e = BoxTarget::open(o).await.unwrap_err().to_string();
    assert!(e.contains("--pithead"), "{e}");
    std::fs::remove_file(b.dir().join(".env")).unwrap();
    let e = BoxTarget::open(b.local_options())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(".env"), "{e}");
}

#[tokio::test]
async fn a_hung_command_times_out() {
    let b = ScriptedBox::new();
    // The short deadline is set after opening: the open's probe (docker-compose version
    // among it) may take longer than 300 ms on a loaded machine.
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    t.set_command_timeout(Duration::from_millis(300));
    let hang = "#!/bin/sh\nsleep 30\n";
    put(&b.dir().join("pithead"), hang);
    let start = std::time::Instant::now();
    let e = t.observe().await.unwrap_err().to_string();
    // The real command and its deadline, never the `sh` wrapper.
    assert!(
        e.contains("did not return within 300ms (deadline.observe)"),
        "{e}"
    );
    assert!(e.contains("./pithead status"), "{e}");
    assert!(!e.contains("`sh`"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn apply_config_writes_then_applies_in_one_call() {
    let b = ScriptedBox::new();
    let mut t = BoxTarget::open(b.local_options()).await.unwrap();
    let cfg = json!({"p2pool": {"pool": "main"}, "x": "$(touch nope) \"q\"\n"});
    let r = t.apply_config(&cfg).await.unwrap();
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(r.output.contains("Configuration applied."), "{}", r.output);
    assert_eq!(t.read_config().await.unwrap(), cfg);
    assert!(!b.dir().join("nope").exists());
    assert!(
        b.calls().contains("apply -y | TZ=UTC LC_ALL=C"),
        "{}",
        b.calls()
    );
    let r = t.apply_config(&cfg).await.unwrap();
    assert!(
        r.output.contains("No configuration changes detected"),
        "{}",
        r.output
    );
}
