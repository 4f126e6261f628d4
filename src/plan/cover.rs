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
mod tests;
