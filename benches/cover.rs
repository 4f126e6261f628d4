//! Covering-array sizes and times on the classic pairwise instances.
//!
//! `cargo bench --bench cover` times `Effort::Quick` on each instance with criterion. With
//! `CANARY_COVER_REPORT=<seconds>` it instead prints a table of rows and times for Quick and
//! for `Thorough { seconds }` (the table in BENCHMARKS.md).

use std::time::Instant;

use canary::plan::cover::{CoverOptions, CoverProblem, Effort, cover};
use canary::rng::Seed;
use criterion::Criterion;

/// (name, sizes, PICT rows, best known rows)
fn instances() -> Vec<(&'static str, Vec<usize>, usize, Option<usize>)> {
    let rep = |parts: &[(usize, usize)]| -> Vec<usize> {
        parts
            .iter()
            .flat_map(|&(v, n)| std::iter::repeat_n(v, n))
            .collect()
    };
    vec![
        ("3^4", rep(&[(3, 4)]), 12, Some(9)),
        ("3^13", rep(&[(3, 13)]), 19, Some(15)),
        (
            "4^15 3^17 2^29",
            rep(&[(4, 15), (3, 17), (2, 29)]),
            38,
            None,
        ),
        ("4^1 3^39 2^35", rep(&[(4, 1), (3, 39), (2, 35)]), 28, None),
        ("2^100", rep(&[(2, 100)]), 16, Some(10)),
        ("10^20", rep(&[(10, 20)]), 213, Some(155)),
        ("5^10", rep(&[(5, 10)]), 45, Some(36)),
        ("3^100", rep(&[(3, 100)]), 33, Some(22)),
        ("2^1000", rep(&[(2, 1000)]), 22, Some(14)),
    ]
}

fn run(sizes: &[usize], effort: Effort) -> (Vec<Vec<u16>>, f64) {
    let problem = CoverProblem {
        sizes: sizes.to_vec(),
        constraints: &[],
        strength: 2,
        seed_rows: Vec::new(),
    };
    let mut rng = Seed::from_u64(1).rng("cover");
    let start = Instant::now();
    let r = cover(
        &problem,
        &CoverOptions {
            effort,
            deadline: None,
        },
        &mut rng,
    );
    (r.rows, start.elapsed().as_secs_f64())
}

/// Independent check: every pair of values of every pair of axes occurs in some row.
fn covers_all_pairs(sizes: &[usize], rows: &[Vec<u16>]) -> bool {
    let k = sizes.len();
    let mut seen = Vec::new();
    for a in 0..k {
        for b in a + 1..k {
            seen.clear();
            seen.resize(sizes[a] * sizes[b], false);
            for r in rows {
                seen[r[a] as usize * sizes[b] + r[b] as usize] = true;
            }
            if seen.contains(&false) {
                return false;
            }
        }
    }
    true
}

fn report(seconds: f64) {
    println!(
        "| instance | PICT | best known | canary Quick | canary Thorough {{ seconds: {seconds} }} |"
    );
    println!("|---|---|---|---|---|");
    let only = std::env::var("ONLY").unwrap_or_default();
    for (name, sizes, pict, best) in instances() {
        if !only.is_empty() && !only.split(',').any(|o| o == name) {
            continue;
        }
        let (q, qt) = run(&sizes, Effort::Quick);
        let (th, tt) = run(&sizes, Effort::Thorough { seconds });
        assert!(
            covers_all_pairs(&sizes, &q) && covers_all_pairs(&sizes, &th),
            "{name}: a pair is left uncovered"
        );
        let (q, th) = (q.len(), th.len());
        let best = best.map_or("—".to_string(), |b| b.to_string());
        println!("| {name} | {pict} | {best} | {q} ({qt:.2} s) | {th} ({tt:.1} s) |");
    }
    if !only.is_empty() && !only.split(',').any(|o| o == "pithead") {
        return;
    }
    println!();
    println!(
        "| Pithead model | feasible tuples | infeasible tuples | canary Quick | canary Thorough |"
    );
    println!("|---|---|---|---|---|");
    for t in 2..=3 {
        let (q, total, infeasible, qt) = pithead(t, Effort::Quick);
        let (th, _, _, tt) = pithead(t, Effort::Thorough { seconds });
        println!("| t = {t} | {total} | {infeasible} | {q} ({qt:.2} s) | {th} ({tt:.1} s) |");
    }
}

/// The Pithead model's planning space (no prerequisites supplied), with its baseline seeded.
fn pithead(t: usize, effort: Effort) -> (usize, usize, usize, f64) {
    let model = canary::model::load_str(
        canary::model::BUILTIN_PITHEAD,
        std::path::Path::new("strategies/pithead.toml"),
    )
    .expect("the built-in model loads");
    let constraints = model.planning_constraints(&canary::model::Supplied::default());
    let problem = CoverProblem {
        sizes: model.axes.iter().map(|a| a.values.len()).collect(),
        constraints: &constraints,
        strength: t,
        seed_rows: vec![model.default_config().0],
    };
    let mut rng = Seed::from_u64(1).rng("cover");
    let start = Instant::now();
    let r = cover(
        &problem,
        &CoverOptions {
            effort,
            deadline: None,
        },
        &mut rng,
    );
    let took = start.elapsed().as_secs_f64();
    (r.rows.len(), r.tuples_total, r.infeasible.len(), took)
}

fn main() {
    if let Ok(s) = std::env::var("CANARY_COVER_REPORT") {
        report(s.parse().unwrap_or(5.0));
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(200))
        .measurement_time(std::time::Duration::from_secs(2))
        .configure_from_args();
    let mut group = c.benchmark_group("cover_quick_t2");
    for (name, sizes, _, _) in instances() {
        group.bench_function(name, |b| b.iter(|| run(&sizes, Effort::Quick)));
    }
    group.bench_function("pithead model", |b| b.iter(|| pithead(2, Effort::Quick)));
    group.finish();
    c.final_summary();
}
