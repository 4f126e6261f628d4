//! Tests of the covering-array engine, checked against naive counts that share no code with it.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::rng::Seed;

/// Small test budget: enough for the search to run, cheap in debug builds.
const SMALL: CoverOptions = CoverOptions {
    effort: Effort::Work { lookups: 20_000 },
    deadline: None,
};

/// Exactly this much search work, no deadline.
fn work(lookups: u64) -> CoverOptions {
    CoverOptions {
        effort: Effort::Work { lookups },
        deadline: None,
    }
}

fn rng(n: u64) -> ChaCha8Rng {
    Seed::from_u64(n).rng("cover-test")
}

/// Every complete row of the space, naively.
fn all_rows(sizes: &[usize]) -> Vec<Vec<u16>> {
    let mut out = vec![Vec::new()];
    for &s in sizes {
        out = out
            .into_iter()
            .flat_map(|r: Vec<u16>| {
                (0..s as u16).map(move |v| {
                    let mut r = r.clone();
                    r.push(v);
                    r
                })
            })
            .collect();
    }
    out
}

fn subsets(k: usize, t: usize) -> Vec<Vec<usize>> {
    if t == 0 {
        return vec![Vec::new()];
    }
    (0..k)
        .flat_map(|last| {
            subsets(last, t - 1).into_iter().map(move |mut s| {
                s.push(last);
                s
            })
        })
        .collect()
}

/// Independent, naive check: (tuples no valid row holds, feasible tuples no result row
/// holds). Only for small spaces.
#[allow(clippy::type_complexity)]
fn naive(
    sizes: &[usize],
    t: usize,
    constraints: &[Expr],
    rows: &[Vec<u16>],
) -> (BTreeSet<Vec<(usize, u16)>>, BTreeSet<Vec<(usize, u16)>>) {
    // Without constraints every tuple is feasible; skip enumerating the whole space.
    let valid: Vec<Vec<u16>> = if constraints.is_empty() {
        Vec::new()
    } else {
        all_rows(sizes)
            .into_iter()
            .filter(|r| constraints.iter().all(|c| c.holds(r)))
            .collect()
    };
    let (mut infeasible, mut missing) = (BTreeSet::new(), BTreeSet::new());
    for cols in subsets(sizes.len(), t) {
        let sub: Vec<usize> = cols.iter().map(|&c| sizes[c]).collect();
        for vals in all_rows(&sub) {
            let tuple: Vec<(usize, u16)> = cols.iter().copied().zip(vals).collect();
            let holds = |r: &Vec<u16>| tuple.iter().all(|&(c, v)| r[c] == v);
            if !constraints.is_empty() && !valid.iter().any(holds) {
                infeasible.insert(tuple);
            } else if !rows.iter().any(holds) {
                missing.insert(tuple);
            }
        }
    }
    (infeasible, missing)
}

fn problem(sizes: &[usize], constraints: &[Expr], t: usize) -> CoverProblem<'static> {
    CoverProblem {
        sizes: sizes.to_vec(),
        constraints: Box::leak(constraints.to_vec().into_boxed_slice()),
        strength: t,
        seed_rows: Vec::new(),
    }
}

/// Asserts completeness, validity and the exact infeasible set.
fn check(p: &CoverProblem, r: &CoverResult) {
    let (infeasible, missing) = naive(&p.sizes, r.strength, p.constraints, &r.rows);
    assert!(missing.is_empty(), "uncovered tuples: {missing:?}");
    let reported: BTreeSet<_> = r.infeasible.iter().cloned().collect();
    assert_eq!(reported, infeasible);
    for row in r.rows.iter().skip(p.seed_rows.len()) {
        assert_eq!(row.len(), p.sizes.len());
        assert!(row.iter().zip(&p.sizes).all(|(&v, &s)| (v as usize) < s));
        assert!(
            p.constraints.iter().all(|c| c.holds(row)),
            "invalid {row:?}"
        );
    }
    let total: usize = subsets(p.sizes.len(), r.strength)
        .iter()
        .map(|c| c.iter().map(|&a| p.sizes[a]).product::<usize>())
        .sum();
    assert_eq!(r.tuples_total, total - infeasible.len());
}

#[test]
fn strengths_one_to_four_cover_everything() {
    for t in 1..=4 {
        for sizes in [vec![2, 3, 2, 2, 3], vec![3, 3, 3, 3], vec![2; 6]] {
            let p = problem(&sizes, &[], t);
            let r = cover(&p, &SMALL, &mut rng(1));
            assert_eq!(r.strength, t);
            check(&p, &r);
        }
    }
}

#[test]
fn greedy_alone_covers_mixed_sizes() {
    let p = problem(&[4, 3, 3, 2, 2, 2, 5], &[], 2);
    let r = cover(&p, &work(0), &mut rng(3));
    check(&p, &r);
}

#[test]
fn constructions_hit_optimal_sizes() {
    // OA(9; 4, 3, 2), OA(25; 6, 5, 2), OA(27; 4, 3, 3), the prime-power OA(16; 5, 4, 2),
    // OA(64; 9, 8, 2), OA(81; 10, 9, 2) and the binary pairwise optimum
    // CAN(2, 10, 2) = 6, CAN(2, 11, 2) = 7.
    for (sizes, t, n) in [
        (vec![3; 4], 2, 9),
        (vec![5; 6], 2, 25),
        (vec![3; 4], 3, 27),
        (vec![4; 5], 2, 16),
        (vec![4, 3, 4, 2, 4], 2, 16),
        (vec![8; 9], 2, 64),
        (vec![9; 10], 2, 81),
        (vec![2; 10], 2, 6),
        (vec![2; 11], 2, 7),
        (vec![4, 3, 5, 2], 1, 5),
    ] {
        let p = problem(&sizes, &[], t);
        let r = cover(&p, &SMALL, &mut rng(2));
        check(&p, &r);
        assert_eq!(r.rows.len(), n, "{sizes:?} t={t}");
    }
}

#[test]
fn binary_construction_is_a_covering_array_for_many_widths() {
    for k in 1..=40 {
        let rows = construct::binary_pairs(k).unwrap();
        let sizes = vec![2; k];
        let t = 2.min(k);
        let (_, missing) = naive_pairs(&sizes, t, &rows);
        assert!(missing == 0, "k={k}");
    }
}

/// Pairs only, without enumerating all rows (for wide binary arrays).
fn naive_pairs(sizes: &[usize], t: usize, rows: &[Vec<u16>]) -> (usize, usize) {
    let mut missing = 0;
    let mut total = 0;
    for cols in subsets(sizes.len(), t) {
        let sub: Vec<usize> = cols.iter().map(|&c| sizes[c]).collect();
        for vals in all_rows(&sub) {
            total += 1;
            if !rows
                .iter()
                .any(|r| cols.iter().zip(&vals).all(|(&c, &v)| r[c] == v))
            {
                missing += 1;
            }
        }
    }
    (total, missing)
}

const PICT_MODEL: &str = "\
Type: Primary, Logical, Single, Span
Size: 10, 100, 500
Format: FAT, FAT32, NTFS
Cluster: 512, 4096, 65536
Compression: on, off

IF [Format] = \"FAT\" THEN [Size] <= 100;
IF [Type] = \"Span\" THEN [Compression] = \"off\" AND [Format] <> \"FAT\";
IF [Format] IN {\"FAT\", \"FAT32\"} THEN [Compression] = \"off\";
[Cluster] <> \"65536\" OR [Format] = \"NTFS\";
";

fn pict_problem(t: usize) -> CoverProblem<'static> {
    let model = crate::model::pict::load_pict_str(PICT_MODEL, Path::new("test.pict"))
        .expect("the test model loads");
    let sizes: Vec<usize> = model.axes.iter().map(|a| a.values.len()).collect();
    let exprs: Vec<Expr> = model.constraints.iter().map(|c| c.expr.clone()).collect();
    problem(&sizes, &exprs, t)
}

#[test]
fn constrained_model_gives_valid_rows_and_exact_infeasible_tuples() {
    for t in 1..=3 {
        let p = pict_problem(t);
        let r = cover(&p, &SMALL, &mut rng(4));
        check(&p, &r);
        if t >= 2 {
            assert!(!r.infeasible.is_empty(), "the model bans pairs at t={t}");
        }
    }
}

#[test]
fn lower_bound_counts_feasible_tuples_of_the_fullest_combo() {
    let space = TupleSpace::new(&[3, 4, 2], 2);
    assert_eq!(lower_bound(&space, &[]), 12);
    // Ban 5 of the 12 tuples of the combo {0, 1}: {0, 2} and {1, 2} still need 6 and 8.
    let (lo, _) = space.combo_range(space.rank(&[0, 1]));
    let banned: Vec<usize> = (lo..lo + 5).collect();
    assert_eq!(lower_bound(&space, &banned), 8);
}

#[test]
fn unsatisfiable_constraints_report_everything_infeasible() {
    let never = Expr::In(0, vec![false, false]);
    let p = problem(&[2, 3, 2], &[never], 2);
    let r = cover(&p, &SMALL, &mut rng(5));
    assert!(r.rows.is_empty());
    assert_eq!(r.tuples_total, 0);
    assert_eq!(r.infeasible.len(), 6 + 4 + 6);
    check(&p, &r);
}

#[test]
fn same_seed_same_rows_other_seed_may_differ() {
    let p = pict_problem(2);
    let a = cover(&p, &SMALL, &mut rng(6));
    let b = cover(&p, &SMALL, &mut rng(6));
    assert_eq!(a, b);
    let q = problem(&[3, 4, 2, 3, 2, 4, 3], &[], 2);
    assert_eq!(
        cover(&q, &SMALL, &mut rng(7)),
        cover(&q, &SMALL, &mut rng(7))
    );
}

#[test]
fn seed_rows_come_first_and_bad_ones_are_rejected() {
    let mut p = pict_problem(2);
    let seeds = vec![
        vec![0, 0, 2, 0, 1],
        vec![9, 9, 9, 9, 9], // out of range
        vec![1, 1, 1, 1, 0],
        vec![0, 0], // wrong length
    ];
    p.seed_rows = seeds.clone();
    let r = cover(&p, &SMALL, &mut rng(8));
    assert_eq!(r.rows[0], seeds[0]);
    assert_eq!(r.rows[1], seeds[2]);
    assert_eq!(r.rejected_seeds, vec![1, 3]);
    let kept = CoverProblem {
        seed_rows: vec![seeds[0].clone(), seeds[2].clone()],
        ..p.clone()
    };
    check(&kept, &r);

    // With a construction too, and seeds alone covering nothing new being fine.
    let mut q = problem(&[3; 4], &[], 2);
    q.seed_rows = vec![vec![2, 1, 0, 1]];
    let r = cover(&q, &SMALL, &mut rng(9));
    assert_eq!(r.rows[0], vec![2, 1, 0, 1]);
    check(&q, &r);
}

#[test]
fn strength_is_clamped_and_degenerate_shapes_do_not_panic() {
    let p = problem(&[2, 3, 2], &[], 9);
    let r = cover(&p, &SMALL, &mut rng(10));
    assert_eq!(r.strength, 3);
    assert_eq!(r.rows.len(), 12);
    check(&p, &r);
    let p = problem(&[2, 3], &[], 0);
    let r = cover(&p, &SMALL, &mut rng(10));
    assert_eq!(r.strength, 1);
    check(&p, &r);
    let r = cover(&problem(&[], &[], 2), &SMALL, &mut rng(10));
    assert!(r.rows.is_empty());
    let r = cover(&problem(&[2, 0, 3], &[], 2), &SMALL, &mut rng(10));
    assert!(r.rows.is_empty());
    // A constraint naming an axis the problem lacks is ignored rather than indexed.
    let stray = Expr::In(7, vec![true, false]);
    let r = cover(&problem(&[2, 2], &[stray], 2), &SMALL, &mut rng(10));
    assert_eq!(r.rows.len(), 4);
}

#[test]
fn tuple_spaces_too_large_to_count_lower_the_strength() {
    assert!(fits_in_memory(&[2; 1000], 2));
    assert!(!fits_in_memory(&[2; 1000], 3));
    assert!(fits_in_memory(&[10; 20], 4));
    // 4-way over 400 binary axes is ~1.7e10 tuples; 3-way is ~8.5e7, which fits.
    assert!(!fits_in_memory(&[2; 400], 4));
    assert!(fits_in_memory(&[2; 400], 3));
}

#[test]
fn higher_strengths_terminate_on_wider_spaces() {
    for (sizes, t) in [(vec![3; 7], 3), (vec![2; 8], 4)] {
        let p = problem(&sizes, &[], t);
        let r = cover(&p, &SMALL, &mut rng(11));
        check(&p, &r);
    }
}

#[test]
fn search_shrinks_the_greedy_array() {
    let p = problem(&[3; 6], &[], 2);
    let greedy = cover(&p, &work(0), &mut rng(12));
    let searched = cover(&p, &work(200_000), &mut rng(12));
    check(&p, &searched);
    assert!(searched.rows.len() <= greedy.rows.len());
    // CAN(2, 6, 3) = 12; the OA on GF(7) needs 49, so this is the search's doing.
    assert!(searched.rows.len() <= 13, "got {}", searched.rows.len());
}

#[test]
fn a_passed_deadline_still_gives_a_complete_array_at_once() {
    // IF [0] = 0 THEN [1] <> 0: some tuples infeasible, so the completion search runs too.
    let implies = Expr::Or(
        Box::new(Expr::Not(Box::new(Expr::In(0, vec![true, false, false])))),
        Box::new(Expr::In(1, vec![false, true, true])),
    );
    for (sizes, constraints) in [
        (vec![3; 12], vec![]),
        (vec![3, 3, 2, 2, 3, 2, 3, 3], vec![implies]),
    ] {
        let p = problem(&sizes, &constraints, 2);
        let start = Instant::now();
        // The effort alone would search for minutes.
        let options = CoverOptions {
            effort: Effort::Thorough { seconds: 600.0 },
            deadline: Some(start),
        };
        let r = cover(&p, &options, &mut rng(5));
        let took = start.elapsed();
        check(&p, &r);
        assert!(took < Duration::from_secs(10), "{sizes:?} took {took:?}");
    }
}

/// Sub-model tuples no valid row holds, and feasible ones no result row holds (naively).
#[allow(clippy::type_complexity)]
fn naive_sub(
    sizes: &[usize],
    axes: &[usize],
    s: usize,
    constraints: &[Expr],
    rows: &[Vec<u16>],
) -> (BTreeSet<Vec<(usize, u16)>>, BTreeSet<Vec<(usize, u16)>>) {
    let valid: Vec<Vec<u16>> = all_rows(sizes)
        .into_iter()
        .filter(|r| constraints.iter().all(|c| c.holds(r)))
        .collect();
    let (mut infeasible, mut missing) = (BTreeSet::new(), BTreeSet::new());
    for pick in subsets(axes.len(), s) {
        let mut cols: Vec<usize> = pick.iter().map(|&i| axes[i]).collect();
        cols.sort_unstable();
        let sub: Vec<usize> = cols.iter().map(|&c| sizes[c]).collect();
        for vals in all_rows(&sub) {
            let tuple: Vec<(usize, u16)> = cols.iter().copied().zip(vals).collect();
            let holds = |r: &Vec<u16>| tuple.iter().all(|&(c, v)| r[c] == v);
            if !valid.iter().any(holds) {
                infeasible.insert(tuple);
            } else if !rows.iter().any(holds) {
                missing.insert(tuple);
            }
        }
    }
    (infeasible, missing)
}

#[test]
fn sub_models_cover_their_tuples_at_their_strength() {
    let implies = Expr::Or(
        Box::new(Expr::Not(Box::new(Expr::In(0, vec![true, false, false])))),
        Box::new(Expr::In(4, vec![false, true])),
    );
    for constraints in [vec![], vec![implies]] {
        let sizes = vec![3, 2, 3, 2, 2, 3, 2];
        let p = problem(&sizes, &constraints, 2);
        let subs = vec![SubModel {
            axes: vec![4, 0, 2, 5],
            strength: 3,
        }];
        let binary = vec![SubModel {
            axes: vec![6, 1, 3, 4],
            strength: 3,
        }];
        // Triples over the binary axes cost about what pairs do; triples everywhere would
        // need 27 rows at least.
        let r = cover_mixed(&p, &binary, &SMALL, &mut rng(13));
        let (_, missing3) = naive_sub(&sizes, &[1, 3, 4, 6], 3, &constraints, &r.rows);
        assert!(missing3.is_empty(), "binary triples: {missing3:?}");
        assert!(naive(&sizes, 2, &constraints, &r.rows).1.is_empty());
        assert!(r.rows.len() < 20, "{} rows", r.rows.len());
        let r = cover_mixed(&p, &subs, &SMALL, &mut rng(13));
        // Pairs everywhere, and the exact infeasible pairs among those reported.
        let (inf2, missing2) = naive(&sizes, 2, &constraints, &r.rows);
        assert!(missing2.is_empty(), "pairs: {missing2:?}");
        let (inf3, missing3) = naive_sub(&sizes, &[0, 2, 4, 5], 3, &constraints, &r.rows);
        assert!(missing3.is_empty(), "triples: {missing3:?}");
        let reported: BTreeSet<_> = r.infeasible.iter().cloned().collect();
        let expected: BTreeSet<_> = inf2.union(&inf3).cloned().collect();
        assert_eq!(reported, expected);
        let pairs: usize = subsets(sizes.len(), 2)
            .iter()
            .map(|c| c.iter().map(|&a| sizes[a]).product::<usize>())
            .sum();
        let triples = 3 * 3 * 2 + 3 * 2 * 3 + 3 * 3 * 3 + 3 * 2 * 3;
        assert_eq!(r.tuples_total, pairs + triples - expected.len());
        for row in &r.rows {
            assert!(constraints.iter().all(|c| c.holds(row)), "invalid {row:?}");
        }
        // The sub-model alone needs 3 * 3 * 3 rows; pairs fit around them.
        assert!(r.rows.len() <= 40, "{} rows", r.rows.len());
        assert_eq!(r, cover_mixed(&p, &subs, &SMALL, &mut rng(13)));
    }
}

fn arb_problem() -> impl Strategy<Value = (Vec<usize>, Vec<Expr>, usize, u64)> {
    (
        prop::collection::vec(1usize..=4, 2..=5),
        1usize..=3,
        any::<u64>(),
    )
        .prop_flat_map(|(sizes, t, seed)| {
            let k = sizes.len();
            let sz = sizes.clone();
            let expr = (0..k, 0..k, any::<u16>(), any::<u16>(), any::<bool>()).prop_map(
                move |(a, b, ma, mb, implication)| {
                    let set = |axis: usize, mask: u16| -> Vec<bool> {
                        (0..sz[axis]).map(|v| mask & (1 << v) != 0).collect()
                    };
                    let ia = Expr::In(a, set(a, ma));
                    if implication {
                        // IF [a] IN .. THEN [b] IN ..
                        Expr::Or(
                            Box::new(Expr::Not(Box::new(ia))),
                            Box::new(Expr::In(b, set(b, mb))),
                        )
                    } else {
                        ia
                    }
                },
            );
            (
                Just(sizes),
                prop::collection::vec(expr, 0..=3),
                Just(t),
                Just(seed),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_problems_are_covered_validly_and_deterministically(
        (sizes, exprs, t, seed) in arb_problem()
    ) {
        let p = problem(&sizes, &exprs, t);
        let a = cover(&p, &SMALL, &mut rng(seed));
        check(&p, &a);
        let b = cover(&p, &SMALL, &mut rng(seed));
        prop_assert_eq!(a, b);
    }
}
