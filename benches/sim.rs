//! Throughput of the simulated stack: `apply` + `observe` per step over a long seeded walk of
//! random config flips (the runner's hot loop minus the oracle). Results go in BENCHMARKS.md,
//! section "Simulated stack".

mod cpu_time;

use std::hint::black_box;
use std::time::Duration;

use canary::rng::Seed;
use canary::sim::SimTarget;
use cpu_time::thread_cpu;
use criterion::{Criterion, Throughput, criterion_group};
use rand::Rng;
use serde_json::{Value, json};

/// A walk of configs, each one flip away from the previous, over the hot-apply axes.
fn walk(n: usize) -> Vec<Value> {
    let sim = SimTarget::new(Seed::from_u64(1), &[]);
    let mut cfg = sim.config().clone();
    let mut rng = Seed::from_u64(1).rng("bench-walk");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match rng.random_range(0..10) {
            0 => cfg["p2pool"]["pool"] = json!(["main", "mini", "nano"][rng.random_range(0..3)]),
            1 => cfg["xvb"]["enabled"] = json!(rng.random_bool(0.5)),
            2 => cfg["dashboard"]["secure"] = json!(rng.random_bool(0.5)),
            3 => cfg["tari"]["mode"] = json!(["local", "remote", "off"][rng.random_range(0..3)]),
            4 => cfg["monero"]["rpc_lan_access"] = json!(rng.random_bool(0.5)),
            5 => cfg["p2pool"]["stratum_tls"] = json!(rng.random_bool(0.5)),
            6 => {
                let remote = rng.random_bool(0.5);
                cfg["monero"]["mode"] = json!(if remote { "remote" } else { "local" });
            }
            7 => cfg["dashboard"]["tari_required"] = json!(rng.random_bool(0.5)),
            8 => cfg["network"]["tor_egress_firewall"] = json!(rng.random_bool(0.5)),
            _ => cfg["monero"]["clearnet_initial_sync"] = json!(rng.random_bool(0.5)),
        }
        out.push(cfg.clone());
    }
    out
}

fn bench(c: &mut Criterion) {
    let configs = walk(10_000);
    let mut g = c.benchmark_group("sim");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));

    // One step as the runner does it: write config.json, apply, observe.
    g.bench_function("write+apply+observe", |b| {
        let mut sim = SimTarget::new(Seed::from_u64(7), &[]);
        let mut i = 0;
        b.iter(|| {
            sim.write_config_sync(&configs[i % configs.len()]);
            i += 1;
            black_box(sim.apply_sync());
            sim.advance(Duration::from_secs(30));
            black_box(sim.observe_sync())
        })
    });

    // The no-op second apply the oracle runs after every step.
    g.bench_function("noop-apply", |b| {
        let mut sim = SimTarget::new(Seed::from_u64(7), &[]);
        b.iter(|| black_box(sim.apply_sync()))
    });

    g.bench_function("observe", |b| {
        let sim = SimTarget::new(Seed::from_u64(7), &[]);
        b.iter(|| black_box(sim.observe_sync()))
    });

    // A whole 10,000-step walk from a fresh box, as one iteration.
    g.throughput(Throughput::Elements(configs.len() as u64));
    g.sample_size(10);
    g.bench_function("walk-10k", |b| b.iter(|| full_walk(&configs)));
    g.finish();
}

/// One runner-shaped walk: per step write, apply, let time pass, observe, and the oracle's
/// second (no-op) apply.
fn full_walk(configs: &[Value]) {
    let mut sim = SimTarget::new(Seed::from_u64(7), &[]);
    for cfg in configs {
        sim.write_config_sync(cfg);
        black_box(sim.apply_sync());
        sim.advance(Duration::from_secs(30));
        black_box(sim.observe_sync());
        black_box(sim.apply_sync());
    }
}

fn cpu_report() {
    let configs = walk(10_000);
    let best = (0..5)
        .map(|_| {
            let t0 = thread_cpu();
            full_walk(&configs);
            thread_cpu() - t0
        })
        .min()
        .unwrap_or_default();
    let per_step = best.as_secs_f64() / configs.len() as f64;
    println!(
        "sim walk (CPU time, best of 5): {} steps in {:.1} ms, {:.2} µs/step, {:.0} steps/s per core",
        configs.len(),
        best.as_secs_f64() * 1e3,
        per_step * 1e6,
        1.0 / per_step
    );

    // Where one observe goes: cloning the parts of an `Observation` costs no more than
    // building them, so these bound the price of the type itself.
    let sim = SimTarget::new(Seed::from_u64(7), &[]);
    let obs = sim.observe_sync();
    let n = 20_000;
    let per = |f: &dyn Fn()| {
        let t0 = thread_cpu();
        for _ in 0..n {
            f();
        }
        (thread_cpu() - t0).as_secs_f64() * 1e6 / n as f64
    };
    println!(
        "per call (CPU µs): observe {:.2}, of which env clone {:.2} ({} keys), api clone {:.2}, containers clone {:.2}; no-op apply {:.2}",
        per(&|| {
            black_box(sim.observe_sync());
        }),
        per(&|| {
            black_box(obs.env.clone());
        }),
        obs.env.len(),
        per(&|| {
            black_box(obs.api.clone());
        }),
        per(&|| {
            black_box(obs.containers.clone());
        }),
        {
            let mut s2 = SimTarget::new(Seed::from_u64(7), &[]);
            let t0 = thread_cpu();
            for _ in 0..n {
                black_box(s2.apply_sync());
            }
            (thread_cpu() - t0).as_secs_f64() * 1e6 / n as f64
        }
    );
    // A changing apply, alternating two configs one flip apart (xvb: one recreate).
    let a = sim.config().clone();
    let mut b = a.clone();
    b["xvb"]["enabled"] = json!(false);
    let mut s3 = SimTarget::new(Seed::from_u64(7), &[]);
    let t0 = thread_cpu();
    for i in 0..n {
        s3.write_config_sync(if i % 2 == 0 { &b } else { &a });
        black_box(s3.apply_sync());
    }
    let write_apply = (thread_cpu() - t0).as_secs_f64() * 1e6 / n as f64;
    println!(
        "per call (CPU µs): write_config (config.json clone) {:.2}, write+changing apply {:.2}",
        per(&|| {
            black_box(a.clone());
        }),
        write_apply
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    cpu_report();
}
