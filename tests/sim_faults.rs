//! Every catalogued fault: invisible with faults off, visible (an observation that differs from
//! correct Pithead behaviour) after its known minimal sequence of transitions, whose length is
//! the catalogue's `minimal_steps`. Sequence-dependent faults also stay invisible after every
//! proper prefix of their sequence and after its last step alone.
//!
//! A transition is an apply, a cold apply (the runner's refused hot apply, `pithead down`, the
//! apply again) or an operation of the model performed the runner's way: its fault actions, a
//! wait until its fault shows, its recovery.

use std::time::Duration;

use canary::faults::{Fault, catalogue};
use canary::model::{self, Operation};
use canary::oracle::fault_shows;
use canary::rng::Seed;
use canary::run::set_dotted;
use canary::sim::{NO_CHANGES, SimTarget};
use canary::target::{Action, Observation, RunState};
use serde_json::{Value, json};

type Changes = Vec<(&'static str, Value)>;

/// One transition of a sequence.
#[derive(Debug, Clone)]
enum Step {
    Apply(Changes),
    /// A change that cannot be hot-applied: the hot apply, `pithead down`, the apply.
    Cold(Changes),
    /// An operation of the model, by name.
    Op(&'static str),
}

/// The known minimal reproducing sequence of each fault from the default baseline. The match
/// is exhaustive so a new fault cannot be added without one.
fn sequence(f: Fault) -> Vec<Step> {
    use Step::*;
    match f {
        Fault::StaleCaddyScheme => vec![
            Apply(vec![("dashboard.secure", json!(false))]),
            Apply(vec![("dashboard.secure", json!(true))]),
        ],
        Fault::LeftoverProfileContainer => vec![Apply(tari_remote())],
        Fault::RenamedLeftoverContainer => vec![
            Apply(tari_remote()),
            Apply(vec![("tari.mode", json!("local"))]),
        ],
        Fault::RotatedProxyToken => vec![Apply(vec![("p2pool.stratum_tls", json!(true))])],
        Fault::TariRequiredIgnoresOff => vec![Apply(vec![("tari.mode", json!("off"))])],
        Fault::LostApplyIncompleteMarker => {
            vec![Cold(vec![("network.subnet", json!("10.84.0.0/24"))])]
        }
        Fault::TorWithoutMonerodRestart => vec![Apply(tari_remote())],
        Fault::ApplyAsRestart => vec![Apply(vec![("p2pool.pool", json!("main"))])],
        Fault::SpuriousPathDiff => vec![Apply(vec![("xvb.enabled", json!(false))])],
        Fault::StaleMiniFlag => vec![Apply(vec![("p2pool.pool", json!("main"))])],
        Fault::RawClearnetFlag => vec![Apply(vec![("monero.clearnet_initial_sync", json!(true))])],
        Fault::RestartRevertsArgs => {
            vec![Apply(vec![("p2pool.pool", json!("main"))]), Op("restart")]
        }
        Fault::RestartTorStrandsMonerod => vec![Op("restart-tor")],
        Fault::PrematureReadmit => vec![Op("node-down")],
        Fault::UpAcceptsEmptyToken => vec![Op("empty-proxy-token")],
    }
}

fn tari_remote() -> Changes {
    vec![
        ("tari.mode", json!("remote")),
        ("tari.remote.host", json!("tari.lan")),
    ]
}

fn operation(name: &str) -> Operation {
    let m = model::load_str(model::BUILTIN_PITHEAD, std::path::Path::new("pithead.toml")).unwrap();
    let i = m.operation_index(name).unwrap();
    m.operations[i].clone()
}

/// Performs an operation the runner's way. The result's exit code is 0 when every command
/// exited as it must (the refusing one non-zero, the others 0).
fn perform(sim: &mut SimTarget, op: &Operation) -> (i32, String) {
    let (fault, recovery) = op.actions();
    let mut output = String::new();
    let mut wrong = 0;
    let mut act = |sim: &mut SimTarget, i: usize, a: &Action| {
        let r = sim.act_sync(a);
        output.push_str(&r.output);
        if (r.exit_code != 0) != (op.refuses == Some(i)) {
            wrong += 1;
        }
    };
    for (i, a) in fault.iter().enumerate() {
        act(sim, i, a);
    }
    if !op.during.is_empty() {
        let within = (op.during.within * 1000.0) as u64;
        let start = sim.now_ms();
        while !fault_shows(op, &sim.observe_sync()) && sim.now_ms() - start < within {
            let left = within - (sim.now_ms() - start);
            let pause = sim.next_change_ms().unwrap_or(1000).clamp(1, left);
            sim.advance(Duration::from_millis(pause));
        }
    }
    for (i, a) in recovery.iter().enumerate() {
        act(sim, fault.len() + i, a);
    }
    (i32::from(wrong > 0), output)
}

/// A box after a sequence of transitions, with each one's result and the observation after it.
struct Run {
    sim: SimTarget,
    results: Vec<(i32, String)>,
    observations: Vec<Observation>,
}

fn write(sim: &mut SimTarget, changes: &Changes) {
    let mut cfg = sim.config().clone();
    for (p, v) in changes {
        set_dotted(&mut cfg, p, v.clone());
    }
    sim.write_config_sync(&cfg);
}

fn run(faults: &[Fault], steps: &[Step]) -> Run {
    let mut sim = SimTarget::new(Seed::from_u64(42), faults);
    let mut results = Vec::new();
    let mut observations = Vec::new();
    for s in steps {
        let r = match s {
            Step::Apply(changes) => {
                write(&mut sim, changes);
                let r = sim.apply_sync();
                (r.exit_code, r.output)
            }
            Step::Cold(changes) => {
                write(&mut sim, changes);
                let hot = sim.apply_sync();
                assert_eq!(hot.exit_code, 1, "a cold change is refused hot");
                sim.act_sync(&Action::Down);
                let r = sim.apply_sync();
                (r.exit_code, r.output)
            }
            Step::Op(name) => perform(&mut sim, &operation(name)),
        };
        results.push(r);
        observations.push(sim.observe_sync());
    }
    Run {
        sim,
        results,
        observations,
    }
}

/// Correct and faulty runs of a fault's minimal sequence.
fn both(f: Fault) -> (Run, Run) {
    let seq = sequence(f);
    (run(&[], &seq), run(&[f], &seq))
}

fn started(o: &Observation, name: &str) -> Option<(String, String)> {
    o.containers
        .iter()
        .find(|c| c.name == name)
        .map(|c| (c.id.clone(), c.started.clone()))
}

/// Ten minutes on: monerod's sync is done on the correct sim and still loading under the
/// fault.
fn assert_monero_synced_on_good_only(good: &mut Run, bad: &mut Run) {
    assert_eq!(
        settle(&mut good.sim, 600).api["sync"]["monero"]["state"],
        "done"
    );
    assert_eq!(
        settle(&mut bad.sim, 600).api["sync"]["monero"]["state"],
        "loading"
    );
}

fn settle(sim: &mut SimTarget, secs: u64) -> Observation {
    sim.advance(Duration::from_secs(secs));
    sim.observe_sync()
}

#[test]
fn every_fault_has_a_sequence_of_its_catalogued_length() {
    assert_eq!(catalogue().len(), Fault::ALL.len());
    for f in Fault::ALL {
        assert_eq!(sequence(f).len(), f.info().minimal_steps, "{f}");
    }
}

#[test]
fn sequence_dependent_faults_hide_from_prefixes_and_single_steps() {
    for f in Fault::ALL
        .into_iter()
        .filter(|f| f.info().sequence_dependent)
    {
        let seq = sequence(f);
        let last = seq.len() - 1;
        let (good, bad) = (run(&[], &seq[..last]), run(&[f], &seq[..last]));
        assert_eq!(
            good.observations, bad.observations,
            "{f}: visible in a prefix"
        );
        assert_eq!(good.results, bad.results, "{f}: visible in a prefix");
        let alone = [seq[last].clone()];
        let (good, bad) = (run(&[], &alone), run(&[f], &alone));
        assert_eq!(good.observations, bad.observations, "{f}: visible alone");
        assert_eq!(good.results, bad.results, "{f}: visible alone");
    }
}

#[test]
fn stale_caddy_scheme() {
    let (good, bad) = both(Fault::StaleCaddyScheme);
    let restarted =
        |r: &Run| started(&r.observations[0], "caddy") != started(&r.observations[1], "caddy");
    assert!(
        restarted(&good),
        "correct Pithead restarts caddy on false→true"
    );
    assert!(
        !restarted(&bad),
        "the fault should leave caddy on the stale Caddyfile"
    );
}

#[test]
fn leftover_profile_container() {
    let (good, bad) = both(Fault::LeftoverProfileContainer);
    assert!(started(&good.observations[0], "tari").is_none());
    let o = &bad.observations[0];
    assert!(
        o.containers
            .iter()
            .any(|c| c.name == "tari" && c.state == RunState::Running)
    );
    // status does not notice: tari is not an active service any more.
    assert_eq!(o.status_exit, 0);
}

#[test]
fn renamed_leftover_container() {
    let (good, bad) = both(Fault::RenamedLeftoverContainer);
    let leftovers = |o: &Observation| {
        o.containers
            .iter()
            .filter(|c| c.name.ends_with("_tari"))
            .count()
    };
    assert_eq!(leftovers(&good.observations[1]), 0);
    assert_eq!(leftovers(&bad.observations[1]), 1);
    assert!(started(&bad.observations[1], "tari").is_some());
}

#[test]
fn rotated_proxy_token() {
    let base = SimTarget::new(Seed::from_u64(42), &[])
        .observe_sync()
        .secret_fingerprint;
    let (good, bad) = both(Fault::RotatedProxyToken);
    assert_eq!(good.observations[0].secret_fingerprint, base);
    assert_ne!(bad.observations[0].secret_fingerprint, base);
}

#[test]
fn tari_required_ignores_off() {
    let (mut good, mut bad) = both(Fault::TariRequiredIgnoresOff);
    assert_eq!(good.observations[0].env["TARI_REQUIRED"], "false");
    assert_eq!(bad.observations[0].env["TARI_REQUIRED"], "true");
    let tari_down = |o: &Observation| {
        o.api["badges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["text"] == "Tari DOWN")
    };
    assert!(!tari_down(&settle(&mut good.sim, 600)));
    assert!(tari_down(&settle(&mut bad.sim, 600)));
}

#[test]
fn lost_apply_incomplete_marker() {
    let (mut good, mut bad) = both(Fault::LostApplyIncompleteMarker);
    // After the refused hot apply and `down`, correct Pithead's apply retries the recreate
    // (the marker says the last one failed) and brings the stack up on the new subnet; the
    // faulty one believes there is nothing to do and leaves it down.
    assert_eq!(good.results[0].0, 0);
    assert!(!good.results[0].1.contains(NO_CHANGES));
    assert_eq!(bad.results[0].0, 0);
    assert!(
        bad.results[0].1.contains(NO_CHANGES),
        "{}",
        bad.results[0].1
    );
    assert_eq!(settle(&mut good.sim, 600).status_exit, 0);
    assert_eq!(good.observations[0].env["NETWORK_SUBNET"], "10.84.0.0/24");
    let o = settle(&mut bad.sim, 600);
    assert_eq!(o.status_exit, 1);
    assert!(o.containers.is_empty());
}

#[test]
fn tor_without_monerod_restart() {
    let (mut good, mut bad) = both(Fault::TorWithoutMonerodRestart);
    let base = started(
        &SimTarget::new(Seed::from_u64(42), &[]).observe_sync(),
        "monerod",
    );
    assert_ne!(started(&good.observations[0], "monerod"), base);
    assert_eq!(started(&bad.observations[0], "monerod"), base);
    assert_monero_synced_on_good_only(&mut good, &mut bad);
}

#[test]
fn apply_as_restart() {
    let (mut good, mut bad) = both(Fault::ApplyAsRestart);
    let base = started(
        &SimTarget::new(Seed::from_u64(42), &[]).observe_sync(),
        "p2pool",
    )
    .unwrap();
    let g = started(&good.observations[0], "p2pool").unwrap();
    let b = started(&bad.observations[0], "p2pool").unwrap();
    assert_ne!(g.0, base.0, "correct Pithead recreates p2pool");
    assert_eq!(b.0, base.0, "the fault restarts it in place");
    assert_ne!(b.1, base.1);
    assert_eq!(settle(&mut good.sim, 600).api["pool"]["type"], "Main");
    assert_eq!(settle(&mut bad.sim, 600).api["pool"]["type"], "Mini");
}

#[test]
fn spurious_path_diff() {
    let (mut good, mut bad) = both(Fault::SpuriousPathDiff);
    assert!(good.sim.apply_sync().output.contains(NO_CHANGES));
    let second = bad.sim.apply_sync();
    assert_eq!(second.exit_code, 0);
    assert!(!second.output.contains(NO_CHANGES), "{}", second.output);
}

#[test]
fn stale_mini_flag() {
    let (mut good, mut bad) = both(Fault::StaleMiniFlag);
    assert_eq!(good.observations[0].env["P2POOL_FLAGS"], "");
    assert_eq!(bad.observations[0].env["P2POOL_FLAGS"], "--mini");
    assert_eq!(settle(&mut good.sim, 600).api["pool"]["type"], "Main");
    assert_eq!(settle(&mut bad.sim, 600).api["pool"]["type"], "Mini");
}

#[test]
fn raw_clearnet_flag() {
    let (good, bad) = both(Fault::RawClearnetFlag);
    assert_eq!(good.observations[0].env["MONERO_CLEARNET_SYNC"], "false");
    assert_eq!(bad.observations[0].env["MONERO_CLEARNET_SYNC"], "true");
}

#[test]
fn faults_off_every_sequence_is_clean() {
    // With no fault, each minimal sequence leaves a box that an oracle would pass: every
    // command as it must be, status 0 once settled, secrets kept, second apply a no-op.
    for f in Fault::ALL {
        let mut good = run(&[], &sequence(f));
        let base = SimTarget::new(Seed::from_u64(42), &[]).observe_sync();
        assert!(
            good.results.iter().all(|r| r.0 == 0),
            "{f}: {:?}",
            good.results
        );
        assert!(good.sim.apply_sync().output.contains(NO_CHANGES), "{f}");
        let o = settle(&mut good.sim, 600);
        assert_eq!(o.status_exit, 0, "{f}");
        assert_eq!(o.secret_fingerprint, base.secret_fingerprint, "{f}");
        assert!(!o.containers.iter().any(|c| c.name.contains('_')), "{f}");
    }
}

/// Milliseconds of the day of a StartedAt marker (`2026-01-01T01:02:03.004Z`).
fn marker_ms(marker: &str) -> u64 {
    let t = &marker[11..23];
    let h: u64 = t[0..2].parse().unwrap();
    let m: u64 = t[3..5].parse().unwrap();
    let s: u64 = t[6..8].parse().unwrap();
    let ms: u64 = t[9..12].parse().unwrap();
    ((h * 60 + m) * 60 + s) * 1000 + ms
}

#[test]
fn restart_reverts_args() {
    let (mut good, mut bad) = both(Fault::RestartRevertsArgs);
    let base = started(
        &SimTarget::new(Seed::from_u64(42), &[]).observe_sync(),
        "p2pool",
    )
    .unwrap();
    // The apply looks like a recreate either way.
    for r in [&good, &bad] {
        assert_ne!(started(&r.observations[0], "p2pool").unwrap().0, base.0);
    }
    assert_eq!(good.results[1].0, 0);
    assert_eq!(bad.results[1].0, 0);
    assert_eq!(settle(&mut good.sim, 600).api["pool"]["type"], "Main");
    assert_eq!(settle(&mut bad.sim, 600).api["pool"]["type"], "Mini");
    // .env is right; only the restarted container runs the old args.
    assert_eq!(bad.observations[1].env["P2POOL_FLAGS"], "");
}

#[test]
fn restart_tor_strands_monerod() {
    let (mut good, mut bad) = both(Fault::RestartTorStrandsMonerod);
    let base = SimTarget::new(Seed::from_u64(42), &[]).observe_sync();
    for r in [&good, &bad] {
        assert_ne!(started(&r.observations[0], "tor"), started(&base, "tor"));
    }
    assert_ne!(
        started(&good.observations[0], "monerod"),
        started(&base, "monerod")
    );
    assert_eq!(
        started(&bad.observations[0], "monerod"),
        started(&base, "monerod")
    );
    assert_monero_synced_on_good_only(&mut good, &mut bad);
}

#[test]
fn premature_readmit() {
    let (mut good, mut bad) = both(Fault::PrematureReadmit);
    // Right after the recovery the proxy is still held.
    for r in [&good, &bad] {
        assert!(r.sim.workers_rejected());
        let proxy = r.observations[0]
            .containers
            .iter()
            .find(|c| c.name == "xmrig-proxy");
        assert_eq!(proxy.unwrap().state, RunState::Exited);
    }
    let gap = |o: &Observation| {
        let monerod = started(o, "monerod").unwrap().1;
        let proxy = started(o, "xmrig-proxy").unwrap().1;
        marker_ms(&proxy).checked_sub(marker_ms(&monerod)).unwrap()
    };
    // monerod needs 5-20 s to turn healthy after its start; then the window.
    let window = canary::sim::NODE_RECOVERY_AFTER_MS;
    let (g, b) = (settle(&mut good.sim, 600), settle(&mut bad.sim, 600));
    assert!(gap(&g) >= window + 5_000, "{}", gap(&g));
    assert!(gap(&b) <= 20_000, "{}", gap(&b));
    for o in [&g, &b] {
        assert!(o.containers.iter().all(|c| c.state == RunState::Running));
    }
}

#[test]
fn up_accepts_empty_token() {
    let (good, bad) = both(Fault::UpAcceptsEmptyToken);
    let base = SimTarget::new(Seed::from_u64(42), &[]).observe_sync();
    assert_eq!(good.results[0].0, 0, "up refused, as it must");
    assert!(
        good.results[0]
            .1
            .contains(canary::sim::UNAUTHENTICATED_PROXY)
    );
    assert_eq!(bad.results[0].0, 1, "up started anyway");
    assert_eq!(good.observations[0].containers, base.containers);
    assert_ne!(
        started(&bad.observations[0], "xmrig-proxy").unwrap().0,
        started(&base, "xmrig-proxy").unwrap().0
    );
    // The exact token is back either way.
    for r in [&good, &bad] {
        assert_eq!(
            r.observations[0].secret_fingerprint,
            base.secret_fingerprint
        );
    }
}

#[test]
fn canary_faults_lists_the_catalogue() {
    let bin = env!("CARGO_BIN_EXE_canary");
    let out = std::process::Command::new(bin)
        .args(["faults", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = catalogue().iter().map(|f| f.name).collect();
    assert_eq!(names, expected);
    let table = std::process::Command::new(bin)
        .arg("faults")
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("NAME") && text.contains("#795") && text.contains("stale-caddy-scheme"));
}
