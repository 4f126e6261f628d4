//! Search for small covering arrays: a one-row-at-a-time greedy (AETG-like: seed each row with
//! an uncovered tuple, fill the other axes in random order with the value that covers most new
//! tuples, keep the best of several candidates) and a post-optimisation that deletes a row and
//! repairs the shorter array with a tabu search (Nurmela's move: pick an uncovered tuple, write
//! it into the row where that loses the fewest other tuples).

use std::time::Instant;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::rules::Rules;
use super::tuples::{Coverage, merge_sorted};
use crate::model::expr::UNSET;

/// How much work the search may do. Work is counted in tuple look-ups, so a budget gives the
/// same result on every machine; the deadline is a wall-clock stop for slow machines and for
/// callers with a time limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub greedy: u64,
    pub improve: u64,
    pub deadline: Option<Instant>,
}

impl Budget {
    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

pub(crate) struct Search<'r, 'a> {
    pub rules: &'r Rules<'a>,
    pub cov: Coverage,
    pub rows: Vec<Vec<u16>>,
    /// Leading rows the search must not change or remove (the seed rows).
    pub fixed: usize,
    pub work: u64,
}

/// Calls `f` with every `m`-subset of `list` (in order of `list`).
fn for_each_subset(list: &[usize], m: usize, f: &mut impl FnMut(&[usize])) {
    let mut idx = [0usize; 4];
    let mut picked = [0usize; 4];
    if m == 0 {
        f(&[]);
        return;
    }
    if list.len() < m {
        return;
    }
    for (j, slot) in idx.iter_mut().enumerate().take(m) {
        *slot = j;
    }
    loop {
        for j in 0..m {
            picked[j] = list[idx[j]];
        }
        f(&picked[..m]);
        let mut p = m;
        let mut advanced = false;
        while p > 0 {
            p -= 1;
            if idx[p] < list.len() - m + p {
                idx[p] += 1;
                for q in p + 1..m {
                    idx[q] = idx[q - 1] + 1;
                }
                advanced = true;
                break;
            }
        }
        if !advanced {
            return;
        }
    }
}

impl<'r, 'a> Search<'r, 'a> {
    fn k(&self) -> usize {
        self.cov.space.k()
    }

    /// Adds greedy rows until every needed tuple is covered.
    pub fn greedy(&mut self, budget: &Budget, rng: &mut ChaCha8Rng) {
        let space = &self.cov.space;
        let k = space.k();
        let t = space.t;
        let avg_size = space.sizes.iter().sum::<usize>() as f64 / k as f64;
        let combos = (space.total() as f64 / avg_size.powi(t as i32)).max(1.0);
        let per_candidate = combos * avg_size;
        let mut largest = space.sizes.clone();
        largest.sort_unstable_by(|a, b| b.cmp(a));
        let est_rows = largest[..t].iter().product::<usize>() as f64 * (1.0 + combos.ln());
        let candidates =
            ((budget.greedy as f64 / (per_candidate * est_rows)) as usize).clamp(1, 64);
        while !self.cov.uncovered.is_empty() {
            // Out of time: one candidate per row still completes the array, only larger.
            let candidates = if budget.expired() { 1 } else { candidates };
            let mut best: Option<(Vec<u16>, usize)> = None;
            for _ in 0..candidates {
                let (row, gain) = self.candidate(rng);
                if best.as_ref().is_none_or(|(_, g)| gain > *g) {
                    best = Some((row, gain));
                }
            }
            let (row, _) = best.expect("at least one candidate");
            self.cov.add_row(&row);
            self.rows.push(row);
        }
    }

    /// One greedy row, and how many uncovered tuples it covers.
    fn candidate(&mut self, rng: &mut ChaCha8Rng) -> (Vec<u16>, usize) {
        let k = self.k();
        let t = self.cov.space.t;
        let mut row = vec![UNSET; k];
        let (mut cols, mut vals) = ([0usize; 4], [0u16; 4]);
        let u = self.cov.uncovered[rng.random_range(0..self.cov.uncovered.len())] as usize;
        self.cov.space.decode(u, &mut cols, &mut vals);
        let mut fixed: Vec<usize> = Vec::with_capacity(k);
        for i in 0..t {
            row[cols[i]] = vals[i];
            fixed.push(cols[i]);
        }
        fixed.sort_unstable();
        let mut order: Vec<usize> = (0..k).filter(|c| row[*c] == UNSET).collect();
        order.shuffle(rng);
        let mut gains: Vec<usize> = Vec::new();
        let mut by_gain: Vec<(usize, u32, u16)> = Vec::new();
        let mut combo = [0usize; 4];
        for &c in &order {
            let size = self.cov.space.sizes[c];
            gains.clear();
            gains.resize(size, 0);
            let space = &self.cov.space;
            let counts = &self.cov.counts;
            let mut lookups = 0u64;
            for_each_subset(&fixed, t - 1, &mut |others: &[usize]| {
                merge_sorted(c, others.iter().copied(), &mut combo);
                let cols = &combo[..t];
                for (v, g) in gains.iter_mut().enumerate() {
                    row[c] = v as u16;
                    if counts[space.tuple_of(cols, &row)] == 0 {
                        *g += 1;
                    }
                }
                lookups += size as u64;
            });
            self.work += lookups;
            by_gain.clear();
            by_gain.extend(
                gains
                    .iter()
                    .enumerate()
                    .map(|(v, &g)| (g, rng.random::<u32>(), v as u16)),
            );
            by_gain.sort_unstable_by(|a, b| b.cmp(a));
            row[c] = UNSET;
            let mut chosen = None;
            for &(_, _, v) in &by_gain {
                row[c] = v;
                if !self.rules.is_constrained(c) {
                    chosen = Some(v);
                    break;
                }
                // A completion search visits at least every free axis once.
                self.work += self.rules.cost() * (k - fixed.len()) as u64;
                if self.rules.completable(&mut row) {
                    chosen = Some(v);
                    break;
                }
            }
            // The row was completable before c was set, so some value keeps it so.
            row[c] = chosen.unwrap_or(0);
            // Kept sorted: subsets of it merge with c into sorted combos.
            let at = fixed.partition_point(|&d| d < c);
            fixed.insert(at, c);
        }
        debug_assert!(self.rules.valid(&row));
        let mut gain = 0;
        self.cov.space.for_each_combo(|cols| {
            if self.cov.counts[self.cov.space.tuple_of(cols, &row)] == 0 {
                gain += 1;
            }
        });
        (row, gain)
    }

    /// Deletes rows and repairs the array while the budget lasts; leaves the smallest complete
    /// array found in `self.rows`. `lower` is a bound no array can beat.
    pub fn improve(&mut self, budget: &Budget, lower: usize, rng: &mut ChaCha8Rng) {
        debug_assert!(self.cov.uncovered.is_empty());
        let k = self.k();
        let t = self.cov.space.t;
        let stop_at = self.work.saturating_add(budget.improve);
        let mut best = self.rows.clone();
        let mut tabu: Vec<u64> = Vec::new();
        let mut moves: u64 = 0;
        // Short tabu tenure: measured 1, 4 and 12 on 10^20, 5^10 and 3^100; 4 did best.
        let tenure: u64 = 4;
        let mut scratch = vec![0u16; k];
        let mut changed: Vec<usize> = Vec::with_capacity(4);
        let mut best_choice: Vec<usize> = Vec::new();
        let mut phase_best = usize::MAX;
        loop {
            if self.cov.uncovered.is_empty() {
                best.clone_from(&self.rows);
                if self.rows.len() <= self.fixed.max(lower) {
                    break;
                }
                // Drop the row whose loss uncovers least.
                let victim = (self.fixed..self.rows.len())
                    .min_by_key(|&r| (self.cov.unique_in(&self.rows[r]), r))
                    .expect("a removable row");
                self.work += (self.rows.len() * self.cov.space.combos()) as u64;
                let row = self.rows.swap_remove(victim);
                self.cov.remove_row(&row);
                tabu.clear();
                tabu.resize(self.rows.len() * k, 0);
                phase_best = self.cov.uncovered.len();
                if self.fixed == self.rows.len() {
                    // Nothing left to change: the seed rows alone cannot repair it.
                    break;
                }
                continue;
            }
            if self.work >= stop_at {
                break;
            }
            moves += 1;
            // From the first move on: a deadline already passed costs no repair work.
            if moves % 256 == 1 && budget.expired() {
                break;
            }
            let (mut cols, mut vals) = ([0usize; 4], [0u16; 4]);
            let u = self.cov.uncovered[rng.random_range(0..self.cov.uncovered.len())] as usize;
            self.cov.space.decode(u, &mut cols, &mut vals);
            let mut best_delta = i64::MIN;
            best_choice.clear();
            let now_uncovered = self.cov.uncovered.len() as i64;
            for r in self.fixed..self.rows.len() {
                changed.clear();
                for i in 0..t {
                    if self.rows[r][cols[i]] != vals[i] {
                        changed.push(cols[i]);
                    }
                }
                scratch.copy_from_slice(&self.rows[r]);
                for i in 0..t {
                    scratch[cols[i]] = vals[i];
                }
                if !self.rules.is_empty() {
                    self.work += self.rules.cost();
                    if !self.rules.valid(&scratch) {
                        continue;
                    }
                }
                changed.sort_unstable();
                let space = &self.cov.space;
                let counts = &self.cov.counts;
                let old = &self.rows[r];
                let mut delta = 0i64;
                let mut lookups = 0u64;
                space.for_each_combo_touching(&changed, |combo| {
                    if counts[space.tuple_of(combo, old)] == 1 {
                        delta -= 1;
                    }
                    if counts[space.tuple_of(combo, &scratch)] == 0 {
                        delta += 1;
                    }
                    // Combos of three or four axes cost more to enumerate than to look up.
                    lookups += 2 * (t as u64 - 1);
                });
                self.work += lookups;
                let is_tabu = changed.iter().any(|&c| tabu[r * k + c] > moves);
                let aspires = ((now_uncovered - delta) as usize) < phase_best;
                if is_tabu && !aspires {
                    continue;
                }
                if delta > best_delta {
                    best_delta = delta;
                    best_choice.clear();
                }
                if delta == best_delta {
                    best_choice.push(r);
                }
            }
            let Some(&r) = best_choice.get(rng.random_range(0..best_choice.len().max(1))) else {
                continue;
            };
            changed.clear();
            for i in 0..t {
                if self.rows[r][cols[i]] != vals[i] {
                    changed.push(cols[i]);
                }
            }
            changed.sort_unstable();
            scratch.copy_from_slice(&self.rows[r]);
            for i in 0..t {
                scratch[cols[i]] = vals[i];
            }
            let mut olds: Vec<usize> = Vec::new();
            let mut news: Vec<usize> = Vec::new();
            {
                let space = &self.cov.space;
                let old = &self.rows[r];
                space.for_each_combo_touching(&changed, |combo| {
                    olds.push(space.tuple_of(combo, old));
                    news.push(space.tuple_of(combo, &scratch));
                });
            }
            for &x in &news {
                self.cov.inc(x);
            }
            for &x in &olds {
                self.cov.dec(x);
            }
            self.rows[r].copy_from_slice(&scratch);
            for &c in &changed {
                tabu[r * k + c] = moves + tenure;
            }
            phase_best = phase_best.min(self.cov.uncovered.len());
        }
        if !self.cov.uncovered.is_empty() || self.rows.len() != best.len() {
            self.rows = best;
        }
    }
}
