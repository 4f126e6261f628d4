//! Throughput of the step loop: runner + oracle, in-process, no reports.
//!
//! `sim/*` drives the simulated stack (the throughput goal: at least 100,000 steps/s with the
//! oracle); `scripted/*` drives the scripted test target of `tests/run_support`, a much slower
//! box that re-renders with the model on every apply, kept to compare the runner's share.

mod cpu_time;

#[path = "../tests/run_support/mod.rs"]
mod run_support;

use std::time::Duration;

use canary::journal::JournalWriter;
use canary::model::{Model, Supplied};
use canary::plan::Step;
use canary::run::{
    Quiet, RunOptions, RunOutcome, Sink, WalkCache, check_walk, run_walk_cached, snapshot,
};
use canary::target::Target;
use canary::target::sim::SimTarget;
use cpu_time::thread_cpu;
use criterion::{Criterion, Throughput, criterion_group};

fn step_loop(c: &mut Criterion) {
    let walks = Walks::new();
    let mut group = c.benchmark_group("step_loop");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(walks.steps.len() as u64));

    let mut sim_cache = WalkCache::new();
    group.bench_function("sim/fast_path_warm_cache", |b| {
        b.iter(|| {
            let mut target = SimTarget::new(canary::rng::Seed::from_u64(5), &[]);
            let out = walks.walk(&mut target, &mut Quiet, &mut sim_cache);
            assert!(out.passed(), "{:?}", out.first_failure());
            out.steps_run
        })
    });
    group.bench_function("sim/fast_path", |b| {
        b.iter(|| {
            let mut target = SimTarget::new(canary::rng::Seed::from_u64(5), &[]);
            walks.check(&mut target).steps_run
        })
    });
    let sim_dir = tempfile::tempdir().unwrap();
    let sim_path = sim_dir.path().join("journal.jsonl");
    group.bench_function("sim/journaled", |b| {
        b.iter(|| {
            let mut target = SimTarget::new(canary::rng::Seed::from_u64(5), &[]);
            let mut journal = JournalWriter::create(&sim_path).unwrap();
            walks
                .walk(&mut target, &mut journal, &mut WalkCache::new())
                .steps_run
        })
    });

    group.bench_function("scripted/fast_path", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(walks.model.clone());
            let out = walks.check(&mut target);
            assert!(out.passed());
            out.steps_run
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    group.bench_function("scripted/journaled", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(walks.model.clone());
            let mut journal = JournalWriter::create(&path).unwrap();
            walks
                .walk(&mut target, &mut journal, &mut WalkCache::new())
                .steps_run
        })
    });

    // The fuzzer's shape: one cache of expectations and config.json kept across walks.
    let mut cache = WalkCache::new();
    group.bench_function("scripted/fast_path_warm_cache", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(walks.model.clone());
            walks.walk(&mut target, &mut Quiet, &mut cache).steps_run
        })
    });

    // The scripted target alone (the same applies and observes, no runner, no oracle), to
    // tell its share of the figures above from the runner's.
    group.bench_function("scripted/target_only", |b| {
        b.iter(|| {
            let mut target = run_support::ScriptedTarget::new(walks.model.clone());
            walks.rt.block_on(async {
                let base = target.read_config().await.unwrap();
                let mut n = 0;
                for s in &walks.steps {
                    let doc =
                        canary::run::config_json(&base, &walks.model, &walks.supplied, &s.config);
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
            walks
                .steps
                .iter()
                .map(|s| {
                    canary::oracle::Expected::new(&walks.model, &walks.supplied, &s.effective)
                        .running
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

/// What every benchmarked walk shares: the runtime, the model and the bench's 1000 steps.
struct Walks {
    rt: tokio::runtime::Runtime,
    model: Model,
    supplied: Supplied,
    steps: Vec<Step>,
    options: RunOptions,
}

impl Walks {
    fn new() -> Walks {
        let model = run_support::pithead();
        Walks {
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            supplied: Supplied::default(),
            steps: run_support::bench_walk(&model, 1000),
            model,
            options: RunOptions::default(),
        }
    }

    /// The fast path's walk on `target`.
    fn check<T: Target>(&self, target: &mut T) -> RunOutcome {
        self.rt
            .block_on(check_walk(
                target,
                &self.model,
                &self.supplied,
                &self.steps,
                &self.options,
            ))
            .unwrap()
    }

    /// One walk from `target`'s snapshot told to `sink`, with `cache` (a fresh one makes it
    /// `run_walk`).
    fn walk<T: Target, S: Sink>(
        &self,
        target: &mut T,
        sink: &mut S,
        cache: &mut WalkCache,
    ) -> RunOutcome {
        self.rt.block_on(async {
            let baseline = snapshot(target).await.unwrap();
            run_walk_cached(
                target,
                &self.model,
                &self.supplied,
                &baseline,
                &self.steps,
                &self.options,
                sink,
                cache,
            )
            .await
            .unwrap()
        })
    }
}

/// The sim with its observations counted, to report polls per step.
struct Counting {
    sim: SimTarget,
    observes: u64,
}

impl canary::target::Target for Counting {
    fn name(&self) -> &str {
        self.sim.name()
    }
    fn describe(&self) -> std::collections::BTreeMap<String, String> {
        self.sim.describe()
    }
    async fn read_config(&mut self) -> Result<serde_json::Value, canary::target::TargetError> {
        self.sim.read_config().await
    }
    async fn write_config(
        &mut self,
        config: &serde_json::Value,
    ) -> Result<(), canary::target::TargetError> {
        self.sim.write_config(config).await
    }
    async fn write_config_shared(
        &mut self,
        config: &std::sync::Arc<serde_json::Value>,
    ) -> Result<(), canary::target::TargetError> {
        self.sim.write_config_shared(config).await
    }
    async fn apply(
        &mut self,
    ) -> Result<canary::target::CommandResult, canary::target::TargetError> {
        self.sim.apply().await
    }
    async fn observe(
        &mut self,
    ) -> Result<canary::target::Observation, canary::target::TargetError> {
        self.observes += 1;
        self.sim.observe().await
    }
    async fn wait(&mut self, duration: Duration) {
        self.sim.wait(duration).await
    }
    fn elapsed(&self) -> Duration {
        self.sim.elapsed()
    }
    fn next_change(&self) -> Option<Duration> {
        self.sim.next_change()
    }
    fn quiet(&self) -> Option<bool> {
        self.sim.quiet()
    }
    async fn act(
        &mut self,
        action: &canary::target::Action,
    ) -> Result<canary::target::CommandResult, canary::target::TargetError> {
        self.sim.act(action).await
    }
    fn recycle(&mut self, observation: canary::target::Observation) {
        self.sim.recycle(observation)
    }
}

/// The warm-cache sim walk timed in thread CPU time (best of 5, or `STEP_LOOP_WALKS`), with observations per step.
fn cpu_report() {
    let walks = Walks::new();
    let mut cache = WalkCache::new();
    let mut observes = 0;
    let mut walk = |count: bool| {
        let mut target = Counting {
            sim: SimTarget::new(canary::rng::Seed::from_u64(5), &[]),
            observes: 0,
        };
        let out = walks.walk(&mut target, &mut Quiet, &mut cache);
        assert!(out.passed(), "{:?}", out.first_failure());
        if count {
            observes = target.observes;
        }
        let _ = target.name();
    };
    walk(true);
    // More walks for a profiler: `STEP_LOOP_WALKS=200` makes the steady state dominate.
    let repeats = std::env::var("STEP_LOOP_WALKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let best = (0..repeats)
        .map(|_| {
            let t0 = thread_cpu();
            walk(false);
            thread_cpu() - t0
        })
        .min()
        .unwrap_or_default();
    let per_step = best.as_secs_f64() / walks.steps.len() as f64;
    println!(
        "step loop, sim, warm cache (CPU time, best of {repeats}): {:.2} µs/step, {:.0} steps/s per core, {:.2} observations/step",
        per_step * 1e6,
        1.0 / per_step,
        observes as f64 / walks.steps.len() as f64
    );
}

criterion_group!(benches, step_loop);

fn main() {
    cpu_report();
    if std::env::var_os("STEP_LOOP_CPU_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
