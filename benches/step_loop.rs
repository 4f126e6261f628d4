//! Throughput of the step loop: runner + oracle, in-process, no reports.
//!
//! Until the simulated stack lands this drives the scripted test target of
//! `tests/run_support` (a box that renders with the model itself), so the figure includes that
//! target's own cost; BENCHMARKS.md says which target a number was measured on.

#[path = "../tests/run_support/mod.rs"]
mod run_support;

use std::time::Duration;

use canary::journal::JournalWriter;
use canary::model::{Model, Supplied};
use canary::plan::Step;
use canary::run::{RunOptions, check_walk, run_walk, snapshot};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::Rng;

/// A random walk of `n` steps, each changing one or two axes (valid under the constraints).
fn random_walk(model: &Model, n: usize) -> Vec<Step> {
    let supplied = Supplied::default();
    let mut rng = canary::rng::Seed::from_u64(1).rng("bench-walk");
    let mut cur = model.default_config();
    let mut raws = Vec::with_capacity(n);
    while raws.len() < n {
        let mut next = cur.clone();
        for _ in 0..rng.random_range(1..=2) {
            let a = rng.random_range(0..model.axes.len());
            let v = rng.random_range(0..model.axes[a].values.len()) as u16;
            next.0[a] = v;
        }
        let allowed = (0..model.axes.len()).all(|a| model.value_allowed(a, next.0[a], &supplied));
        if allowed && model.violation(&next.0).is_none() {
            raws.push(next.clone());
            cur = next;
        }
    }
    canary::run::steps_from(model, &supplied, &model.default_config(), raws)
}

fn step_loop(c: &mut Criterion) {
    let model = run_support::pithead();
    let supplied = Supplied::default();
    let steps = random_walk(&model, 1000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let options = RunOptions::default();
    let mut group = c.benchmark_group("step_loop");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(steps.len() as u64));

    group.bench_function("scripted/fast_path", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(model.clone());
            let out = rt
                .block_on(check_walk(&mut target, &model, &supplied, &steps, &options))
                .unwrap();
            assert!(out.passed());
            out.steps_run
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    group.bench_function("scripted/journaled", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(model.clone());
            let mut journal = JournalWriter::create(&path).unwrap();
            rt.block_on(async {
                let baseline = snapshot(&mut target).await.unwrap();
                run_walk(
                    &mut target,
                    &model,
                    &supplied,
                    &baseline,
                    &steps,
                    &options,
                    &mut journal,
                )
                .await
                .unwrap()
                .steps_run
            })
        })
    });

    // The fuzzer's shape: one cache of expectations and config.json kept across walks.
    let mut cache = canary::run::WalkCache::new();
    group.bench_function("scripted/fast_path_warm_cache", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(model.clone());
            rt.block_on(async {
                let baseline = snapshot(&mut target).await.unwrap();
                canary::run::run_walk_cached(
                    &mut target,
                    &model,
                    &supplied,
                    &baseline,
                    &steps,
                    &options,
                    &mut canary::run::Quiet,
                    &mut cache,
                )
                .await
                .unwrap()
                .steps_run
            })
        })
    });

    // The scripted target alone (the same applies and observes, no runner, no oracle), to
    // tell its share of the figures above from the runner's.
    group.bench_function("scripted/target_only", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(model.clone());
            rt.block_on(async {
                use canary::target::Target;
                let base = target.read_config().await.unwrap();
                let mut n = 0;
                for s in &steps {
                    let doc = canary::run::config_json(&base, &model, &supplied, &s.config);
                    target.write_config(&doc).await.unwrap();
                    target.apply().await.unwrap();
                    for _ in 0..4 {
                        n += target.observe().await.unwrap().containers.len();
                        target.wait(Duration::from_secs(15)).await;
                    }
                    target.apply().await.unwrap();
                    n += target.observe().await.unwrap().containers.len();
                }
                n
            })
        })
    });

    // The oracle's expectations for one step, uncached.
    group.bench_function("oracle/expected_new", |b| {
        b.iter(|| {
            steps
                .iter()
                .map(|s| {
                    canary::oracle::Expected::new(&model, &supplied, &s.effective)
                        .running
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, step_loop);
criterion_main!(benches);
