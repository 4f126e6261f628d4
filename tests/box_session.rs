//! The box session seam: sequences run from the baseline one after the other, the box brought
//! back between them, applies counted. Exercised on the in-process stack through the same
//! `Target` trait a box implements.

mod model_support;

use canary::faults::Fault;
use canary::fuzz::{self, Found, FuzzOptions};
use canary::model::{Model, Supplied, Transition};
use canary::rng::Seed;
use canary::run::RunOptions;
use canary::run::box_session::BoxSession;
use canary::shrink::Outcome;
use canary::sim::SimTarget;
use model_support::pithead;

/// A two-step minimal failure found by the fuzzer with `fault`, and the seed of its box.
fn minimal(model: &Model, fault: Fault) -> (Vec<Transition>, Seed, canary::shrink::Signature) {
    let options = FuzzOptions {
        seed: Seed::from_u64(7),
        cases: 50,
        steps: 12,
        faults: vec![fault],
        ..FuzzOptions::default()
    };
    let report = fuzz::fuzz(model, &Supplied::default(), &options, &mut |_| {}).unwrap();
    let f = &report.failures[0];
    let Found::Shrunk { report: shrunk, .. } = &f.found else {
        panic!("not shrunk: {:?}", f.found)
    };
    (shrunk.minimal.clone(), f.case_seed, f.signature.clone())
}

#[test]
fn every_sequence_starts_from_the_baseline_and_every_apply_is_counted() {
    let model = pithead();
    let supplied = Supplied::default();
    // The fuzzer runs its own runtime, so it runs before this test's.
    let (steps, seed, signature) = minimal(&model, Fault::StaleCaddyScheme);
    assert_eq!(steps.len(), 2);
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(sessions(&model, &supplied, &steps, seed, &signature));
}

async fn sessions(
    model: &Model,
    supplied: &Supplied,
    steps: &[Transition],
    seed: Seed,
    signature: &canary::shrink::Signature,
) {
    let mut faulty = SimTarget::new(seed, &[Fault::StaleCaddyScheme]);
    let mut s = BoxSession::open(
        &mut faulty,
        model,
        supplied,
        model.default_config(),
        &RunOptions::default(),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        match s.run(steps).await.unwrap() {
            Outcome::Fail {
                signature: got,
                failed_at,
                applies,
            } => {
                assert_eq!(&got, signature);
                assert_eq!((failed_at, applies), (1, 2));
            }
            o => panic!("the minimal sequence passed: {o:?}"),
        }
    }
    // Two runs of two applies, and one restore between them (the first run found the box at
    // its baseline already).
    assert_eq!((s.runs, s.applies), (2, 5));
    s.back_to_baseline().await.unwrap();
    assert_eq!(s.applies, 6);
    let baseline = s.baseline().config.clone();
    drop(s);
    use canary::target::Target;
    assert_eq!(faulty.read_config().await.unwrap(), baseline);

    let mut clean = SimTarget::new(seed, &[]);
    let mut s = BoxSession::open(
        &mut clean,
        model,
        supplied,
        model.default_config(),
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        s.run(steps).await.unwrap(),
        Outcome::Pass { applies: 2 },
        "without the fault the sequence passes"
    );
    let c = s.confirm(steps, signature, 1, 3).await.unwrap();
    assert_eq!((c.runs, c.reproduced), (3, 0));
    assert!(!c.confirmed() && !c.flaky());
}

#[test]
fn a_deterministic_failure_is_confirmed_every_time_and_not_flaky() {
    let model = pithead();
    let supplied = Supplied::default();
    let (steps, seed, signature) = minimal(&model, Fault::StaleCaddyScheme);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut target = SimTarget::new(seed, &[Fault::StaleCaddyScheme]);
    let c = rt.block_on(async {
        let mut s = BoxSession::open(
            &mut target,
            &model,
            &supplied,
            model.default_config(),
            &RunOptions::default(),
        )
        .await
        .unwrap();
        s.confirm(&steps, &signature, 1, 3).await.unwrap()
    });
    assert_eq!((c.runs, c.reproduced), (3, 3));
    assert!(c.confirmed() && !c.flaky());
    // Some runs but not all: flaky, never saved.
    let partial = canary::run::box_session::Confirmation {
        runs: 3,
        reproduced: 2,
    };
    assert!(partial.flaky() && !partial.confirmed());
}

/// The shrinker drives a box through the seam: a generated failing sequence shrinks to the
/// two-step minimum, every candidate from the baseline, and the applies it cost are counted
/// (restores included), within an apply budget.
#[test]
fn a_failure_shrinks_on_a_target_through_the_session_counting_applies() {
    use canary::run::box_session::BlockingOracle;
    use canary::shrink::{self, Failure, ShrinkOptions};
    let model = pithead();
    let supplied = Supplied::default();
    let options = FuzzOptions {
        seed: Seed::from_u64(7),
        cases: 50,
        steps: 12,
        faults: vec![Fault::StaleCaddyScheme],
        ..FuzzOptions::default()
    };
    let report = fuzz::fuzz(&model, &supplied, &options, &mut |_| {}).unwrap();
    let f = &report.failures[0];
    assert!(
        f.failed_at >= 1,
        "a generated failure longer than the minimum"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut target = SimTarget::new(f.case_seed, &[Fault::StaleCaddyScheme]);
    let mut session = rt
        .block_on(BoxSession::open(
            &mut target,
            &model,
            &supplied,
            model.default_config(),
            &RunOptions::default(),
        ))
        .unwrap();
    let failure = Failure {
        steps: f.sequence.clone(),
        signature: f.signature.clone(),
        failed_at: f.failed_at,
    };
    let mut oracle = BlockingOracle::new(&rt, &mut session);
    let shrunk = shrink::shrink(
        &model,
        &supplied,
        &failure,
        &mut oracle,
        &ShrinkOptions {
            max_applies: Some(400),
            ..ShrinkOptions::default()
        },
    );
    assert!(oracle.error.is_none(), "{:?}", oracle.error);
    assert_eq!(shrunk.minimal.len(), 2, "{:?}", shrunk.minimal);
    // Every candidate after the first ran from a restored baseline: one apply each on top of
    // its steps.
    assert!(session.runs >= 1);
    assert!(
        session.applies >= session.runs - 1 + 2,
        "{} applies over {} runs",
        session.applies,
        session.runs
    );
    // The budget bounds the candidates' steps; restores come on top, one per run at most.
    assert!(session.applies <= 400 + session.runs, "{}", session.applies);
    eprintln!(
        "shrunk {} -> {} steps in {} box runs, {} applies (restores included)",
        f.failed_at + 1,
        shrunk.minimal.len(),
        session.runs,
        session.applies
    );
}
