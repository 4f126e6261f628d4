//! Operations on the simulated stack through the real runner and oracle (issue #7): every
//! operation of the model passes every verdict on a faithful box, a backup survives a config
//! change and comes back with its secrets, each operation-dependent fault is caught by a short
//! walk with its operation and by nothing without it, and walks with operations replay
//! identically from a seed.

mod model_support;

mod run_files;

use std::collections::BTreeSet;

use canary::faults::Fault;
use canary::journal::{Event, JournalWriter, Verdict};
use canary::model::{Model, OpKind, Supplied, Transition};
use canary::rng::Seed;
use canary::run::{self, RunOptions, RunOutcome, Sink, run_walk, snapshot};
use canary::strategy::Generator;
use canary::target::Observation;
use canary::target::sim::SimTarget;
use model_support::pithead;
use run_files::without_wall_clock;

/// Every prerequisite, so walks may reach every value (the sim accepts any remote host).
fn supplied() -> Supplied {
    let mut s = Supplied::default();
    for (k, v) in [
        ("remote_monero_host", "node.lan"),
        ("remote_tari_host", "tari.lan"),
        ("full_data_dir", "/srv/monero-full"),
        ("monero_view_key", &"ab".repeat(32)),
        ("subnet_cold_apply", "yes"),
    ] {
        s.0.insert(k.into(), v.into());
    }
    s
}

/// `steps` on `sim` from its snapshot, with default options, told to `sink`.
fn walk_on<S: Sink>(
    sim: &mut SimTarget,
    m: &Model,
    s: &Supplied,
    steps: &[canary::plan::Step],
    sink: &mut S,
) -> RunOutcome {
    rt().block_on(async {
        let baseline = snapshot(sim).await.unwrap();
        run_walk(sim, m, s, &baseline, steps, &RunOptions::default(), sink)
            .await
            .unwrap()
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn op(m: &Model, name: &str) -> Transition {
    Transition::Operate(m.operation_index(name).unwrap_or_else(|| panic!("{name}")) as u16)
}

fn apply(m: &Model, pairs: &[(&str, &str)]) -> Transition {
    Transition::Apply(
        m.config_from_labels(&m.default_config(), pairs.iter().copied())
            .unwrap(),
    )
}

/// Keeps every verdict, passed or not, with its step.
#[derive(Default)]
struct Verdicts(Vec<(usize, Verdict)>);

impl Sink for Verdicts {
    fn journaling(&self) -> bool {
        true
    }
    fn event(&mut self, event: Event) -> std::io::Result<()> {
        if let Event::Verdict { step, verdict } = event {
            self.0.push((step, verdict));
        }
        Ok(())
    }
}

/// Runs `walk` from the default baseline on a fresh sim; returns the outcome, every verdict
/// and the box at the end.
fn run_transitions(
    seed: u64,
    faults: &[Fault],
    walk: &[Transition],
) -> (RunOutcome, Verdicts, SimTarget) {
    let m = pithead();
    let s = supplied();
    let steps = run::steps_from_transitions(&m, &s, &m.default_config(), walk.iter().cloned());
    let mut sim = SimTarget::new(Seed::from_u64(seed), faults);
    let mut sink = Verdicts::default();
    let out = walk_on(&mut sim, &m, &s, &steps, &mut sink);
    (out, sink, sim)
}

fn failed_checks(out: &RunOutcome) -> BTreeSet<(usize, String)> {
    out.failures
        .iter()
        .map(|f| (f.step, f.verdict.check.clone()))
        .collect()
}

fn assert_passes(seed: u64, faults: &[Fault], walk: &[Transition], what: &str) -> Verdicts {
    let (out, verdicts, _) = run_transitions(seed, faults, walk);
    assert!(
        out.passed(),
        "{what}: {:?}",
        out.failures
            .iter()
            .map(|f| (f.step, &f.verdict.check, &f.verdict.message))
            .collect::<Vec<_>>()
    );
    assert_eq!(out.steps_run, walk.len(), "{what}");
    verdicts
}

/// The walk that runs `name` once from the box `before` leaves (a restore needs a backup).
fn with_op(m: &Model, before: &[Transition], name: &str) -> Vec<Transition> {
    let mut walk = before.to_vec();
    let i = m.operation_index(name).unwrap();
    if m.operations[i].kind == OpKind::Restore {
        walk.push(op(m, "backup"));
    }
    walk.push(op(m, name));
    walk
}

/// Each operation's own checks ran on its step and passed.
fn assert_op_checks(m: &Model, name: &str, step: usize, verdicts: &Verdicts) {
    let o = &m.operations[m.operation_index(name).unwrap()];
    let mut want = vec!["op.actions", "op.config", "ready", "idempotent"];
    if !o.during.is_empty() {
        want.push("op.during");
    }
    if o.refuses.is_some() {
        want.push("op.refused");
    }
    if o.readmit.is_some() {
        want.push("op.readmit");
    }
    for check in want {
        assert!(
            verdicts
                .0
                .iter()
                .any(|(s, v)| *s == step && v.check == check && v.passed),
            "{name}: no passing {check} on step {step}"
        );
    }
}

#[test]
fn every_operation_passes_every_verdict_from_the_default_box() {
    let m = pithead();
    assert!(m.operations.len() >= 9);
    for (seed, o) in m.operations.iter().enumerate() {
        let walk = with_op(&m, &[], &o.name);
        let verdicts = assert_passes(seed as u64, &[], &walk, &o.name);
        assert_op_checks(&m, &o.name, walk.len() - 1, &verdicts);
    }
}

#[test]
fn node_operations_pass_after_each_tari_mode_change() {
    let m = pithead();
    let node_ops: Vec<&str> = m
        .operations
        .iter()
        .filter(|o| {
            o.requires_text
                .as_deref()
                .is_some_and(|r| r.contains("monero.mode"))
        })
        .map(|o| o.name.as_str())
        .collect();
    assert!(node_ops.contains(&"node-down") && node_ops.contains(&"restart-tor"));
    for tari in ["remote", "off", "local"] {
        // From local, "local" goes through off and back: a node op right after a profile change.
        let before = if tari == "local" {
            vec![apply(&m, &[("tari.mode", "off")]), apply(&m, &[])]
        } else {
            vec![apply(&m, &[("tari.mode", tari)])]
        };
        for name in &node_ops {
            let walk = with_op(&m, &before, name);
            let verdicts = assert_passes(7, &[], &walk, &format!("tari {tari}, {name}"));
            assert_op_checks(&m, name, walk.len() - 1, &verdicts);
        }
    }
}

#[test]
fn node_down_stops_the_proxy_and_readmits_it_only_after_the_stable_window() {
    let m = pithead();
    let (out, verdicts, _) = run_transitions(11, &[], &[op(&m, "node-down")]);
    assert!(out.passed(), "{:?}", out.failures);
    let during = verdicts
        .0
        .iter()
        .find(|(_, v)| v.check == "op.during")
        .unwrap();
    // The fault shows when the failover stops xmrig-proxy: NODE_DOWN_AFTER_SEC after the stop.
    let secs = during.1.observed["seconds"].as_f64().unwrap();
    assert!((60.0..62.0).contains(&secs), "{secs}");
    assert_eq!(during.1.observed["services"]["xmrig-proxy"], "exited");
    let readmit = verdicts
        .0
        .iter()
        .find(|(_, v)| v.check == "op.readmit")
        .unwrap();
    let healthy_for = readmit.1.observed["healthy_for_at_most"].as_f64().unwrap();
    assert!((120.0..150.0).contains(&healthy_for), "{healthy_for}");
}

#[test]
fn backup_then_a_pool_change_then_restore_brings_the_pool_and_the_secrets_back() {
    let m = pithead();
    let walk = [
        op(&m, "backup"),
        apply(&m, &[("p2pool.pool", "main")]),
        op(&m, "restore"),
    ];
    let base = SimTarget::new(Seed::from_u64(5), &[]).observe_sync();
    let verdicts = assert_passes(5, &[], &walk, "backup, pool main, restore");
    let on = |step: usize, check: &str| {
        verdicts
            .0
            .iter()
            .find(|(s, v)| *s == step && v.check == check)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {check} on step {step}"))
    };
    assert_eq!(on(1, "api.pool.type").observed, "Main");
    assert_eq!(on(2, "api.pool.type").observed, "Mini");
    assert!(on(2, "op.config").passed);
    let fp = on(2, "secret_fingerprint");
    assert!(fp.passed);
    assert_eq!(fp.observed, base.secret_fingerprint.as_str());

    let (_, _, mut sim) = run_transitions(5, &[], &walk);
    sim.advance(std::time::Duration::from_secs(600));
    let o: Observation = sim.observe_sync();
    assert_eq!(o.api["pool"]["type"], "Mini");
    assert_eq!(o.env["P2POOL_PORT"], "37888");
    assert_eq!(o.secret_fingerprint, base.secret_fingerprint);
    assert_eq!(sim.config()["p2pool"]["pool"], "mini");
}

/// A short walk around the operation, and the same walk without it.
fn walks(m: &Model, f: Fault) -> (Vec<Transition>, Vec<Transition>) {
    let (before, name, after): (Vec<Transition>, &str, Vec<Transition>) = match f {
        Fault::RestartRevertsArgs => (
            vec![apply(m, &[("p2pool.pool", "main")])],
            "restart",
            vec![],
        ),
        Fault::RestartTorStrandsMonerod => (
            vec![apply(m, &[("xvb.enabled", "false")])],
            "restart-tor",
            vec![apply(m, &[])],
        ),
        Fault::PrematureReadmit => (
            vec![apply(m, &[("tari.mode", "off")])],
            "node-down",
            vec![apply(m, &[])],
        ),
        Fault::UpAcceptsEmptyToken => (
            vec![apply(m, &[("p2pool.stratum_tls", "true")])],
            "empty-proxy-token",
            vec![apply(m, &[])],
        ),
        other => panic!("{other} is not an operation fault"),
    };
    let with: Vec<Transition> = before
        .iter()
        .cloned()
        .chain([op(m, name)])
        .chain(after.iter().cloned())
        .collect();
    let without = before.into_iter().chain(after).collect();
    (with, without)
}

const OPERATION_FAULTS: [Fault; 4] = [
    Fault::RestartRevertsArgs,
    Fault::RestartTorStrandsMonerod,
    Fault::PrematureReadmit,
    Fault::UpAcceptsEmptyToken,
];

/// The checks that must fail on the operation's step, per fault.
fn caught_by(f: Fault) -> &'static [&'static str] {
    match f {
        // p2pool back on the mini sidechain: the box settles on the wrong pool.
        Fault::RestartRevertsArgs => &["api.pool.type"],
        // monerod not restarted with tor, and stranded at 0 peers (sync never done).
        Fault::RestartTorStrandsMonerod => &["restarted", "api.sync.monero.state"],
        Fault::PrematureReadmit => &["op.readmit"],
        // `up` started with the empty token and recreated xmrig-proxy.
        Fault::UpAcceptsEmptyToken => &["op.actions", "op.refused", "recreated"],
        _ => unreachable!(),
    }
}

#[test]
fn each_operation_fault_is_caught_by_its_operation_and_only_with_it() {
    let m = pithead();
    for f in OPERATION_FAULTS {
        let (with, without) = walks(&m, f);
        let op_step = with.iter().position(|t| t.operation().is_some()).unwrap();
        let (out, _, _) = run_transitions(21, &[f], &with);
        let failed = failed_checks(&out);
        for check in caught_by(f) {
            assert!(
                failed.contains(&(op_step, check.to_string())),
                "{f}: {check} did not fail on step {op_step}: {failed:?}"
            );
        }
        // Nothing fails before the operation.
        assert!(failed.iter().all(|(s, _)| *s >= op_step), "{f}: {failed:?}");
        assert_passes(21, &[], &with, &format!("{f} off, with the operation"));
        assert_passes(
            21,
            &[f],
            &without,
            &format!("{f} on, without the operation"),
        );
    }
}

#[test]
fn restart_reverts_args_is_invisible_to_config_only_walks() {
    let m = pithead();
    let s = supplied();
    let g = Generator::new(&m, &s).unwrap();
    let mut steps_run = 0;
    for seed in 0..3u64 {
        let mut rng = Seed::from_u64(seed).rng("test.config-walk");
        let configs = g.sequence(&mut rng, &m.default_config(), 120);
        let walk: Vec<Transition> = configs.into_iter().map(Transition::Apply).collect();
        // Every operation fault at once: none of them shows without its operation.
        assert_passes(
            seed,
            &OPERATION_FAULTS,
            &walk,
            &format!("config walk {seed}"),
        );
        steps_run += walk.len();
    }
    assert!(steps_run >= 300);
    // The pool axis moved in those walks, so the fault had containers to act on.
    let (with, _) = walks(&m, Fault::RestartRevertsArgs);
    assert!(
        !run_transitions(0, &[Fault::RestartRevertsArgs], &with)
            .0
            .passed()
    );
}

#[test]
fn a_cold_subnet_change_is_refused_hot_then_applied_after_down() {
    let m = pithead();
    let walk = [
        apply(&m, &[("network.subnet", "10.84.0.0/24")]),
        apply(&m, &[]),
    ];
    let verdicts = assert_passes(3, &[], &walk, "subnet there and back");
    for step in 0..2 {
        assert!(
            verdicts
                .0
                .iter()
                .any(|(s, v)| *s == step && v.check == "cold.refused" && v.passed),
            "step {step}"
        );
    }
    // With the marker lost, the post-down apply sees no change and the stack stays down.
    let (out, _, sim) = run_transitions(3, &[Fault::LostApplyIncompleteMarker], &walk[..1]);
    let failed = failed_checks(&out);
    // Settled down: nothing answers and nothing is running.
    assert!(
        failed.contains(&(0, "status_exit".to_string())),
        "{failed:?}"
    );
    assert!(
        failed.contains(&(0, "containers.running".to_string())),
        "{failed:?}"
    );
    assert!(sim.observe_sync().containers.is_empty());
}

#[test]
fn the_same_seed_gives_the_same_journal_for_a_walk_with_operations() {
    let m = pithead();
    let s = supplied();
    let walk = [
        apply(&m, &[("p2pool.pool", "main")]),
        op(&m, "node-down"),
        op(&m, "backup"),
        apply(&m, &[("tari.mode", "off")]),
        op(&m, "node-frozen"),
        op(&m, "restore"),
        op(&m, "empty-proxy-token"),
        op(&m, "restart-tor"),
        op(&m, "node-missing"),
    ];
    let steps = run::steps_from_transitions(&m, &s, &m.default_config(), walk.iter().cloned());
    let dir = tempfile::tempdir().unwrap();
    let journal = |seed: u64, name: &str| {
        let path = dir.path().join(name);
        let mut sim = SimTarget::new(Seed::from_u64(seed), &[]);
        let mut sink = JournalWriter::create(&path).unwrap();
        let out = walk_on(&mut sim, &m, &s, &steps, &mut sink);
        assert!(out.passed(), "{:?}", out.failures);
        drop(sink);
        without_wall_clock(&path)
    };
    let (a, b, c) = (
        journal(9, "a.jsonl"),
        journal(9, "b.jsonl"),
        journal(10, "c.jsonl"),
    );
    assert_eq!(a, b);
    assert_ne!(a, c, "another seed draws other timings");
    let events: BTreeSet<&str> = a.iter().filter_map(|e| e["event"].as_str()).collect();
    for e in ["action", "fault", "verdict"] {
        assert!(events.contains(e), "no {e} event in {events:?}");
    }
}
