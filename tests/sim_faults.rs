//! Every catalogued fault: invisible with faults off, visible (an observation that differs from
//! correct Pithead behaviour) after its known minimal sequence of applies, whose length is the
//! catalogue's `minimal_steps`. Sequence-dependent faults also stay invisible after every proper
//! prefix of their sequence and after its last step alone.

use std::time::Duration;

use canary::faults::{Fault, catalogue};
use canary::rng::Seed;
use canary::sim::{NO_CHANGES, SimTarget};
use canary::target::Observation;
use serde_json::{Value, json};

type Step = Vec<(&'static str, Value)>;

/// The known minimal reproducing sequence of each fault from the default baseline. The match
/// is exhaustive so a new fault cannot be added without one.
fn sequence(f: Fault) -> Vec<Step> {
    match f {
        Fault::StaleCaddyScheme => vec![
            vec![("dashboard.secure", json!(false))],
            vec![("dashboard.secure", json!(true))],
        ],
        Fault::LeftoverProfileContainer => vec![tari_remote()],
        Fault::RenamedLeftoverContainer => vec![tari_remote(), vec![("tari.mode", json!("local"))]],
        Fault::RotatedProxyToken => vec![vec![("p2pool.stratum_tls", json!(true))]],
        Fault::TariRequiredIgnoresOff => vec![vec![("tari.mode", json!("off"))]],
        Fault::LostApplyIncompleteMarker => vec![
            vec![("network.subnet", json!("10.84.0.0/24"))],
            vec![("network.subnet", json!("10.84.0.0/24"))],
        ],
        Fault::TorWithoutMonerodRestart => vec![tari_remote()],
        Fault::ApplyAsRestart => vec![vec![("p2pool.pool", json!("main"))]],
        Fault::SpuriousPathDiff => vec![vec![("xvb.enabled", json!(false))]],
        Fault::StaleMiniFlag => vec![vec![("p2pool.pool", json!("main"))]],
        Fault::RawClearnetFlag => vec![vec![("monero.clearnet_initial_sync", json!(true))]],
    }
}

fn tari_remote() -> Step {
    vec![
        ("tari.mode", json!("remote")),
        ("tari.remote.host", json!("tari.lan")),
    ]
}

fn set(cfg: &mut Value, path: &str, v: Value) {
    let mut cur = cfg;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(p.to_string())
            .or_insert(json!({}));
    }
    cur.as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_string(), v);
}

/// A box after a sequence of applies, with each apply's result and the observation after it.
struct Run {
    sim: SimTarget,
    results: Vec<(i32, String)>,
    observations: Vec<Observation>,
}

fn run(faults: &[Fault], steps: &[Step]) -> Run {
    let mut sim = SimTarget::new(Seed::from_u64(42), faults);
    let mut results = Vec::new();
    let mut observations = Vec::new();
    for s in steps {
        let mut cfg = sim.config().clone();
        for (p, v) in s {
            set(&mut cfg, p, v.clone());
        }
        sim.write_config_sync(&cfg);
        let r = sim.apply_sync();
        results.push((r.exit_code, r.output));
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
            .any(|c| c.name == "tari" && c.state == "running")
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
    assert_eq!(good.results[0].0, 1, "a hot subnet change fails");
    assert_eq!(bad.results[0].0, 1);
    // The unchanged re-apply: correct Pithead retries the recreate (and fails again, the
    // network is still in use); the faulty one believes there is nothing to do.
    assert_eq!(good.results[1].0, 1);
    assert!(!good.results[1].1.contains(NO_CHANGES));
    assert_eq!(bad.results[1].0, 0);
    assert!(bad.results[1].1.contains(NO_CHANGES));
    // After `down`, the retry brings the stack up on the new subnet; the fault leaves it down.
    good.sim.down();
    bad.sim.down();
    assert_eq!(good.sim.apply_sync().exit_code, 0);
    bad.sim.apply_sync();
    assert_eq!(good.sim.observe_sync().status_exit, 0);
    assert_eq!(bad.sim.observe_sync().status_exit, 1);
    assert!(bad.sim.observe_sync().containers.is_empty());
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
    assert_eq!(
        settle(&mut good.sim, 600).api["sync"]["monero"]["state"],
        "done"
    );
    assert_eq!(
        settle(&mut bad.sim, 600).api["sync"]["monero"]["state"],
        "loading"
    );
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
    // With no fault, each minimal sequence leaves a box that an oracle would pass: status 0
    // once settled (except the refused subnet move), secrets kept, second apply a no-op.
    for f in Fault::ALL {
        if f == Fault::LostApplyIncompleteMarker {
            continue;
        }
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
