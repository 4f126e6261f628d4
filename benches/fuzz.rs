//! Fuzz throughput on the simulated stack: cases of 20 random steps, run on the fast path
//! (oracle included, no shrinking), with no fault so every case runs all its steps; applies
//! only, then with every operation group mixed in.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use canary::fuzz::{self, FuzzOptions};
use canary::model::{self, OpGroup, Supplied};
use canary::rng::Seed;

const CASES: usize = 20;
const STEPS: usize = 20;

fn fuzz_cases(c: &mut Criterion) {
    let model =
        model::load_str(model::BUILTIN_PITHEAD, std::path::Path::new("pithead.toml")).unwrap();
    let supplied = Supplied::default();
    let mut g = c.benchmark_group("fuzz");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(8));
    g.throughput(Throughput::Elements((CASES * STEPS) as u64));
    for (name, operations) in [
        ("sim 20 cases x 20 steps (steps/s)", vec![]),
        (
            "sim 20 cases x 20 steps with operations (steps/s)",
            OpGroup::ALL.to_vec(),
        ),
    ] {
        let mut seed = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                seed += 1;
                let options = FuzzOptions {
                    seed: Seed::from_u64(seed),
                    cases: CASES,
                    steps: STEPS,
                    operations: operations.clone(),
                    ..FuzzOptions::default()
                };
                let r = fuzz::fuzz(&model, &supplied, &options, &mut |_| {}).unwrap();
                assert_eq!(
                    r.steps_run,
                    CASES * STEPS,
                    "{:?}",
                    r.failures.first().map(|f| &f.signature)
                );
                r
            })
        });
    }
    g.finish();
}

criterion_group!(benches, fuzz_cases);
criterion_main!(benches);
