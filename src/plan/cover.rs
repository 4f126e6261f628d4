//! The covering-array engine: the smallest set of valid configs in which every feasible
//! combination of `t` axis values (a *t-tuple*) appears at least once.
//!
//! [`cover`] tries algebraic constructions first when the problem has no constraints
//! (orthogonal arrays from Reed–Solomon codes, the optimal binary pairwise arrays of
//! Kleitman–Spencer and Katona), builds a greedy array otherwise, searches uniform pairwise
//! problems for cyclic arrays (`cover/cyclic.rs`), then spends a budget of work deleting rows
//! and repairing the shorter array with a tabu search. Tuples that no valid row can hold are
//! found first by a completion search and reported, never waited on. [`cover_mixed`] adds
//! sub-models: groups of axes covered at a higher strength (`cover/mixed.rs`).
//!
//! The walk planner orders the rows into a walk; this module knows nothing of walks or costs.
//! For a [`crate::model::Model`], the problem is the axes' value counts, the model's
//! `planning_constraints` and the baseline config as the one seed row.
//!
//! Quick runs a fixed amount of work, so the same seed gives the same rows on any machine.
//! Measured sizes against PICT and the best known arrays are in `BENCHMARKS.md`.

mod construct;
mod cyclic;
mod mixed;
mod rules;
mod search;
mod tuples;

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;

use crate::model::Expr;
use crate::model::expr::UNSET;
pub use mixed::{
    SubModel, combos as sub_model_combos, cover_mixed, normalise as normalise_sub_models,
};
use rules::Rules;
use search::{Budget, Search};
use tuples::{Coverage, TupleSpace};

/// What to cover.
#[derive(Debug, Clone)]
pub struct CoverProblem<'a> {
    /// Number of values of each axis. An axis with no values (or 65535 and more, beyond the
    /// `u16` values and [`UNSET`]) admits no row: the result then holds the seed rows only.
    pub sizes: Vec<usize>,
    /// Every generated row satisfies all of them.
    pub constraints: &'a [Expr],
    /// t, from 1 to 4; values outside are clamped to `1..=min(4, sizes.len())` (see
    /// [`CoverResult::strength`] for the one used).
    pub strength: usize,
    /// Rows already in the array (the baseline config, ...); kept first, in order, and counted
    /// as covering their tuples whether or not they satisfy the constraints. A row of the wrong
    /// length or with an out-of-range value is left out and listed in
    /// [`CoverResult::rejected_seeds`].
    pub seed_rows: Vec<Vec<u16>>,
}

/// How hard to try.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoverOptions {
    /// How much work to spend shrinking the array; [`Effort::Quick`] by default.
    pub effort: Effort,
    /// A wall-clock time by which [`cover`] returns: past it, the greedy takes the first
    /// candidate row and the shrinking stops, keeping the smallest complete array so far. The
    /// result is complete however early it is (only the search for infeasible tuples, which
    /// completeness needs, runs to its end). `None`: the effort alone decides.
    pub deadline: Option<Instant>,
}

/// How much work to spend shrinking the array.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Effort {
    /// A fixed, small amount of work: well under a second on the classic benchmark instances.
    #[default]
    Quick,
    /// An anytime search: work worth about this many seconds on a current idle core, to get
    /// closer to the best known sizes, stopped at `seconds` (at least one) of wall time with
    /// the smallest complete array so far. When the work ends first the result depends only on
    /// the seed; on a slow or loaded machine the wall-clock stop comes first.
    Thorough { seconds: f64 },
    /// Exactly this much post-optimisation work, counted in tuple look-ups (`Quick` is 25
    /// million; 0 keeps the greedy array). For callers that need a cheap plan, and for tests.
    Work { lookups: u64 },
}

/// A covering array.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverResult {
    /// The rows, seed rows first.
    pub rows: Vec<Vec<u16>>,
    /// t-tuples no valid row can hold, as (axis, value) pairs in axis order.
    pub infeasible: Vec<Vec<(usize, u16)>>,
    /// Feasible t-tuples that had to be covered.
    pub tuples_total: usize,
    /// Indices of seed rows left out because they do not fit the axis sizes.
    pub rejected_seeds: Vec<usize>,
    /// The strength actually used: the asked one clamped to `1..=min(4, axes)`, and lowered
    /// further if the tuple space would exceed [`MAX_TUPLES`].
    pub strength: usize,
}

/// The most t-tuples [`cover`] will count (about 1 GB of bookkeeping).
pub const MAX_TUPLES: usize = 100_000_000;

/// Work counted in tuple look-ups; one core does very roughly this many per second.
const WORK_PER_SECOND: f64 = 60e6;
const QUICK: (u64, u64) = (8_000_000, 25_000_000);

/// Builds a covering array for `problem`. Deterministic for a given `rng` state.
pub fn cover(problem: &CoverProblem, options: &CoverOptions, rng: &mut ChaCha8Rng) -> CoverResult {
    let sizes = &problem.sizes;
    let k = sizes.len();
    let mut rows = Vec::new();
    let mut rejected_seeds = Vec::new();
    for (i, r) in problem.seed_rows.iter().enumerate() {
        if r.len() == k && r.iter().zip(sizes).all(|(&v, &s)| (v as usize) < s) {
            rows.push(r.clone());
        } else {
            rejected_seeds.push(i);
        }
    }
    let mut t = problem.strength.clamp(1, k.clamp(1, 4));
    // Guard memory: a tuple space this large (3-way over a thousand axes) cannot be counted;
    // cover at the highest strength that can be, and say so in `strength`.
    while t > 1 && !fits_in_memory(sizes, t) {
        t -= 1;
    }
    let mut result = CoverResult {
        rows,
        infeasible: Vec::new(),
        tuples_total: 0,
        rejected_seeds,
        strength: t,
    };
    // No axes, or an axis without values: no row can exist, nothing to cover.
    if k == 0 || sizes.iter().any(|&s| s == 0 || s >= UNSET as usize) {
        return result;
    }
    let rules = Rules::new(problem.constraints, sizes);
    let space = TupleSpace::new(sizes, t);
    let infeasible = infeasible_tuples(&space, &rules);
    result.tuples_total = space.total() - infeasible.len();
    result.infeasible = infeasible
        .iter()
        .map(|&u| {
            let (mut cols, mut vals) = ([0usize; 4], [0u16; 4]);
            space.decode(u, &mut cols, &mut vals);
            (0..t).map(|i| (cols[i], vals[i])).collect()
        })
        .collect();
    let mut cov = Coverage::new(space, &infeasible);
    for r in &result.rows {
        cov.add_row(r);
    }
    let fixed = result.rows.len();
    if cov.uncovered.is_empty() {
        return result;
    }

    let mut budget = match options.effort {
        Effort::Quick => Budget {
            greedy: QUICK.0,
            improve: QUICK.1,
            deadline: None,
        },
        Effort::Work { lookups } => Budget {
            greedy: QUICK.0.min(lookups),
            improve: lookups,
            deadline: None,
        },
        Effort::Thorough { seconds } => {
            let seconds = if seconds.is_finite() {
                seconds.max(0.0)
            } else {
                0.0
            };
            let work = (seconds * WORK_PER_SECOND) as u64;
            Budget {
                greedy: QUICK.0.max(work / 10),
                improve: QUICK.1.max(work),
                // Anytime: past `seconds` the smallest complete array so far is returned.
                deadline: Instant::now()
                    .checked_add(Duration::from_secs_f64(seconds.clamp(1.0, 1e6))),
            }
        }
    };
    budget.deadline = match (budget.deadline, options.deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let lower = lower_bound(&cov.space, &infeasible);

    // A construction, trimmed of rows the seed rows make redundant.
    let mut built: Option<Vec<Vec<u16>>> = None;
    let mut built_optimal = false;
    if rules.is_empty() {
        for (rows, optimal) in constructions(sizes, t) {
            let mut c = cov.clone();
            for r in &rows {
                c.add_row(r);
            }
            if !c.uncovered.is_empty() {
                debug_assert!(false, "a construction failed to cover");
                continue;
            }
            let rows = trim(&mut c, rows);
            if built.as_ref().is_none_or(|b| rows.len() < b.len()) {
                built_optimal = optimal;
                built = Some(rows);
            }
        }
    }
    if let Some(b) = &built
        && (built_optimal || b.len() + fixed <= lower.max(fixed))
    {
        result.rows.extend(b.iter().cloned());
        return result;
    }

    let mut search = Search {
        rules: &rules,
        cov,
        rows: result.rows.clone(),
        fixed,
        work: 0,
    };
    let skip_greedy = built.as_ref().is_some_and(|b| {
        // Greedy on huge binary instances is slow and never beats the optimal construction.
        b.len() <= 16 && space_is_large(sizes, t)
    });
    // Uniform pairwise problems get a cyclic array below: the greedy one only has to give it
    // a size to beat.
    let cyclic = t == 2 && rules.is_empty() && sizes.iter().all(|&s| s == sizes[0]);
    if !skip_greedy {
        let greedy_budget = Budget {
            greedy: if cyclic { QUICK.0 } else { budget.greedy },
            ..budget
        };
        search.greedy(&greedy_budget, rng);
    }
    // Uniform pairwise problems: a cyclic array found by search over base rows, on a share
    // of the budget, competes with the constructions and the greedy array.
    if cyclic {
        let mut start = built.as_ref().map_or(usize::MAX, Vec::len);
        if !skip_greedy {
            start = start.min(search.rows.len() - fixed);
        }
        // Most of the improvement budget: the plain repair below gets the rest.
        let share = budget.improve / 10 * 9;
        let found = cyclic::search(k, sizes[0], start, lower, share, budget.deadline, rng);
        budget.improve -= share;
        if let Some(rows) = found {
            let mut c = search.cov.clone();
            for r in &search.rows[fixed..] {
                c.remove_row(r);
            }
            for r in &rows {
                c.add_row(r);
            }
            debug_assert!(c.uncovered.is_empty(), "a cyclic array failed to cover");
            if c.uncovered.is_empty() {
                let rows = trim(&mut c, rows);
                if built.as_ref().is_none_or(|b| rows.len() < b.len()) {
                    built = Some(rows);
                }
            }
        }
    }
    if let Some(b) = built
        && (skip_greedy || b.len() + fixed < search.rows.len())
    {
        let mut cov = search.cov.clone();
        for r in &search.rows[fixed..] {
            cov.remove_row(r);
        }
        for r in &b {
            cov.add_row(r);
        }
        search.cov = cov;
        search.rows.truncate(fixed);
        search.rows.extend(b);
    }
    search.improve(&budget, lower, rng);
    result.rows = search.rows;
    debug_assert!(result.rows.iter().skip(fixed).all(|r| rules.valid(r)));
    result
}

/// Whether counting every t-tuple stays within [`MAX_TUPLES`].
fn fits_in_memory(sizes: &[usize], t: usize) -> bool {
    tuple_count(sizes, t) <= MAX_TUPLES as f64
}

/// The number of t-tuples over axes of these sizes (`t` at most 4), in f64 so that spaces
/// too large to count in memory are measured without overflow or allocation.
pub fn tuple_count(sizes: &[usize], t: usize) -> f64 {
    // Elementary symmetric sum of degree t of the sizes.
    let t = t.min(4);
    let mut e = [0f64; 5];
    e[0] = 1.0;
    for &s in sizes {
        for j in (1..=t).rev() {
            e[j] += e[j - 1] * s as f64;
        }
    }
    e[t]
}

fn space_is_large(sizes: &[usize], t: usize) -> bool {
    let k = sizes.len() as f64;
    k.powi(t as i32) > 100_000.0
}

/// A row holds one tuple of each combo, so no array is shorter than the number of feasible
/// tuples of its fullest combo (without constraints: the product of the `t` largest sizes).
fn lower_bound(space: &TupleSpace, infeasible: &[usize]) -> usize {
    (0..space.combos())
        .map(|c| {
            let (lo, hi) = space.combo_range(c);
            let banned =
                infeasible.partition_point(|&u| u < hi) - infeasible.partition_point(|&u| u < lo);
            hi - lo - banned
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod field_tests {
    use super::construct::Field;

    #[test]
    fn prime_powers_give_fields_and_others_do_not() {
        for q in [2, 3, 4, 5, 7, 8, 9, 16, 25, 27, 32] {
            assert!(Field::new(q).is_some(), "GF({q})");
        }
        for q in [0, 1, 6, 10, 12, 15, 18] {
            assert!(Field::new(q).is_none(), "{q}");
        }
    }
}

/// Every construction that applies to the unconstrained problem, each with whether it is
/// known to be optimal (then no search can beat it, seed rows aside).
fn constructions(sizes: &[usize], t: usize) -> Vec<(Vec<Vec<u16>>, bool)> {
    let mut out = Vec::new();
    if t == 1 {
        out.push((construct::strength_one(sizes), true));
        return out;
    }
    if t == 2
        && sizes.iter().all(|&s| s <= 2)
        && let Some(rows) = construct::binary_pairs(sizes.len())
    {
        // Optimal for uniform binary axes (Kleitman–Spencer); axes of one value fold to 0.
        let uniform = sizes.iter().all(|&s| s == 2);
        out.push((rows.into_iter().map(|r| fold(r, sizes)).collect(), uniform));
    }
    if let Some(rows) = construct::orthogonal(sizes, t) {
        // Optimality shows as meeting the lower bound, checked by the caller.
        out.push((rows, false));
    }
    out
}

fn fold(mut row: Vec<u16>, sizes: &[usize]) -> Vec<u16> {
    for (v, &s) in row.iter_mut().zip(sizes) {
        *v %= s as u16;
    }
    row
}

/// Drops rows (last first) that cover nothing on their own; `cov` already counts them.
fn trim(cov: &mut Coverage, mut rows: Vec<Vec<u16>>) -> Vec<Vec<u16>> {
    let mut i = rows.len();
    while i > 0 {
        i -= 1;
        if cov.unique_in(&rows[i]) == 0 {
            let r = rows.remove(i);
            cov.remove_row(&r);
        }
    }
    rows
}

/// Tuples no valid row can hold, found by a completion search from each tuple.
fn infeasible_tuples(space: &TupleSpace, rules: &Rules) -> Vec<usize> {
    let mut out = Vec::new();
    if rules.is_empty() {
        return out;
    }
    let k = space.k();
    let t = space.t;
    let mut partial = vec![UNSET; k];
    let any_row = rules.completable(&mut partial);
    let mut vals = vec![0u16; t];
    space.for_each_combo(|cols| {
        let free = cols.iter().all(|&c| !rules.is_constrained(c));
        // Odometer over the combo's value tuples.
        vals.iter_mut().for_each(|v| *v = 0);
        loop {
            let ok = if free {
                any_row
            } else {
                for (&c, &v) in cols.iter().zip(&vals) {
                    partial[c] = v;
                }
                let ok = rules.completable(&mut partial);
                for &c in cols {
                    partial[c] = UNSET;
                }
                ok
            };
            if !ok {
                out.push(space.tuple_of_values(cols, &vals));
            }
            let mut i = t;
            loop {
                if i == 0 {
                    return;
                }
                i -= 1;
                vals[i] += 1;
                if (vals[i] as usize) < space.sizes[cols[i]] {
                    break;
                }
                vals[i] = 0;
            }
        }
    });
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
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
        let r = cover(
            &p,
            &CoverOptions {
                effort: Effort::Work { lookups: 0 },
                deadline: None,
            },
            &mut rng(3),
        );
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
        let greedy = cover(
            &p,
            &CoverOptions {
                effort: Effort::Work { lookups: 0 },
                deadline: None,
            },
            &mut rng(12),
        );
        let searched = cover(
            &p,
            &CoverOptions {
                effort: Effort::Work { lookups: 200_000 },
                deadline: None,
            },
            &mut rng(12),
        );
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
}
