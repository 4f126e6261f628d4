//! The simulated stack behaves as Pithead does (pithead-model.md §2, §3, §8): which containers
//! a flip recreates or restarts, idempotency, validation, secrets, readiness over virtual time,
//! determinism.

use std::collections::BTreeMap;
use std::time::Duration;

use canary::rng::Seed;
use canary::run::set_dotted;
use canary::sim::{APPLIED, NO_CHANGES, SimTarget};
use canary::target::{Observation, Target};
use rand::Rng;
use serde_json::{Value, json};

fn step(sim: &mut SimTarget, changes: &[(&str, Value)]) -> (i32, String) {
    let mut cfg = sim.config().clone();
    for (p, v) in changes {
        set_dotted(&mut cfg, p, v.clone());
    }
    sim.write_config_sync(&cfg);
    let r = sim.apply_sync();
    (r.exit_code, r.output)
}

fn ids(o: &Observation) -> BTreeMap<String, (String, String)> {
    o.containers
        .iter()
        .map(|c| (c.name.clone(), (c.id.clone(), c.started.clone())))
        .collect()
}

/// What one apply did to the containers, by comparing two observations.
#[derive(Debug, Default, PartialEq)]
struct Touched {
    created: Vec<String>,
    removed: Vec<String>,
    recreated: Vec<String>,
    restarted: Vec<String>,
}

fn touched(a: &Observation, b: &Observation) -> Touched {
    let (a, b) = (ids(a), ids(b));
    let mut t = Touched::default();
    for (name, (id, started)) in &b {
        match a.get(name) {
            None => t.created.push(name.clone()),
            Some((id0, _)) if id0 != id => t.recreated.push(name.clone()),
            Some((_, s0)) if s0 != started => t.restarted.push(name.clone()),
            _ => {}
        }
    }
    t.removed = a.keys().filter(|n| !b.contains_key(*n)).cloned().collect();
    t
}

fn names(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Applies one flip from the baseline and returns what it touched, after checking the second
/// apply is a no-op and the secrets are unchanged.
fn flip(changes: &[(&str, Value)]) -> (SimTarget, Touched) {
    let mut sim = SimTarget::new(Seed::from_u64(11), &[]);
    let before = sim.observe_sync();
    let (code, out) = step(&mut sim, changes);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(APPLIED), "{out}");
    let after = sim.observe_sync();
    let again = sim.apply_sync();
    assert_eq!(again.exit_code, 0);
    assert!(again.output.contains(NO_CHANGES), "{}", again.output);
    assert_eq!(
        ids(&after),
        ids(&sim.observe_sync()),
        "the no-op apply touched containers"
    );
    assert_eq!(before.secret_fingerprint, after.secret_fingerprint);
    (sim, touched(&before, &after))
}

#[test]
fn pool_flip_recreates_p2pool_only() {
    let (sim, t) = flip(&[("p2pool.pool", json!("main"))]);
    assert_eq!(t.recreated, names(&["p2pool"]));
    assert!(t.created.is_empty() && t.removed.is_empty() && t.restarted.is_empty());
    let o = sim.observe_sync();
    assert_eq!(o.env["P2POOL_FLAGS"], "");
    assert_eq!(o.env["P2POOL_PORT"], "37889");
}

#[test]
fn xvb_and_rpc_lan_flips_recreate_their_one_container() {
    let (sim, t) = flip(&[("xvb.enabled", json!(false))]);
    assert_eq!(t.recreated, names(&["dashboard"]));
    assert!(t.restarted.is_empty());
    assert_eq!(sim.observe_sync().env["XVB_ENABLED"], "false");
    let (sim, t) = flip(&[("monero.rpc_lan_access", json!(true))]);
    assert_eq!(t.recreated, names(&["monerod"]));
    assert!(t.restarted.is_empty());
    assert_eq!(sim.observe_sync().env["MONERO_RPC_BIND"], "0.0.0.0");
}

#[test]
fn tari_local_to_remote_recreates_tor_and_restarts_monerod() {
    let (sim, t) = flip(&[
        ("tari.mode", json!("remote")),
        ("tari.remote.host", json!("tari.lan")),
    ]);
    assert_eq!(t.recreated, names(&["tor", "p2pool", "dashboard"]));
    assert_eq!(t.removed, names(&["tari"]));
    assert_eq!(t.restarted, names(&["monerod"]));
    let o = sim.observe_sync();
    assert_eq!(o.env["COMPOSE_PROFILES"], "local_node");
    assert_eq!(o.env["TARI_GRPC_ADDRESS"], "tari.lan:18142");
    assert_eq!(o.env["TARI_MEM_LIMIT"], "0m");
}

#[test]
fn monero_local_to_remote_removes_monerod() {
    let (sim, t) = flip(&[
        ("monero.mode", json!("remote")),
        ("monero.remote.host", json!("node.lan")),
    ]);
    assert_eq!(t.recreated, names(&["tor", "p2pool", "dashboard"]));
    assert_eq!(t.removed, names(&["monerod"]));
    assert!(t.restarted.is_empty());
    let o = sim.observe_sync();
    assert_eq!(o.env["COMPOSE_PROFILES"], "local_tari");
    assert_eq!(o.env["MONERO_NODE_HOST"], "node.lan");
    assert_eq!(o.env["MONERO_RPC_URL"], "http://node.lan:18081");
}

#[test]
fn secure_flip_only_restarts_caddy() {
    let (sim, t) = flip(&[("dashboard.secure", json!(false))]);
    assert!(t.recreated.is_empty() && t.created.is_empty() && t.removed.is_empty());
    assert_eq!(t.restarted, names(&["caddy"]));
    assert_eq!(sim.observe_sync().env["DASHBOARD_SECURE"], "false");
}

#[test]
fn view_key_adds_wallet_rpc_through_the_payout_profile() {
    let (sim, t) = flip(&[("monero.view_key", json!("a".repeat(64)))]);
    assert_eq!(t.created, names(&["wallet-rpc"]));
    assert_eq!(t.recreated, names(&["tor", "dashboard"]));
    assert_eq!(t.restarted, names(&["monerod"]));
    let o = sim.observe_sync();
    assert_eq!(
        o.env["COMPOSE_PROFILES"],
        "local_node,local_tari,payout_confirm"
    );
    assert!(
        !o.env.contains_key("MONERO_VIEW_KEY"),
        "a secret line leaked"
    );
}

#[test]
fn tari_off_forces_tari_required_false_and_removes_tari() {
    let (sim, t) = flip(&[("tari.mode", json!("off"))]);
    assert_eq!(t.removed, names(&["tari"]));
    assert_eq!(t.recreated, names(&["tor", "p2pool", "dashboard"]));
    let o = sim.observe_sync();
    assert_eq!(o.env["TARI_REQUIRED"], "false");
    assert_eq!(o.env["TARI_MODE"], "off");
}

#[test]
fn clearnet_flags_are_forced_off_under_the_firewall() {
    let mut sim = SimTarget::new(Seed::from_u64(3), &[]);
    let (code, out) = step(&mut sim, &[("monero.clearnet_initial_sync", json!(true))]);
    assert_eq!(code, 0);
    assert!(out.contains(NO_CHANGES), "{out}");
    let (code, _) = step(&mut sim, &[("network.tor_egress_firewall", json!(false))]);
    assert_eq!(code, 0);
    assert_eq!(sim.observe_sync().env["MONERO_CLEARNET_SYNC"], "true");
}

#[test]
fn refused_configs_change_nothing() {
    let bad: Vec<Vec<(&str, Value)>> = vec![
        vec![("monero.mode", json!("cloud"))],
        vec![("tari.mode", json!("sometimes"))],
        vec![("p2pool.pool", json!("huge"))],
        vec![("monero.prune", json!("yes"))],
        vec![("p2pool.stratum_port", json!("3333"))],
        vec![("xvb.enabled", json!(1))],
        vec![(
            "dashboard.auth.username",
            json!("admin\nPROXY_AUTH_TOKEN=x"),
        )],
        vec![
            ("monero.mode", json!("remote")),
            ("monero.remote.host", json!("node.lan")),
            ("monero.view_key", json!("b".repeat(64))),
        ],
        vec![
            ("monero.mode", json!("remote")),
            ("monero.remote.host", json!("")),
        ],
        vec![
            ("tari.mode", json!("remote")),
            ("tari.remote.host", json!("")),
        ],
    ];
    for changes in bad {
        let mut sim = SimTarget::new(Seed::from_u64(5), &[]);
        let before = sim.observe_sync();
        let (code, out) = step(&mut sim, &changes);
        assert_eq!(code, 1, "{changes:?} was accepted");
        assert!(out.starts_with("error: "), "{out}");
        let after = sim.observe_sync();
        assert_eq!(
            before.containers, after.containers,
            "{changes:?} touched containers"
        );
        assert_eq!(before.env, after.env, "{changes:?} changed .env");
        assert_eq!(before.secret_fingerprint, after.secret_fingerprint);
        assert_eq!(before.status_exit, after.status_exit);
        assert_eq!(before.api["pool"], after.api["pool"]);
    }
}

#[test]
fn secrets_survive_a_long_walk() {
    let mut sim = SimTarget::new(Seed::from_u64(9), &[]);
    let fp = sim.observe_sync().secret_fingerprint;
    assert_eq!(fp.len(), 64);
    for (p, v) in [
        ("p2pool.pool", json!("nano")),
        ("tari.mode", json!("off")),
        ("monero.mode", json!("remote")),
        ("monero.mode", json!("local")),
        ("p2pool.stratum_tls", json!(true)),
        ("tari.mode", json!("local")),
    ] {
        let (code, out) = step(&mut sim, &[(p, v)]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(sim.observe_sync().secret_fingerprint, fp, "after {p}");
    }
}

fn wait_until(
    sim: &mut SimTarget,
    limit_s: u64,
    mut ready: impl FnMut(&Observation) -> bool,
) -> u64 {
    let start = sim.now_ms();
    while sim.now_ms() - start < limit_s * 1000 {
        if ready(&sim.observe_sync()) {
            return sim.now_ms() - start;
        }
        sim.advance(Duration::from_secs(1));
    }
    panic!("not ready within {limit_s} s: {:#}", sim.observe_sync().api);
}

#[test]
fn readiness_takes_virtual_time_after_a_chain_repoint() {
    let mut sim = SimTarget::new(Seed::from_u64(21), &[]);
    let o = sim.observe_sync();
    assert_eq!(o.status_exit, 0);
    assert_eq!(o.api["sync"]["monero"]["state"], "done");
    assert_eq!(o.api["pool"]["type"], "Mini");
    assert_eq!(o.api["proxy_workers"], 2);
    step(
        &mut sim,
        &[
            ("monero.mode", json!("remote")),
            ("monero.remote.host", json!("node.lan")),
        ],
    );
    step(&mut sim, &[("monero.mode", json!("local"))]);
    // Right after the apply: monerod is new and not synced; the dashboard is still booting.
    let o = sim.observe_sync();
    assert!(o.api.is_null() || o.api["sync"]["monero"]["state"] != "done");
    let mut seen = Vec::new();
    let took = wait_until(&mut sim, 600, |o| {
        let s = o.api["sync"]["monero"]["state"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        s == "done"
    });
    assert!(took > 0);
    assert!(seen.contains(&"syncing".to_string()), "{seen:?}");
    assert_eq!(sim.observe_sync().api["monero"]["mode"], "Pruned");
}

#[test]
fn pool_classifier_lags_a_sidechain_switch_and_hashes_climb_again() {
    let mut sim = SimTarget::new(Seed::from_u64(4), &[]);
    let before = sim.observe_sync().api["stratum"]["total_hashes"]
        .as_u64()
        .unwrap();
    assert!(before > 0);
    step(&mut sim, &[("p2pool.pool", json!("main"))]);
    wait_until(&mut sim, 60, |o| !o.api.is_null());
    let o = sim.observe_sync();
    assert_eq!(
        o.api["pool"]["type"], "Mini",
        "the classifier should still lag"
    );
    assert!(o.api["stratum"]["total_hashes"].as_u64().unwrap() < before);
    let lag = wait_until(&mut sim, 300, |o| o.api["pool"]["type"] == "Main");
    assert!(lag >= 1000);
    wait_until(&mut sim, 300, |o| {
        o.api["proxy_workers"].as_u64() >= Some(2)
            && o.api["stratum"]["total_hashes"].as_u64() > Some(0)
    });
}

#[test]
fn status_fails_while_the_stack_is_down_and_apply_is_not_a_reconciler() {
    let mut sim = SimTarget::new(Seed::from_u64(8), &[]);
    sim.down();
    let o = sim.observe_sync();
    assert_eq!(o.status_exit, 1);
    assert!(o.containers.is_empty() && o.api.is_null());
    let r = sim.apply_sync();
    assert!(r.output.contains(NO_CHANGES));
    assert!(sim.observe_sync().containers.is_empty());
    assert_eq!(sim.up().exit_code, 0);
    assert_eq!(sim.observe_sync().status_exit, 0);
}

#[test]
fn a_subnet_change_fails_hot_and_succeeds_after_down() {
    let mut sim = SimTarget::new(Seed::from_u64(2), &[]);
    let (code, out) = step(&mut sim, &[("network.subnet", json!("10.84.0.0/24"))]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("pithead down"), "{out}");
    // The retry marker makes the unchanged re-apply try again (#125), failing the same way.
    let r = sim.apply_sync();
    assert_eq!(r.exit_code, 1, "{}", r.output);
    sim.down();
    let r = sim.apply_sync();
    assert_eq!(r.exit_code, 0, "{}", r.output);
    let o = sim.observe_sync();
    assert_eq!(o.env["NETWORK_PREFIX"], "10.84.0");
    assert_eq!(o.status_exit, 0);
    assert!(sim.apply_sync().output.contains(NO_CHANGES));
}

fn random_walk(seed: u64, steps: usize) -> Vec<Observation> {
    let mut sim = SimTarget::new(Seed::from_u64(seed), &[]);
    let mut rng = Seed::from_u64(seed).rng("test-walk");
    let mut out = Vec::new();
    for _ in 0..steps {
        let flip: (&str, Value) = match rng.random_range(0..6) {
            0 => (
                "p2pool.pool",
                json!(["main", "mini", "nano"][rng.random_range(0..3)]),
            ),
            1 => ("xvb.enabled", json!(rng.random_bool(0.5))),
            2 => ("dashboard.secure", json!(rng.random_bool(0.5))),
            3 => ("tari.mode", json!(["local", "off"][rng.random_range(0..2)])),
            4 => ("monero.rpc_lan_access", json!(rng.random_bool(0.5))),
            _ => ("p2pool.stratum_tls", json!(rng.random_bool(0.5))),
        };
        step(&mut sim, &[flip]);
        sim.advance(Duration::from_secs(rng.random_range(0..120)));
        out.push(sim.observe_sync());
    }
    out
}

#[test]
fn same_seed_same_observations() {
    let a = random_walk(77, 60);
    assert_eq!(a, random_walk(77, 60));
    assert_ne!(a, random_walk(78, 60));
}

#[tokio::test]
async fn drives_through_the_target_trait() {
    let mut t = SimTarget::new(Seed::from_u64(1), &[]);
    assert_eq!(t.name(), "sim");
    assert_eq!(t.describe()["target"], "sim");
    let mut cfg = t.read_config().await.unwrap();
    cfg["p2pool"]["pool"] = json!("nano");
    t.write_config(&cfg).await.unwrap();
    let r = t.apply().await.unwrap();
    assert_eq!(r.exit_code, 0);
    let e0 = t.elapsed();
    t.wait(Duration::from_secs(30)).await;
    assert_eq!(t.elapsed() - e0, Duration::from_secs(30));
    assert_eq!(t.observe().await.unwrap().env["P2POOL_PORT"], "37890");
    assert_eq!(t.read_config().await.unwrap()["p2pool"]["pool"], "nano");
}

#[test]
fn fault_names_from_the_command_line() {
    let sim = SimTarget::with_fault_names(Seed::from_u64(1), &["apply-as-restart"]).unwrap();
    assert_eq!(sim.describe()["faults"], "apply-as-restart");
    let err = SimTarget::with_fault_names(Seed::from_u64(1), &["no-such-fault"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no-such-fault") && err.contains("stale-caddy-scheme"),
        "{err}"
    );
}

/// The simulation must not derive its behaviour from the model the oracle uses, or the two
/// could never disagree (the independence rule).
#[test]
fn the_simulation_never_reads_the_model() {
    // The crate graph keeps canary-model out (tests/crate_graph.rs); this keeps the model's
    // files out too (an include_str! needs no dependency).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/sim/src");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Code only: the module docs explain the rule and may name what they must not use.
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for forbidden in [
                "canary_model",
                "crate::model",
                "model::",
                "strategies/",
                "pithead.toml",
            ] {
                assert!(!line.contains(forbidden), "{}: {line}", path.display());
            }
        }
        files += 1;
    }
    assert!(files >= 4);
}

#[test]
fn hashes_only_reset_when_p2pool_restarts() {
    let mut sim = SimTarget::new(Seed::from_u64(13), &[]);
    let hashes = |sim: &SimTarget| sim.observe_sync().api["stratum"]["total_hashes"].as_u64();
    let h0 = hashes(&sim).unwrap();
    // dashboard.tari_required touches the dashboard alone: p2pool keeps counting.
    step(&mut sim, &[("dashboard.tari_required", json!(false))]);
    wait_until(&mut sim, 60, |o| !o.api.is_null());
    let h1 = hashes(&sim).unwrap();
    assert!(h1 > h0, "{h1} <= {h0}");
    // A view key restarts monerod (through tor) without touching p2pool: still no reset.
    step(&mut sim, &[("monero.view_key", json!("c".repeat(64)))]);
    wait_until(&mut sim, 60, |o| !o.api.is_null());
    assert!(hashes(&sim).unwrap() > h1);
    // A pool flip recreates p2pool: the counter starts again from zero.
    step(&mut sim, &[("p2pool.pool", json!("nano"))]);
    assert!(hashes(&sim).unwrap() < h1);
}
