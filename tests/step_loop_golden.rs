//! The step loop's speed-ups change no behaviour: the step-loop bench's walk, run on the sim
//! (clean and under every fault) into a journal, gives the same journal lines, byte for byte
//! once the wall-clock fields are dropped, as it did before them. steps.csv and every report
//! are derived from these lines.
//!
//! The digests below were taken on the code before the speed-ups (commit "tests: golden
//! journals of the step-loop walk"). A change that is meant to change what a walk does or
//! records updates them, and says so.

#[path = "run_support/mod.rs"]
mod run_support;

use canary::faults::Fault;
use canary::journal::JournalWriter;
use canary::model::{Model, Supplied};
use canary::plan::Step;
use canary::rng::Seed;
use canary::run::{RunOptions, WalkCache, run_walk_cached, snapshot};
use canary::target::sim::SimTarget;
use sha2::{Digest, Sha256};

/// The journal of one walk on a fresh sim of `seed` with `faults`, wall-clock fields dropped.
fn journal(
    model: &Model,
    steps: &[Step],
    seed: u64,
    faults: &[Fault],
    cache: &mut WalkCache,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut target = SimTarget::new(Seed::from_u64(seed), faults);
    let mut writer = JournalWriter::create(&path).unwrap();
    rt.block_on(async {
        let baseline = snapshot(&mut target).await.unwrap();
        run_walk_cached(
            &mut target,
            model,
            &Supplied::default(),
            &baseline,
            steps,
            &RunOptions::default(),
            &mut writer,
            cache,
        )
        .await
        .unwrap()
    });
    drop(writer);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let obj = entry.as_object_mut().unwrap();
        assert!(obj.remove("ts").is_some() && obj.remove("wall_ms").is_some());
        out.push_str(&entry.to_string());
        out.push('\n');
    }
    out
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The bench's 1000 steps on a clean sim: the same journal as before, and the same again on
/// a second sim after other sims (other seeds, faults) ran the same documents on this thread.
#[test]
fn bench_walk_journal_is_unchanged() {
    let model = run_support::pithead();
    let steps = run_support::bench_walk(&model, 1000);
    let mut cache = WalkCache::new();
    let first = journal(&model, &steps, 5, &[], &mut cache);
    assert!(
        first.lines().count() > 30_000,
        "a 1000-step journal, got {} lines",
        first.lines().count()
    );
    assert_eq!(
        sha(&first),
        "03431ec92ed92ddf3945813cfa847228f8e3275fd4ec0fa328637071c8a03734",
        "the clean walk's journal changed"
    );
    let other = journal(&model, &steps, 6, &[], &mut cache);
    assert_ne!(first, other, "another seed has other secrets and ids");
    let _ = journal(
        &model,
        &steps[..200],
        5,
        &[Fault::RotatedProxyToken],
        &mut cache,
    );
    let again = journal(&model, &steps, 5, &[], &mut cache);
    assert!(
        first == again,
        "the same seed and walk gave another journal"
    );
}

/// The first 150 steps of the bench's walk under each fault of the catalogue, one sim per
/// fault, all on one thread with one walk cache (as the fuzzer runs them).
#[test]
fn faulted_walk_journals_are_unchanged() {
    let model = run_support::pithead();
    let steps = run_support::bench_walk(&model, 150);
    let mut cache = WalkCache::new();
    let mut all = Sha256::new();
    let mut failing = 0;
    for fault in Fault::ALL {
        let text = journal(&model, &steps, 5, &[fault], &mut cache);
        failing += usize::from(text.contains("\"passed\":false"));
        all.update(fault.name().as_bytes());
        all.update(sha(&text).as_bytes());
    }
    assert!(failing > 0, "no fault showed in 150 steps");
    assert_eq!(
        hex::encode(all.finalize()),
        "f445c1a03e9ec33c0fbba4f2f6cddd9ab59bcbbaa25d5de64223c6a7564611dc",
        "a faulted walk's journal changed"
    );
}
