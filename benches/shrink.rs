//! The shrinker benchmark (issue #4, "How well").
//!
//! First prints the applies tables for `BENCHMARKS.md`: canary's shrinker and the three
//! reference shrinkers (`canary::shrink::reference`) on the same seeded 50-step failing walks of
//! the Pithead model, each failure needing specific transitions in order; then on walks mixing
//! applies with operations, each failure at an operation after specific transitions. Then a criterion
//! benchmark of canary's shrinking time (CPU only: the synthetic oracle answers instantly; on a
//! box the applies dominate).
//!
//! `SHRINK_TABLE_ONLY=1` prints the table and skips criterion. `SHRINK_ONLY=ops2` (a comma
//! list of `cfg2`, `decoy`, `cfg1`, `cfg3`, `ops1`, `ops2`) prints only those tables, and
//! `SHRINK_PER_WALK=1` adds canary's applies per walk (seed, length, applies, the passes that
//! cost them), to find the expensive walks.

#[path = "../tests/shrink_support/mod.rs"]
mod shrink_support;

use std::time::Duration;

use canary::rng::Seed;
use canary::shrink::synthetic::{Setting, pithead_operation_setting, pithead_setting};
use canary::shrink::{PassStat, ShrinkOptions, Step, reference, shrink};
use criterion::{Criterion, criterion_group};
use shrink_support::shrink_with;

const WALKS: u64 = 50;
const STEPS: usize = 50;

/// One shrinker's figures on one walk.
struct Run {
    applies: usize,
    to_minimal: Option<usize>,
    length: usize,
    one_minimal: Option<bool>,
    /// canary's per-pass figures (empty for the references).
    passes: Vec<PassStat>,
}

fn run_all<S: Step>(setting: &Setting<S>) -> [Run; 4] {
    let m = &setting.oracle.model;
    let s = &setting.oracle.supplied;
    let f = &setting.failure;
    let min = setting.minimal_length;
    let canary = shrink(
        m,
        s,
        f,
        &mut setting.oracle.clone(),
        &ShrinkOptions::default(),
    );
    let refs = [
        reference::proptest_one_at_a_time(m, s, f, &mut setting.oracle.clone(), None),
        reference::ddmin(m, s, f, &mut setting.oracle.clone(), None),
        reference::hypothesis_blocks(m, s, f, &mut setting.oracle.clone(), None),
    ];
    let [p, d, h] = refs.map(|r| Run {
        applies: r.applies,
        to_minimal: r.applies_to_reach(min),
        length: r.minimal.len(),
        one_minimal: None,
        passes: Vec::new(),
    });
    [
        Run {
            applies: canary.applies,
            to_minimal: canary.applies_to_reach(min),
            length: canary.minimal.len(),
            one_minimal: Some(canary.one_minimal),
            passes: canary.passes,
        },
        p,
        d,
        h,
    ]
}

fn stats(xs: &mut [usize]) -> (f64, usize, usize) {
    if xs.is_empty() {
        return (f64::NAN, 0, 0);
    }
    xs.sort_unstable();
    let mean = xs.iter().sum::<usize>() as f64 / xs.len() as f64;
    (mean, xs[xs.len() / 2], xs[xs.len() - 1])
}

fn table(transitions: usize, decoy: bool) {
    let settings: Vec<Setting> = (0..WALKS)
        .filter_map(|seed| pithead_setting(&Seed::from_u64(seed), transitions, decoy, STEPS))
        .collect();
    let title = format!(
        "{STEPS}-step walks, failure needs {transitions} transition(s){}",
        if decoy {
            ", decoy failure (apply changing ≥ 10 axes)"
        } else {
            ""
        }
    );
    // The reference figures are for its setting only: 2 transitions, no decoy.
    print_table(&title, &settings, transitions == 2 && !decoy);
}

/// Walks mixing applies and operations (every group), drawn up to 50 steps long and cut at
/// their first failure, which must come at step 20 or later.
fn operations_table(transitions: usize) {
    let settings: Vec<_> = (0..WALKS)
        .filter_map(|seed| pithead_operation_setting(&Seed::from_u64(seed), transitions, 20, STEPS))
        .collect();
    let title = format!(
        "walks of applies and operations (20–{STEPS} steps), failure at an operation after {transitions} transition(s)"
    );
    print_table(&title, &settings, false);
}

fn print_table<S: Step>(title: &str, settings: &[Setting<S>], figures: bool) {
    let names = [
        ("canary", "≤ 150 (target)"),
        ("proptest one-at-a-time", "≈ 666"),
        ("ddmin", "≈ 413"),
        ("Hypothesis-style blocks", "≈ 273"),
    ];
    let minimal: Vec<usize> = settings.iter().map(|s| s.minimal_length).collect();
    let runs: Vec<[Run; 4]> = settings.iter().map(run_all).collect();
    let lengths: Vec<usize> = settings.iter().map(|s| s.failure.steps.len()).collect();
    println!(
        "\n### {title} — {} walks (mean length {:.0}), minimal length {:?}\n",
        runs.len(),
        lengths.iter().sum::<usize>() as f64 / lengths.len().max(1) as f64,
        {
            let mut m = minimal.clone();
            m.sort_unstable();
            m.dedup();
            m
        }
    );
    println!(
        "| shrinker | applies mean | median | max | applies to minimal length (mean / max) | reached minimal length | 1-minimal | reference figure |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (name, figure)) in names.iter().enumerate() {
        let mut applies: Vec<usize> = runs.iter().map(|r| r[i].applies).collect();
        let mut to_min: Vec<usize> = runs.iter().filter_map(|r| r[i].to_minimal).collect();
        let reached = runs
            .iter()
            .zip(&minimal)
            .filter(|(r, m)| r[i].length == **m)
            .count();
        let one_min = runs
            .iter()
            .filter_map(|r| r[i].one_minimal)
            .filter(|b| *b)
            .count();
        let (mean, median, max) = stats(&mut applies);
        let (tmean, _, tmax) = stats(&mut to_min);
        let figure = if figures { figure } else { &"—" };
        println!(
            "| {name} | {mean:.0} | {median} | {max} | {tmean:.0} / {tmax} | {reached}/{} | {} | {figure} |",
            runs.len(),
            if i == 0 {
                format!("{one_min}/{}", runs.len())
            } else {
                "n/a".into()
            }
        );
    }
    print_passes(&runs);
    if std::env::var_os("SHRINK_PER_WALK").is_some() {
        print_walks(settings, &runs);
    }
}

/// canary's applies on each walk, with the passes that spent them.
fn print_walks<S: Step>(settings: &[Setting<S>], runs: &[[Run; 4]]) {
    println!();
    for (i, (s, r)) in settings.iter().zip(runs).enumerate() {
        let passes: Vec<String> = r[0]
            .passes
            .iter()
            .filter(|p| p.applies > 0)
            .map(|p| format!("{} {}", p.name, p.applies))
            .collect();
        println!(
            "walk {i}: length {}, minimal {}, applies {}: {}",
            s.failure.steps.len(),
            s.minimal_length,
            r[0].applies,
            passes.join(", ")
        );
    }
}

/// Where canary's applies went: per pass, the mean applies its runs cost and the mean steps
/// and changed axes its accepted candidates removed, over the table's walks.
fn print_passes(runs: &[[Run; 4]]) {
    let n = runs.len().max(1) as f64;
    println!(
        "\n| canary pass | applies (mean per walk) | steps removed (mean) | changes removed (mean) | candidates (cached) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let Some(first) = runs.first() else { return };
    for (i, p) in first[0].passes.iter().enumerate() {
        let sum =
            |f: fn(&PassStat) -> usize| runs.iter().map(|r| f(&r[0].passes[i])).sum::<usize>();
        let (applies, steps, changes) = (
            sum(|p| p.applies),
            sum(|p| p.steps_removed),
            sum(|p| p.changes_removed),
        );
        let (cands, hits) = (sum(|p| p.candidates), sum(|p| p.cache_hits));
        if cands == 0 && steps == 0 {
            continue;
        }
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {cands} ({hits}) |",
            p.name,
            applies as f64 / n,
            steps as f64 / n,
            changes as f64 / n
        );
    }
}

fn bench_shrink(c: &mut Criterion) {
    let settings: Vec<Setting> = (0..5)
        .filter_map(|s| pithead_setting(&Seed::from_u64(s), 2, false, STEPS))
        .collect();
    c.bench_function("canary shrink, 5 walks of 50 steps, 2 transitions", |b| {
        b.iter(|| {
            for s in &settings {
                let r = shrink_with(s, &s.failure, &ShrinkOptions::default()).0;
                assert_eq!(r.minimal.len(), s.minimal_length);
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench_shrink
}

fn main() {
    println!("## Shrinker applies ({WALKS} seeded walks per row)");
    let only = std::env::var("SHRINK_ONLY").ok();
    let wanted = |name: &str| {
        only.as_ref()
            .is_none_or(|o| o.split(',').any(|t| t == name))
    };
    let tables: [(&str, fn()); 6] = [
        ("cfg2", || table(2, false)),
        ("decoy", || table(2, true)),
        ("cfg1", || table(1, false)),
        ("cfg3", || table(3, false)),
        ("ops1", || operations_table(1)),
        ("ops2", || operations_table(2)),
    ];
    for (name, print) in tables {
        if wanted(name) {
            print();
        }
    }
    if std::env::var_os("SHRINK_TABLE_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
