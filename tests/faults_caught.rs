//! How well canary catches each catalogued fault on the simulated stack:
//! - the fuzzer, with a fixed seed, finds it within a bounded number of cases and shrinks it
//!   to exactly the catalogue's `minimal_steps`, proven 1-minimal;
//! - some seed within 100 default planned walks catches it (issue #3).
//!
//! `lost-apply-incomplete-marker` (#125) shows since the runner runs a cold change (a subnet
//! move) the way Pithead needs it (issue #7): the hot apply is refused, `pithead down`, and the
//! apply again, which must retry what the refused one committed; with the marker lost it does
//! nothing and the stack stays down. The operation faults (restart, node outage, emptied token)
//! are caught by walks with their operation: tests/sim_operations.rs.

mod model_support;

use std::collections::BTreeSet;

use canary::faults::Fault;
use canary::fuzz::{self, Found, FuzzOptions, SimOracle, signature_of};
use canary::model::{self, Model, OpGroup, Supplied};
use canary::plan::{self, PlanOptions};
use canary::rng::Seed;
use canary::run::{self, RunOptions};
use canary::shrink::{Oracle, Outcome};
use canary::target::sim::SimTarget;
use model_support::pithead;

/// What a fault needs supplied for its trigger values to be allowed.
fn supplied_for(f: Fault) -> Supplied {
    let mut s = Supplied::default();
    if f == Fault::LostApplyIncompleteMarker {
        s.0.insert("subnet_cold_apply".into(), "yes".into());
    }
    s
}

/// Cases the fuzzer may take to find a fault.
const MAX_CASES: usize = 50;

/// Asserts that `found` passes without the fault `f` (the same sequence on the same box: the
/// fault is what failed) and was shrunk; returns the shrink's report.
fn shrunk_where_only_the_fault_fails<'a>(
    model: &Model,
    supplied: &Supplied,
    f: Fault,
    found: &'a fuzz::FuzzFailure,
) -> &'a canary::shrink::ShrinkReport<model::Transition> {
    let mut clean = SimOracle::new(model, supplied, found.case_seed, &[]).unwrap();
    assert_eq!(
        clean.run(&found.sequence[..=found.failed_at]),
        Outcome::Pass {
            applies: found.failed_at + 1
        },
        "{f}: the sequence fails without the fault too"
    );
    let Found::Shrunk { report: shrunk, .. } = &found.found else {
        panic!("{f}: reported flaky");
    };
    shrunk
}

fn fuzz_finds(f: Fault) {
    let model = pithead();
    let supplied = supplied_for(f);
    let options = FuzzOptions {
        seed: Seed::from_u64(2026),
        cases: MAX_CASES,
        steps: 20,
        faults: vec![f],
        ..FuzzOptions::default()
    };
    let report = fuzz::fuzz(&model, &supplied, &options, &mut |_| {}).unwrap();
    assert_eq!(
        report.failures.len(),
        1,
        "{f}: not found in {MAX_CASES} cases"
    );
    let found = &report.failures[0];
    let shrunk = shrunk_where_only_the_fault_fails(&model, &supplied, f, found);
    assert_eq!(
        shrunk.minimal.len(),
        f.info().minimal_steps,
        "{f}: shrunk to {:?}",
        shrunk.minimal
    );
    assert!(shrunk.one_minimal, "{f}: not proven 1-minimal");
    assert!(!shrunk.budget_exhausted);
}

macro_rules! fuzz_finds {
    ($($name:ident => $fault:expr,)*) => {$(
        #[test]
        fn $name() {
            fuzz_finds($fault);
        }
    )*};
}

fuzz_finds! {
    fuzz_finds_stale_caddy_scheme => Fault::StaleCaddyScheme,
    fuzz_finds_leftover_profile_container => Fault::LeftoverProfileContainer,
    fuzz_finds_renamed_leftover_container => Fault::RenamedLeftoverContainer,
    fuzz_finds_rotated_proxy_token => Fault::RotatedProxyToken,
    fuzz_finds_tari_required_ignores_off => Fault::TariRequiredIgnoresOff,
    fuzz_finds_tor_without_monerod_restart => Fault::TorWithoutMonerodRestart,
    fuzz_finds_apply_as_restart => Fault::ApplyAsRestart,
    fuzz_finds_spurious_path_diff => Fault::SpuriousPathDiff,
    fuzz_finds_stale_mini_flag => Fault::StaleMiniFlag,
    fuzz_finds_raw_clearnet_flag => Fault::RawClearnetFlag,
    fuzz_finds_lost_apply_incomplete_marker => Fault::LostApplyIncompleteMarker,
}

/// Signatures of every failure of a walk, continuing after failures.
fn walk_signatures(
    model: &Model,
    supplied: &Supplied,
    seed: Seed,
    faults: &[Fault],
    steps: &[canary::plan::Step],
) -> BTreeSet<(usize, canary::shrink::Signature)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut target = SimTarget::new(seed, faults);
    let out = rt
        .block_on(run::check_walk(
            &mut target,
            model,
            supplied,
            steps,
            &RunOptions::default(),
        ))
        .unwrap();
    out.failures
        .iter()
        .map(|f| (f.step, signature_of(&f.verdict)))
        .collect()
}

/// The first seed in 0..100 whose default planned walk fails with `f` on and passes without.
fn planned_walk_catches(f: Fault) -> Option<u64> {
    planned_walk_with_catches(f, &[], 0..100)
}

/// [`planned_walk_catches`] for walks that also cover the operations of `groups` (what
/// `canary run` plans on the simulated stack by default: every group).
fn planned_walk_with_catches(
    f: Fault,
    groups: &[OpGroup],
    seeds: std::ops::Range<u64>,
) -> Option<u64> {
    let model = pithead();
    let supplied = supplied_for(f);
    seeds.into_iter().find(|&i| {
        let options = PlanOptions {
            seed: Seed::from_u64(i),
            supplied: supplied.clone(),
            operations: groups.to_vec(),
            ..PlanOptions::default()
        };
        let p = plan::plan(&model, &options).unwrap();
        let steps = &p.walks[0].steps;
        let with = walk_signatures(&model, &supplied, Seed::from_u64(i), &[f], steps);
        let without = walk_signatures(&model, &supplied, Seed::from_u64(i), &[], steps);
        !with.is_empty() && with.difference(&without).next().is_some()
    })
}

macro_rules! planned_walk_catches {
    ($($name:ident => $fault:expr,)*) => {$(
        #[test]
        fn $name() {
            assert!(planned_walk_catches($fault).is_some(), "{}: no seed in 0..100 catches it", $fault);
        }
    )*};
}

planned_walk_catches! {
    planned_walk_catches_stale_caddy_scheme => Fault::StaleCaddyScheme,
    planned_walk_catches_leftover_profile_container => Fault::LeftoverProfileContainer,
    planned_walk_catches_renamed_leftover_container => Fault::RenamedLeftoverContainer,
    planned_walk_catches_rotated_proxy_token => Fault::RotatedProxyToken,
    planned_walk_catches_tari_required_ignores_off => Fault::TariRequiredIgnoresOff,
    planned_walk_catches_tor_without_monerod_restart => Fault::TorWithoutMonerodRestart,
    planned_walk_catches_apply_as_restart => Fault::ApplyAsRestart,
    planned_walk_catches_spurious_path_diff => Fault::SpuriousPathDiff,
    planned_walk_catches_stale_mini_flag => Fault::StaleMiniFlag,
    planned_walk_catches_lost_apply_incomplete_marker => Fault::LostApplyIncompleteMarker,
}

/// The operation faults: the sim's default walk (every operation group) catches each; the
/// same plans without operations do not.
#[test]
fn planned_walks_with_operations_catch_the_operation_faults() {
    let all = [OpGroup::Lifecycle, OpGroup::Faults];
    for f in [
        Fault::RestartRevertsArgs,
        Fault::RestartTorStrandsMonerod,
        Fault::PrematureReadmit,
        Fault::UpAcceptsEmptyToken,
    ] {
        assert!(
            planned_walk_with_catches(f, &all, 0..100).is_some(),
            "{f}: no seed in 0..100 catches it with operations"
        );
        assert_eq!(
            planned_walk_with_catches(f, &[], 0..5),
            None,
            "{f}: caught without operations"
        );
    }
}

/// `raw-clearnet-flag` shows only when config.json holds `clearnet_initial_sync = true` while
/// the Tor egress firewall is on. The planner writes normalised axes with a value the stack
/// must override, so planned walks write exactly that and catch it.
#[test]
fn planned_walks_write_the_raw_clearnet_flag_under_the_firewall() {
    let model = pithead();
    let clearnet = model.axis_index("monero.clearnet_initial_sync").unwrap();
    let firewall = model.axis_index("network.tor_egress_firewall").unwrap();
    let on = |a: usize| model.axes[a].value_index("true").unwrap();
    let p = plan::plan(&model, &PlanOptions::default()).unwrap();
    assert!(p.walks[0].steps.iter().any(|step| {
        step.config.0[clearnet] == on(clearnet)
            && step.config.0[firewall] == on(firewall)
            && step.effective.0[clearnet] != on(clearnet)
    }));
    assert!(planned_walk_catches(Fault::RawClearnetFlag).is_some());
}

/// `lost-apply-incomplete-marker` is caught now that a cold change runs as refused hot apply,
/// `down`, apply: with the fault the fuzzer's failures are the stack left down after that
/// apply; without it the same cases pass (the refusal of the hot apply is expected).
#[test]
fn lost_apply_incomplete_marker_is_caught_through_the_cold_change() {
    let model = pithead();
    let supplied = supplied_for(Fault::LostApplyIncompleteMarker);
    let run = |faults: Vec<Fault>| {
        let options = FuzzOptions {
            seed: Seed::from_u64(2026),
            cases: 20,
            steps: 20,
            faults,
            keep_going: true,
            ..FuzzOptions::default()
        };
        let r = fuzz::fuzz(&model, &supplied, &options, &mut |_| {}).unwrap();
        r.failures
            .iter()
            .map(|f| f.signature.to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(run(vec![]), BTreeSet::new());
    let with = run(vec![Fault::LostApplyIncompleteMarker]);
    assert!(!with.is_empty());
    assert!(
        with.iter()
            .all(|s| !s.starts_with("apply_exit") && !s.starts_with("cold.refused")),
        "{with:?}"
    );
    assert!(
        with.iter().any(|s| s.starts_with("ready")
            || s.starts_with("status_exit")
            || s.starts_with("containers.running")),
        "{with:?}"
    );
}

/// The fuzzer with every operation group mixed in (issue #7), collecting every distinct
/// failure, finds an operation fault, which config applies alone never show. Every failure it
/// finds fails only with the fault, and shrinks 1-minimal; the shortest is the catalogue's
/// `minimal_steps`, ends in an operation, and is checked here: without any one of its steps
/// the sequence no longer fails the same way. (A fault can show in more than one way: after a
/// restart brought back old container args, the next apply is misjudged too, a longer
/// failure of its own signature.)
fn fuzz_with_operations_finds(f: Fault) {
    use canary::model::{OpGroup, Transition};
    let model = pithead();
    let supplied = supplied_for(f);
    let options = FuzzOptions {
        seed: Seed::from_u64(2026),
        cases: MAX_CASES,
        steps: 20,
        faults: vec![f],
        operations: OpGroup::ALL.to_vec(),
        keep_going: true,
        ..FuzzOptions::default()
    };
    let report = fuzz::fuzz(&model, &supplied, &options, &mut |_| {}).unwrap();
    assert!(
        !report.failures.is_empty(),
        "{f}: not found in {MAX_CASES} cases"
    );
    let mut shortest: Option<(&Vec<Transition>, &fuzz::FuzzFailure)> = None;
    for found in &report.failures {
        let shrunk = shrunk_where_only_the_fault_fails(&model, &supplied, f, found);
        assert!(shrunk.one_minimal, "{f}: not proven 1-minimal");
        assert!(!shrunk.budget_exhausted);
        assert!(
            shrunk.minimal.iter().any(|t| t.operation().is_some()),
            "{f}: {} shrunk without an operation",
            found.signature
        );
        if shortest.is_none_or(|(m, _)| shrunk.minimal.len() < m.len()) {
            shortest = Some((&shrunk.minimal, found));
        }
    }
    let (minimal, found) = shortest.expect("one failure at least");
    assert_eq!(
        minimal.len(),
        f.info().minimal_steps,
        "{f}: shortest {minimal:?}"
    );
    assert!(minimal.last().unwrap().operation().is_some());
    let mut faulty = SimOracle::new(&model, &supplied, found.case_seed, &[f]).unwrap();
    faulty.want = Some(found.signature.clone());
    assert!(faulty.run(minimal).fails_with(&found.signature).is_some());
    for i in 0..minimal.len() {
        let mut cand: Vec<Transition> = minimal.clone();
        cand.remove(i);
        let valid = canary::shrink::validate(&model, &supplied, &cand).is_ok();
        assert!(
            !valid || faulty.run(&cand).fails_with(&found.signature).is_none(),
            "{f}: {minimal:?} without step {i} still fails"
        );
    }
}

macro_rules! fuzz_with_operations_finds {
    ($($name:ident => $fault:expr,)*) => {$(
        #[test]
        fn $name() {
            fuzz_with_operations_finds($fault);
        }
    )*};
}

fuzz_with_operations_finds! {
    fuzz_with_operations_finds_restart_reverts_args => Fault::RestartRevertsArgs,
    fuzz_with_operations_finds_restart_tor_strands_monerod => Fault::RestartTorStrandsMonerod,
    fuzz_with_operations_finds_premature_readmit => Fault::PrematureReadmit,
    fuzz_with_operations_finds_up_accepts_empty_token => Fault::UpAcceptsEmptyToken,
}

/// The same faults are invisible to the config-only fuzzer: the same seed and cases, no
/// operation group, no failure.
#[test]
fn operation_faults_are_invisible_without_operations() {
    let model = pithead();
    for f in [
        Fault::RestartRevertsArgs,
        Fault::RestartTorStrandsMonerod,
        Fault::PrematureReadmit,
        Fault::UpAcceptsEmptyToken,
    ] {
        let options = FuzzOptions {
            seed: Seed::from_u64(2026),
            cases: 20,
            steps: 20,
            faults: vec![f],
            ..FuzzOptions::default()
        };
        let r = fuzz::fuzz(&model, &supplied_for(f), &options, &mut |_| {}).unwrap();
        assert!(r.failures.is_empty(), "{f}: {:?}", r.failures[0].signature);
    }
}
