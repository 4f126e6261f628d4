//! Planner benchmarks: time to plan the Pithead model, and the applies each plan needs (printed
//! once per case, since criterion measures time only). Figures go to BENCHMARKS.md `## Planner`.

#[path = "../tests/model_support/mod.rs"]
mod model_support;

use std::path::Path;
use std::time::Duration;

use canary::model::{BUILTIN_PITHEAD, Model, load_str};
use canary::plan::{PlanOptions, plan};
use criterion::{Criterion, criterion_group, criterion_main};
use model_support::all_supplies;

fn bench(c: &mut Criterion) {
    let model: Model = load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap();
    let cases: Vec<(&str, PlanOptions)> = vec![
        ("default supplies, pairs + changes", PlanOptions::default()),
        (
            "default supplies, pairs only",
            PlanOptions {
                transitions: Some(false),
                ..PlanOptions::default()
            },
        ),
        (
            "all supplies, pairs + changes",
            PlanOptions {
                supplied: all_supplies(),
                ..PlanOptions::default()
            },
        ),
        (
            "all supplies, pairs only",
            PlanOptions {
                supplied: all_supplies(),
                transitions: Some(false),
                ..PlanOptions::default()
            },
        ),
        (
            "all supplies, pairs + changes, 2 shards",
            PlanOptions {
                supplied: all_supplies(),
                shards: 2,
                ..PlanOptions::default()
            },
        ),
        (
            "all supplies, triples + changes",
            PlanOptions {
                supplied: all_supplies(),
                strength: 3,
                ..PlanOptions::default()
            },
        ),
    ];
    let mut group = c.benchmark_group("plan pithead");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_millis(500));
    for (name, options) in &cases {
        let p = plan(&model, options).unwrap();
        let per_walk: Vec<usize> = p.walks.iter().map(|w| w.applies()).collect();
        eprintln!(
            "{name}: {} applies {per_walk:?} (lower bound {}), {:.0} s predicted, tuples {}/{}, changes {}/{}",
            p.coverage.applies,
            p.coverage.lower_bound,
            p.coverage.cost,
            p.coverage.tuples_covered,
            p.coverage.tuples_total,
            p.coverage.transitions_covered,
            p.coverage.transitions_total
        );
        let over_seeds: Vec<usize> = (0..8u64)
            .map(|seed| {
                let o = PlanOptions {
                    seed: canary::rng::Seed::from_u64(seed),
                    ..options.clone()
                };
                plan(&model, &o).unwrap().coverage.applies
            })
            .collect();
        eprintln!("{name}: applies over seeds 0..8: {over_seeds:?}");
        group.bench_function(*name, |b| b.iter(|| plan(&model, options).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
