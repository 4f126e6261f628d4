//! What a step costs canary over SSH, beyond the commands the box runs.
//!
//! A real sshd is started on 127.0.0.1 (as in the SSH tests) in front of the scripted box.
//! Measured:
//! - `command/*`: one command's round trip, locally and over the multiplexed SSH connection
//!   (with an empty home, and with the user's own shell rc files, which the login shell reads
//!   for every command);
//! - `step/*`: one step as the runner does it (write config.json, `apply -y`, one observation),
//!   locally and over SSH. `step/ssh` minus `step/local` is the transport's share; the local
//!   step is what the box itself runs.
//!
//! Needs `/usr/sbin/sshd` (Debian: `apt-get install -y openssh-server`).

#[path = "../tests/box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::exec::Invocation;
use canary::target::Target;
use canary::target::box_target::{BoxKind, BoxTarget};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use support::{ScriptedBox, Sshd};

fn open_ssh(rt: &tokio::runtime::Runtime, sshd: &Sshd, b: &ScriptedBox) -> BoxTarget {
    let mut o = b.options(BoxKind::Ssh {
        host: "canary-test".into(),
        dir: b.dir_str(),
    });
    o.ssh = Some(sshd.ssh_options());
    rt.block_on(BoxTarget::open(o)).expect("open the SSH box")
}

fn step(rt: &tokio::runtime::Runtime, t: &mut BoxTarget, i: &mut u64) {
    *i += 1;
    let pool = if i.is_multiple_of(2) { "mini" } else { "main" };
    rt.block_on(async {
        t.write_config(&json!({"p2pool": {"pool": pool}, "n": *i}))
            .await
            .unwrap();
        let r = t.apply().await.unwrap();
        assert_eq!(r.exit_code, 0);
        let o = t.observe().await.unwrap();
        assert_eq!(o.containers.len(), 2);
    });
}

/// The same step in two round trips: write + apply in one script, then the observation.
fn step_2rt(rt: &tokio::runtime::Runtime, t: &mut BoxTarget, i: &mut u64) {
    *i += 1;
    let pool = if i.is_multiple_of(2) { "mini" } else { "main" };
    rt.block_on(async {
        let r = t
            .apply_config(&json!({"p2pool": {"pool": pool}, "n": *i}))
            .await
            .unwrap();
        assert_eq!(r.exit_code, 0);
        let o = t.observe().await.unwrap();
        assert_eq!(o.containers.len(), 2);
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sshd = Sshd::start();
    let sshd_rc = Sshd::start_with(false);
    let b = ScriptedBox::new();
    let mut local = rt.block_on(BoxTarget::open(b.local_options())).unwrap();
    let mut ssh = open_ssh(&rt, &sshd, &b);
    let ssh_rc = open_ssh(&rt, &sshd_rc, &b);
    let true_cmd = Invocation::new(["true"]).timeout(Duration::from_secs(30));

    let mut g = c.benchmark_group("command");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("local", |bn| {
        bn.iter(|| rt.block_on(local.executor().run(&true_cmd)).unwrap())
    });
    g.bench_function("ssh", |bn| {
        bn.iter(|| rt.block_on(ssh.executor().run(&true_cmd)).unwrap())
    });
    // The same command through the bare `ssh` client on the same master: what canary adds
    // beyond ssh itself.
    let canary::exec::Executor::Ssh(s) = ssh.executor() else {
        unreachable!()
    };
    let socket = rt.block_on(s.control_socket());
    g.bench_function("ssh_bare_client", |bn| {
        bn.iter(|| {
            let st = std::process::Command::new("ssh")
                .arg("-S")
                .arg(&socket)
                .args(["-o", "BatchMode=yes", "-T", "canary-test", "true"])
                .status()
                .unwrap();
            assert!(st.success());
        })
    });
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("ssh_with_user_rc", |bn| {
        bn.iter(|| rt.block_on(ssh_rc.executor().run(&true_cmd)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("step");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    let mut i = 0;
    g.bench_function("local", |bn| bn.iter(|| step(&rt, &mut local, &mut i)));
    g.bench_function("ssh", |bn| bn.iter(|| step(&rt, &mut ssh, &mut i)));
    g.bench_function("local_2rt", |bn| {
        bn.iter(|| step_2rt(&rt, &mut local, &mut i))
    });
    g.bench_function("ssh_2rt", |bn| bn.iter(|| step_2rt(&rt, &mut ssh, &mut i)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
