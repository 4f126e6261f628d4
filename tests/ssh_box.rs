//! The box target over SSH against a real sshd started on 127.0.0.1 (throwaway host and
//! client keys, key-only login). Fails, never skips, when sshd is missing.

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::exec::{Executor, Invocation};
use canary::safety::{Snapshot, WalkEnd, guard};
use canary::signal::Signals;
use canary::target::Target;
use canary::target::box_target::{BoxKind, BoxTarget};
use serde_json::json;
use support::*;

async fn open(sshd: &Sshd, b: &ScriptedBox) -> BoxTarget {
    let mut o = b.options(BoxKind::Ssh {
        host: "canary-test".into(),
        dir: b.dir_str(),
    });
    o.ssh = Some(sshd.ssh_options());
    match BoxTarget::open(o).await {
        Ok(t) => t,
        Err(e) => panic!("cannot open the SSH box: {e}\nsshd log:\n{}", sshd.log()),
    }
}

#[tokio::test]
async fn commands_run_over_one_connection_with_arguments_as_data() {
    let sshd = Sshd::start();
    let b = ScriptedBox::new();
    let t = open(&sshd, &b).await;
    let Executor::Ssh(ssh) = t.executor() else {
        panic!("not ssh")
    };
    assert_eq!(ssh.host(), "canary-test");
    let weird = "it's \"quoted\" $(echo INJECTED) `echo INJECTED` ; echo INJECTED\nnext line";
    let out = t
        .executor()
        .run(&Invocation::new(["printf", "%s", weird]))
        .await
        .unwrap();
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout_text(),
        weird,
        "the argument must arrive byte for byte"
    );
    let out = t
        .executor()
        .run(&Invocation::new(["sh", "-c", "exit 7"]))
        .await
        .unwrap();
    assert_eq!(out.code, 7);
}

#[tokio::test]
async fn config_is_written_atomically_with_hostile_values_intact() {
    let sshd = Sshd::start();
    let b = ScriptedBox::new();
    let mut t = open(&sshd, &b).await;
    let marker = b.dir().join("pwned");
    let nasty = format!(
        "\"q\" 'q' $(touch {m}) `touch {m}`\n;touch {m}",
        m = marker.display()
    );
    let cfg = json!({"p2pool": {"pool": "mini"}, "dashboard": {"hostname": nasty}});
    t.write_config(&cfg).await.unwrap();
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.dir().join("config.json")).unwrap()).unwrap();
    assert_eq!(on_disk, cfg);
    assert!(!marker.exists(), "a config value was executed on the box");
    let r = t.apply().await.unwrap();
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(
        b.calls().contains("apply -y | TZ=UTC LC_ALL=C"),
        "{}",
        b.calls()
    );
}

#[tokio::test]
async fn observation_over_ssh_matches_the_box_and_leaks_nothing() {
    let sshd = Sshd::start();
    let b = ScriptedBox::new();
    let mut t = open(&sshd, &b).await;
    let (obs, text) = t.observe_full().await.unwrap();
    assert_eq!(obs.secret_fingerprint, b.expected_fingerprint());
    assert_eq!(obs.containers.len(), 2);
    assert_eq!(obs.api["pool"]["type"], "mini");
    let run = tempfile::tempdir().unwrap();
    t.capture_artifacts(1, run.path()).await.unwrap();
    let mut seen = format!(
        "{}{}{}",
        serde_json::to_string(&obs).unwrap(),
        text.status,
        text.containers
    );
    for f in files_under(run.path()) {
        seen.push_str(&std::fs::read_to_string(f).unwrap());
    }
    for secret in [PLANTED_TOKEN, PLANTED_PASSWORD] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    assert!(
        seen.contains("<redacted:PROXY_AUTH_TOKEN>"),
        "the token was seen and redacted"
    );
}

#[tokio::test]
async fn a_killed_sshd_is_reconnected_and_reads_are_retried() {
    let mut sshd = Sshd::start();
    let b = ScriptedBox::new();
    let mut t = open(&sshd, &b).await;
    t.observe().await.unwrap();
    sshd.kill();
    // sshd comes back only after a while: the reconnect has to wait for it with backoff.
    let restarter = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(500));
        sshd.restart();
        sshd
    });
    let obs = t.observe().await.expect("observation after reconnect");
    let _sshd = restarter.await.unwrap();
    assert_eq!(obs.secret_fingerprint, b.expected_fingerprint());
    let Executor::Ssh(ssh) = t.executor() else {
        panic!("not ssh")
    };
    assert_eq!(ssh.reconnects(), 1);
}

#[tokio::test]
async fn an_apply_cut_by_a_dropped_connection_is_not_repeated() {
    let mut sshd = Sshd::start();
    let b = ScriptedBox::new();
    let mut t = open(&sshd, &b).await;
    // A pithead whose apply hangs long enough for sshd to be killed under it.
    let slow = std::fs::read_to_string(b.dir().join("pithead"))
        .unwrap()
        .replace("  apply)\n", "  apply)\n    sleep 1\n");
    put(&b.dir().join("pithead"), &slow);
    let killer = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(400));
        sshd.restart();
        sshd
    });
    let e = t.apply().await.unwrap_err().to_string();
    let _sshd = killer.await.unwrap();
    assert!(e.contains("not repeated"), "{e}");
    assert!(e.contains("connection"), "{e}");
    // The connection is usable again.
    t.observe().await.unwrap();
}

#[tokio::test]
async fn dropped_connection_during_a_walk_then_restore_over_ssh() {
    let mut sshd = Sshd::start();
    let b = ScriptedBox::new();
    let mut t = open(&sshd, &b).await;
    let original = std::fs::read(b.dir().join("config.json")).unwrap();
    let snap = Snapshot::take(&mut t).await.unwrap();
    let opts = quick_restore(5);
    let mut signals = Signals::none();
    let sshd_ref = &mut sshd;
    let out = guard(
        &mut t,
        &snap,
        &mut signals,
        false,
        &opts,
        async |t: &mut BoxTarget| {
            t.write_config(&json!({"p2pool": {"pool": "main"}}))
                .await
                .unwrap();
            t.apply().await.unwrap();
            // The connection drops mid-walk; the walk gives up on the next step.
            sshd_ref.restart();
            t.write_config(&json!({"p2pool": {"pool": "nano"}}))
                .await
                .map(|_| ())
        },
    )
    .await;
    assert!(matches!(out.end, WalkEnd::Finished(_)));
    let report = out.restore.unwrap().unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_eq!(
        std::fs::read(b.dir().join("config.json")).unwrap(),
        original
    );
}
