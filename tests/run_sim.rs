//! The runner on the simulated stack: a planned walk passes without faults, the same seed
//! gives the same journal, and a fault is caught by the oracle.

mod run_files;

use canary::faults::Fault;
use canary::journal::JournalWriter;
use canary::model::{BUILTIN_PITHEAD, Supplied, load_str};
use canary::plan::{PlanOptions, plan};
use canary::rng::Seed;
use canary::run::{RunOptions, RunOutcome, run_walk, snapshot};
use canary::target::sim::SimTarget;
use run_files::without_wall_clock;

fn run(seed: u64, faults: &[Fault], journal: &std::path::Path) -> RunOutcome {
    let model = load_str(BUILTIN_PITHEAD, std::path::Path::new("pithead.toml")).unwrap();
    let supplied = Supplied::default();
    let seed = Seed::from_u64(seed);
    let p = plan(
        &model,
        &PlanOptions {
            seed,
            ..PlanOptions::default()
        },
    )
    .unwrap();
    let steps = &p.walks[0].steps;
    let mut target = SimTarget::new(seed, faults);
    let mut sink = JournalWriter::create(journal).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let baseline = snapshot(&mut target).await.unwrap();
            run_walk(
                &mut target,
                &model,
                &supplied,
                &baseline,
                steps,
                &RunOptions::default(),
                &mut sink,
            )
            .await
            .unwrap()
        })
}

#[test]
fn a_pairwise_walk_on_the_sim_passes_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let out = run(11, &[], &a);
    assert!(out.passed(), "{:#?}", out.failures);
    assert!(out.steps_run > 3);
    // Readiness takes simulated time on the sim, and it was measured per step.
    assert!(
        out.ready_seconds.iter().any(|s| *s > 1.0),
        "{:?}",
        out.ready_seconds
    );
    run(11, &[], &b);
    let (ja, jb) = (without_wall_clock(&a), without_wall_clock(&b));
    assert!(ja.len() > out.steps_run * 20);
    assert_eq!(ja, jb);
    // Another seed times the sim differently.
    let c = dir.path().join("c.jsonl");
    run(12, &[], &c);
    assert_ne!(ja, without_wall_clock(&c));
}

#[test]
fn the_oracle_catches_faults_on_the_sim() {
    let dir = tempfile::tempdir().unwrap();
    for (fault, check) in [
        (Fault::RotatedProxyToken, "secret_fingerprint"),
        (Fault::SpuriousPathDiff, "idempotent"),
        (Fault::TariRequiredIgnoresOff, "env.TARI_REQUIRED"),
    ] {
        let out = run(
            7,
            &[fault],
            &dir.path().join(format!("{}.jsonl", fault.name())),
        );
        assert!(
            out.failures.iter().any(|f| f.verdict.check == check),
            "{} not caught by {check}: {:?}",
            fault.name(),
            out.failures
                .iter()
                .map(|f| &f.verdict.check)
                .collect::<Vec<_>>()
        );
    }
}
