//! Mixed strength: a base strength over every axis plus a higher strength over named groups
//! of axes (PICT's sub-models), without paying for the higher strength everywhere.
//!
//! Each sub-model is first covered on its own axes (constraints that read only those axes
//! apply; the others are checked when the row is completed), and its rows, completed into
//! valid full rows, seed the base array: the base search then only adds rows for the lower
//! strength tuples those rows miss. Sub-model tuples still uncovered afterwards (a completion
//! failed on a constraint reaching outside the group) get greedy rows of their own, and those
//! no valid row can hold are reported as infeasible.

use rand_chacha::ChaCha8Rng;

use super::rules::Rules;
use super::tuples::TupleSpace;
use super::{CoverOptions, CoverProblem, CoverResult, cover};
use crate::model::Expr;
use crate::model::expr::UNSET;

/// A group of axes to cover at a higher strength than the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubModel {
    /// Axis indices (any order; repeats and out-of-range ones are ignored).
    pub axes: Vec<usize>,
    /// Strength over these axes, at most 4 and at most the number of axes.
    pub strength: usize,
}

/// The expression with axes renumbered by `map` (`None`: it reads an axis outside the map).
fn remap(e: &Expr, map: &[Option<usize>]) -> Option<Expr> {
    let m = |a: usize| map.get(a).copied().flatten();
    Some(match e {
        Expr::In(a, set) => Expr::In(m(*a)?, set.clone()),
        Expr::Rel(a, b, t) => Expr::Rel(m(*a)?, m(*b)?, t.clone()),
        Expr::Not(x) => Expr::Not(Box::new(remap(x, map)?)),
        Expr::And(l, r) => Expr::And(Box::new(remap(l, map)?), Box::new(remap(r, map)?)),
        Expr::Or(l, r) => Expr::Or(Box::new(remap(l, map)?), Box::new(remap(r, map)?)),
    })
}

/// Every `t`-subset of `axes` (sorted), in lexicographic order.
fn subsets(axes: &[usize], t: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    fn rec(axes: &[usize], t: usize, from: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == t {
            out.push(cur.clone());
            return;
        }
        for i in from..axes.len() {
            cur.push(axes[i]);
            rec(axes, t, i + 1, cur, out);
            cur.pop();
        }
    }
    rec(axes, t, 0, &mut cur, &mut out);
    out
}

/// The sub-models that ask for more than `base` strength, normalised: axes sorted, in range,
/// without repeats; strength clamped to `min(4, axes)`. Sub-models at or below the base
/// strength add nothing and are dropped.
pub fn normalise(subs: &[SubModel], k: usize, base: usize) -> Vec<SubModel> {
    subs.iter()
        .filter_map(|s| {
            let mut axes: Vec<usize> = s.axes.iter().copied().filter(|&a| a < k).collect();
            axes.sort_unstable();
            axes.dedup();
            let strength = s.strength.min(4).min(axes.len());
            (strength > base).then_some(SubModel { axes, strength })
        })
        .collect()
}

/// The combos (sorted axis sets) the sub-models add, without repeats, in lexicographic order.
pub fn combos(subs: &[SubModel]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = subs
        .iter()
        .flat_map(|s| subsets(&s.axes, s.strength))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Covers `problem` at its strength and every sub-model at its own. The result's
/// `infeasible` and `tuples_total` count the sub-model tuples too; `strength` is the base one.
pub fn cover_mixed(
    problem: &CoverProblem,
    subs: &[SubModel],
    options: &CoverOptions,
    rng: &mut ChaCha8Rng,
) -> CoverResult {
    let k = problem.sizes.len();
    let base_t = problem.strength.clamp(1, k.clamp(1, 4));
    let subs = normalise(subs, k, base_t);
    if subs.is_empty() || problem.sizes.iter().any(|&s| s == 0 || s >= UNSET as usize) {
        return cover(problem, options, rng);
    }
    let rules = Rules::new(problem.constraints, &problem.sizes);
    let sane_seed = |r: &Vec<u16>| {
        r.len() == k
            && r.iter()
                .zip(&problem.sizes)
                .all(|(&v, &s)| (v as usize) < s)
    };
    let mut seeds = problem.seed_rows.clone();
    // Pairs the seed rows hold so far, to fill the sub-model rows' other axes usefully.
    let pairs_space = TupleSpace::new(&problem.sizes, 2.min(k));
    let mut pairs = vec![false; pairs_space.total()];
    let mark = |pairs: &mut Vec<bool>, row: &[u16]| {
        pairs_space.for_each_combo(|cols| pairs[pairs_space.tuple_of(cols, row)] = true);
    };
    for r in seeds.iter().filter(|r| sane_seed(r)) {
        mark(&mut pairs, r);
    }
    for sub in &subs {
        let mut map = vec![None; k];
        for (i, &a) in sub.axes.iter().enumerate() {
            map[a] = Some(i);
        }
        let inner: Vec<Expr> = problem
            .constraints
            .iter()
            .filter_map(|e| remap(e, &map))
            .collect();
        let projected: Vec<Vec<u16>> = seeds
            .iter()
            .filter(|r| sane_seed(r))
            .map(|r| sub.axes.iter().map(|&a| r[a]).collect())
            .collect();
        let fixed = projected.len();
        let sub_problem = CoverProblem {
            sizes: sub.axes.iter().map(|&a| problem.sizes[a]).collect(),
            constraints: &inner,
            strength: sub.strength,
            seed_rows: projected,
        };
        let r = cover(&sub_problem, options, rng);
        for row in r.rows.iter().skip(fixed) {
            let mut full = vec![UNSET; k];
            for (i, &a) in sub.axes.iter().enumerate() {
                full[a] = row[i];
            }
            if !rules.completable(&mut full) {
                continue;
            }
            // The base search keeps these rows as they are: fill the other axes with the
            // values that hold the most pairs no earlier row holds.
            let free: Vec<usize> = (0..k).filter(|&a| full[a] == UNSET).collect();
            for a in free {
                let mut best: Option<(usize, u16)> = None;
                for v in 0..problem.sizes[a] as u16 {
                    full[a] = v;
                    if rules.is_constrained(a) && !rules.completable(&mut full) {
                        continue;
                    }
                    let gain = (0..k)
                        .filter(|&b| b != a && full[b] != UNSET)
                        .filter(|&b| {
                            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                            !pairs[pairs_space.tuple_of(&[lo, hi], &full)]
                        })
                        .count();
                    if best.is_none_or(|(g, _)| gain > g) {
                        best = Some((gain, v));
                    }
                }
                full[a] = best.map_or(0, |(_, v)| v);
            }
            let completed = rules.complete(&mut full);
            debug_assert!(completed && !full.contains(&UNSET));
            mark(&mut pairs, &full);
            seeds.push(full);
        }
    }
    let originals = problem.seed_rows.len();
    let mut result = cover(
        &CoverProblem {
            seed_rows: seeds,
            ..problem.clone()
        },
        options,
        rng,
    );
    result.rejected_seeds.retain(|&i| i < originals);

    // Sub-model tuples the rows above miss.
    let mut missing: Vec<Vec<(usize, u16)>> = Vec::new();
    for combo in combos(&subs) {
        let mut vals = vec![0u16; combo.len()];
        'values: loop {
            let held = result
                .rows
                .iter()
                .any(|r| combo.iter().zip(&vals).all(|(&a, &v)| r[a] == v));
            let cells: Vec<(usize, u16)> =
                combo.iter().copied().zip(vals.iter().copied()).collect();
            let mut partial = vec![UNSET; k];
            for &(a, v) in &cells {
                partial[a] = v;
            }
            if held {
                result.tuples_total += 1;
            } else if rules.completable(&mut partial) {
                result.tuples_total += 1;
                missing.push(cells);
            } else {
                result.infeasible.push(cells);
            }
            // Odometer over the combo's values.
            let mut i = combo.len();
            loop {
                if i == 0 {
                    break 'values;
                }
                i -= 1;
                vals[i] += 1;
                if (vals[i] as usize) < problem.sizes[combo[i]] {
                    break;
                }
                vals[i] = 0;
            }
        }
    }
    // Greedy rows for the rest: start from a missing tuple, add every later one that fits.
    while let Some(first) = missing.first().cloned() {
        let mut row = vec![UNSET; k];
        for &(a, v) in &first {
            row[a] = v;
        }
        for cells in missing.iter().skip(1) {
            if cells.iter().any(|&(a, v)| row[a] != UNSET && row[a] != v) {
                continue;
            }
            let mut trial = row.clone();
            for &(a, v) in cells {
                trial[a] = v;
            }
            if rules.completable(&mut trial) {
                row = trial;
            }
        }
        let completed = rules.complete(&mut row);
        debug_assert!(completed, "a completable row completes");
        for v in row.iter_mut().filter(|v| **v == UNSET) {
            *v = 0;
        }
        missing.retain(|cells| !cells.iter().all(|&(a, v)| row[a] == v));
        if missing.first() == Some(&first) {
            // Cannot happen (the first tuple is in the row); never loop on it.
            missing.remove(0);
        }
        result.rows.push(row);
    }
    result
}
