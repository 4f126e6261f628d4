//! Covering arrays: rows that hold every feasible t-way value tuple under constraints.
//!
//! Placeholder engine (a plain greedy with a completion check) so the walk planner can be built
//! against the final API; the optimised engine replaces this file.

use rand_chacha::ChaCha8Rng;

use crate::model::{Expr, UNSET, expr::Truth};

/// What to cover.
pub struct CoverProblem<'a> {
    /// Number of values of each axis.
    pub sizes: Vec<usize>,
    /// Every row must satisfy all of these.
    pub constraints: &'a [Expr],
    /// t: cover every t-way tuple.
    pub strength: usize,
    /// Rows that are part of the answer already (kept first, in order).
    pub seed_rows: Vec<Vec<u16>>,
}

/// How hard to try.
#[derive(Debug, Clone, Default)]
pub struct CoverOptions {
    pub effort: Effort,
}

/// Time the engine may spend improving its first answer.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Effort {
    /// The default: a good answer fast.
    #[default]
    Quick,
    /// Spend about this many seconds getting close to the best known sizes.
    Thorough { seconds: f64 },
}

/// The covering array and what could not be covered.
pub struct CoverResult {
    /// The rows, seed rows first.
    pub rows: Vec<Vec<u16>>,
    /// Tuples that no valid row can hold, as (axis, value) cells.
    pub infeasible: Vec<Vec<(usize, u16)>>,
    /// Feasible tuples (all of them covered by `rows`).
    pub tuples_total: usize,
}

fn completable(row: &mut [u16], sizes: &[usize], constraints: &[Expr], from: usize) -> bool {
    if constraints
        .iter()
        .any(|c| c.eval_partial(row) == Truth::False)
    {
        return false;
    }
    let Some(axis) = (from..row.len()).find(|&a| row[a] == UNSET) else {
        return true;
    };
    for v in 0..sizes[axis] as u16 {
        row[axis] = v;
        if completable(row, sizes, constraints, axis + 1) {
            row[axis] = UNSET;
            return true;
        }
    }
    row[axis] = UNSET;
    false
}

fn combos(k: usize, t: usize) -> Vec<Vec<usize>> {
    fn rec(start: usize, k: usize, t: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == t {
            out.push(cur.clone());
            return;
        }
        for a in start..k {
            cur.push(a);
            rec(a + 1, k, t, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    rec(0, k, t, &mut Vec::new(), &mut out);
    out
}

/// Builds a covering array.
pub fn cover(
    problem: &CoverProblem,
    _options: &CoverOptions,
    _rng: &mut ChaCha8Rng,
) -> CoverResult {
    let sizes = &problem.sizes;
    let k = sizes.len();
    let t = problem.strength.min(k);
    let mut uncovered: Vec<Vec<(usize, u16)>> = Vec::new();
    for c in combos(k, t) {
        let n: usize = c.iter().map(|&a| sizes[a]).product();
        for mut i in 0..n {
            let mut cells = Vec::with_capacity(t);
            for &a in c.iter().rev() {
                cells.push((a, (i % sizes[a]) as u16));
                i /= sizes[a];
            }
            cells.reverse();
            uncovered.push(cells);
        }
    }
    let mut infeasible = Vec::new();
    uncovered.retain(|cells| {
        let mut row = vec![UNSET; k];
        for &(a, v) in cells {
            row[a] = v;
        }
        let ok = completable(&mut row, sizes, problem.constraints, 0);
        if !ok {
            infeasible.push(cells.clone());
        }
        ok
    });
    let tuples_total = uncovered.len();
    let holds = |row: &[u16], cells: &[(usize, u16)]| cells.iter().all(|&(a, v)| row[a] == v);
    let mut rows = problem.seed_rows.clone();
    uncovered.retain(|cells| !rows.iter().any(|r| holds(r, cells)));
    while let Some(first) = uncovered.first().cloned() {
        let mut row = vec![UNSET; k];
        for &(a, v) in &first {
            row[a] = v;
        }
        for a in 0..k {
            if row[a] != UNSET {
                continue;
            }
            let mut best: Option<(usize, u16)> = None;
            for v in 0..sizes[a] as u16 {
                row[a] = v;
                if !completable(&mut row, sizes, problem.constraints, 0) {
                    continue;
                }
                let gain = uncovered
                    .iter()
                    .filter(|cells| {
                        cells.iter().any(|&(x, _)| x == a)
                            && cells.iter().all(|&(x, y)| row[x] == y || row[x] == UNSET)
                    })
                    .count();
                if best.is_none_or(|(g, _)| gain > g) {
                    best = Some((gain, v));
                }
            }
            row[a] = best.map_or(0, |(_, v)| v);
        }
        uncovered.retain(|cells| !holds(&row, cells));
        rows.push(row);
    }
    CoverResult {
        rows,
        infeasible,
        tuples_total,
    }
}
