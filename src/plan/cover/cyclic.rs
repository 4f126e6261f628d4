//! Pairwise covering arrays invariant under a cyclic group acting on the symbols, found by
//! search over the group's base rows (the "starter vector" constructions of Meagher–Stevens
//! and Colbourn behind many best known sizes).
//!
//! With `v` symbols, the group Z_g (`g = v` or `g = v - 1`) adds `s` to every symbol below
//! `g`; with `g = v - 1` the last symbol is a fixed point ("∞"). An array is `m` base rows,
//! each developed into its `g` translates, plus the all-∞ row when there is a fixed point:
//! `g·m (+1)` rows. Two columns see every value pair iff (a) the base rows hold every
//! difference `b - a (mod g)` of two group symbols on them, and (b) with a fixed point, some
//! row has ∞ on the first and not the second and some row the other way round ((∞, ∞) is the
//! extra row's). (b) is settled up front: each column's ∞ cells form a distinct set of `w`
//! base rows, and equal-sized distinct sets never nest; those cells stay fixed. The search
//! then only has to place differences, a g-fold smaller problem than the plain array, which
//! is why it reaches sizes the plain search does not: a tabu repair (pick a missing
//! difference, write it into the row where that loses least) with an annealed acceptance of
//! worsening moves as in CASA, shrinking the number of base rows one at a time.

use std::time::Instant;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

const NOWHERE: u32 = u32::MAX;

/// A cyclic search state: base rows and how often each difference of each column pair is
/// held.
struct Cyclic {
    k: usize,
    g: usize,
    rows: Vec<Vec<u16>>,
    counts: Vec<u32>,
    uncovered: Vec<u32>,
    pos: Vec<u32>,
}

impl Cyclic {
    fn new(k: usize, g: usize) -> Cyclic {
        let n = k * (k - 1) / 2 * g;
        Cyclic {
            k,
            g,
            rows: Vec::new(),
            counts: vec![0; n],
            uncovered: (0..n as u32).collect(),
            pos: (0..n as u32).collect(),
        }
    }

    /// Index of the column pair `i < j`.
    #[inline]
    fn pair(i: usize, j: usize) -> usize {
        j * (j - 1) / 2 + i
    }

    /// The counter of values `a` on column `c` and `b` on column `d` (`c != d`): their
    /// difference on the pair; `None` when either is ∞.
    #[inline]
    fn orbit(&self, c: usize, a: u16, d: usize, b: u16) -> Option<usize> {
        let g = self.g;
        let (a, b) = (a as usize, b as usize);
        if a >= g || b >= g {
            return None;
        }
        Some(if c < d {
            Cyclic::pair(c, d) * g + (b + g - a) % g
        } else {
            Cyclic::pair(d, c) * g + (a + g - b) % g
        })
    }

    fn inc(&mut self, x: usize) {
        self.counts[x] += 1;
        if self.counts[x] == 1 {
            let p = self.pos[x] as usize;
            let last = *self.uncovered.last().expect("listed");
            self.uncovered[p] = last;
            self.pos[last as usize] = p as u32;
            self.uncovered.pop();
            self.pos[x] = NOWHERE;
        }
    }

    fn dec(&mut self, x: usize) {
        self.counts[x] -= 1;
        if self.counts[x] == 0 {
            self.pos[x] = self.uncovered.len() as u32;
            self.uncovered.push(x as u32);
        }
    }

    fn push_row(&mut self, r: Vec<u16>) {
        for j in 1..self.k {
            for i in 0..j {
                if let Some(x) = self.orbit(i, r[i], j, r[j]) {
                    self.inc(x);
                }
            }
        }
        self.rows.push(r);
    }

    /// Change in held differences if cell `(r, c)` took value `new`.
    #[inline]
    fn delta(&self, r: usize, c: usize, new: u16) -> i64 {
        let row = &self.rows[r];
        let old = row[c];
        let mut d = 0i64;
        for (e, &b) in row.iter().enumerate() {
            if e == c || b as usize >= self.g {
                continue;
            }
            if let Some(o) = self.orbit(c, old, e, b)
                && self.counts[o] == 1
            {
                d -= 1;
            }
            if let Some(n) = self.orbit(c, new, e, b)
                && self.counts[n] == 0
            {
                d += 1;
            }
        }
        d
    }

    fn set(&mut self, r: usize, c: usize, new: u16) {
        let old = self.rows[r][c];
        for e in 0..self.k {
            if e == c {
                continue;
            }
            let b = self.rows[r][e];
            if let Some(n) = self.orbit(c, new, e, b) {
                self.inc(n);
            }
            if let Some(o) = self.orbit(c, old, e, b) {
                self.dec(o);
            }
        }
        self.rows[r][c] = new;
    }

    /// Decodes a counter index into (i, j, difference).
    fn decode(&self, x: usize) -> (usize, usize, usize) {
        let (p, id) = (x / self.g, x % self.g);
        // Colex unrank of the pair: the largest j with j(j-1)/2 <= p.
        let mut j = ((((8 * p + 1) as f64).sqrt() + 1.0) / 2.0) as usize;
        while j * (j - 1) / 2 > p {
            j -= 1;
        }
        while (j + 1) * j / 2 <= p {
            j += 1;
        }
        (p - j * (j - 1) / 2, j, id)
    }
}

/// Every base row's `g` translates, then the all-∞ row when `fixed`.
fn develop(base: &[Vec<u16>], k: usize, g: usize, fixed: bool) -> Vec<Vec<u16>> {
    let mut out = Vec::with_capacity(base.len() * g + 1);
    for r in base {
        for s in 0..g {
            out.push(
                r.iter()
                    .map(|&x| {
                        if (x as usize) < g {
                            ((x as usize + s) % g) as u16
                        } else {
                            x
                        }
                    })
                    .collect(),
            );
        }
    }
    if fixed {
        out.push(vec![g as u16; k]);
    }
    out
}

fn binom(n: usize, r: usize) -> usize {
    (0..r).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Which base rows hold ∞ in each column: sets none of which contains another, with as few
/// ∞ cells as can be (each one hides its row from every difference on its column): single
/// rows while they last, then pairs of the remaining rows, else sets of one larger size, each
/// spread evenly over its rows. `None` when `m` rows have too few such sets.
fn infinity_sets(m: usize, k: usize, rng: &mut ChaCha8Rng) -> Option<Vec<Vec<usize>>> {
    if m >= k {
        let mut rows: Vec<usize> = (0..m).collect();
        rows.shuffle(rng);
        return Some(rows[..k].iter().map(|&r| vec![r]).collect());
    }
    // Singletons on rows 0..s, pairs of rows s..m: s + C(m - s, 2) >= k with s largest.
    if let Some(s) = (0..m).rev().find(|&s| s + binom(m - s, 2) >= k) {
        let mut out: Vec<Vec<usize>> = (0..s).map(|r| vec![r]).collect();
        out.extend(spread(s, m, 2, k - s, rng)?);
        return Some(out);
    }
    let w = (1..=m).find(|&w| binom(m, w) >= k)?;
    spread(0, m, w, k, rng)
}

/// `n` distinct `w`-subsets of rows `lo..hi`, chosen so that no row is in many more than
/// another.
fn spread(
    lo: usize,
    hi: usize,
    w: usize,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Vec<usize>>> {
    let m = hi - lo;
    if binom(m, w) < n || binom(m, w) > 50_000 || w == 0 {
        return (n == 0).then(Vec::new);
    }
    let mut all: Vec<Vec<usize>> = Vec::new();
    let mut idx: Vec<usize> = (0..w).collect();
    loop {
        all.push(idx.iter().map(|&i| lo + i).collect());
        let mut p = w;
        let mut advanced = false;
        while p > 0 {
            p -= 1;
            if idx[p] < m - w + p {
                idx[p] += 1;
                for q in p + 1..w {
                    idx[q] = idx[q - 1] + 1;
                }
                advanced = true;
                break;
            }
        }
        if !advanced {
            break;
        }
    }
    all.shuffle(rng);
    let mut load = vec![0usize; hi];
    let mut used = vec![false; all.len()];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (i, _) = all
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, set)| (i, set.iter().map(|&r| load[r]).sum::<usize>()))
            .min_by_key(|&(i, l)| (l, i))?;
        used[i] = true;
        for &r in &all[i] {
            load[r] += 1;
        }
        out.push(all[i].clone());
    }
    Some(out)
}

/// The smallest cyclic pairwise array over `k` columns of `v` symbols with fewer than `start`
/// rows found within `work` (counted in look-ups, as the other searches count tuple
/// look-ups) or by `deadline`, trying both groups (`Z_{v-1}` with a fixed point on three
/// quarters of the work, then `Z_v`). `None` when neither did better than `start`; `stop_at` rows or
/// fewer ends the search.
pub(crate) fn search(
    k: usize,
    v: usize,
    start: usize,
    stop_at: usize,
    work: u64,
    deadline: Option<Instant>,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Vec<u16>>> {
    if v < 3 || k < 3 || v > 64 {
        return None;
    }
    let mut best: Option<Vec<Vec<u16>>> = None;
    // The fixed point did better on every classic instance, so it gets most of the work.
    for (g, fixed, share) in [(v - 1, true, work / 4 * 3), (v, false, work / 4)] {
        let limit = best.as_ref().map_or(start, Vec::len);
        let rows = run(k, g, fixed, limit, stop_at, share, deadline, rng);
        if let Some(r) = rows
            && r.len() < limit
        {
            best = Some(r);
        }
    }
    best
}

/// One group: base rows from the most that give fewer than `start` rows down, one at a time,
/// each level repaired from the last level's rows; the smallest complete array found.
#[allow(clippy::too_many_arguments)]
fn run(
    k: usize,
    g: usize,
    fixed: bool,
    start: usize,
    stop_at: usize,
    work: u64,
    deadline: Option<Instant>,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Vec<u16>>> {
    let extra = usize::from(fixed);
    let size = |m: usize| m * g + extra;
    let mut m = start.saturating_sub(extra + 1) / g;
    let mut spent: u64 = 0;
    let mut best: Option<Vec<Vec<u16>>> = None;
    let mut prev: Vec<Vec<u16>> = Vec::new();
    let mut cands: Vec<(usize, usize, u16)> = Vec::new();
    let mut best_cands: Vec<(usize, usize, u16)> = Vec::new();
    while m >= 1 && size(m) >= stop_at && spent < work {
        // A level: fresh ∞ cells, the previous level's other cells where it has them.
        let infinity = if fixed {
            match infinity_sets(m, k, rng) {
                Some(s) => s,
                None => break,
            }
        } else {
            Vec::new()
        };
        let mut st = Cyclic::new(k, g);
        for r in 0..m {
            let row: Vec<u16> = (0..k)
                .map(|c| {
                    if fixed && infinity[c].contains(&r) {
                        g as u16
                    } else {
                        match prev.get(r).map(|p| p[c]) {
                            Some(x) if (x as usize) < g => x,
                            _ => rng.random_range(0..g) as u16,
                        }
                    }
                })
                .collect();
            st.push_row(row);
        }
        let mut tabu = vec![0u64; m * k];
        let mut moves: u64 = 0;
        // Measured on 10^20 (tenures 3, 6, 10; floors 0.05, 0.3 and always accepting):
        // tenure 6 with a floor of 0.3 reached the fewest rows.
        let tenure = 6;
        let mut phase_best = st.uncovered.len();
        // Annealing temperature for taking a worsening best move (CASA-like), cooling slowly.
        let mut temp = 1.0f64;
        while !st.uncovered.is_empty() && spent < work {
            moves += 1;
            if moves % 512 == 1 && deadline.is_some_and(|d| Instant::now() >= d) {
                spent = work;
                break;
            }
            if moves.is_multiple_of(1024) {
                temp = (temp * 0.95).max(0.3);
            }
            let x = st.uncovered[rng.random_range(0..st.uncovered.len())] as usize;
            let (i, j, d) = st.decode(x);
            // Single-cell changes of a row with both cells finite that give difference d.
            cands.clear();
            for r in 0..m {
                let (a, b) = (st.rows[r][i] as usize, st.rows[r][j] as usize);
                if a < g && b < g {
                    cands.push((r, j, ((a + d) % g) as u16));
                    cands.push((r, i, ((b + g - d) % g) as u16));
                }
            }
            let now = st.uncovered.len() as i64;
            let mut best_delta = i64::MIN;
            best_cands.clear();
            for &(r, c, val) in &cands {
                let dl = st.delta(r, c, val);
                let is_tabu = tabu[r * k + c] > moves;
                if is_tabu && ((now - dl) as usize) >= phase_best {
                    continue;
                }
                if dl > best_delta {
                    best_delta = dl;
                    best_cands.clear();
                }
                if dl == best_delta {
                    best_cands.push((r, c, val));
                }
            }
            spent += (cands.len() * k) as u64 + 1;
            if best_cands.is_empty() {
                continue;
            }
            if best_delta < 0 && rng.random::<f64>() >= (best_delta as f64 / temp).exp() {
                continue;
            }
            let (r, c, val) = best_cands[rng.random_range(0..best_cands.len())];
            st.set(r, c, val);
            tabu[r * k + c] = moves + tenure;
            phase_best = phase_best.min(st.uncovered.len());
        }
        if !st.uncovered.is_empty() {
            break;
        }
        // Drop the row that holds fewest differences alone; the next level starts from the rest.
        let unique = |r: &Vec<u16>| {
            let mut n = 0;
            for jj in 1..k {
                for ii in 0..jj {
                    if let Some(x) = st.orbit(ii, r[ii], jj, r[jj])
                        && st.counts[x] == 1
                    {
                        n += 1;
                    }
                }
            }
            n
        };
        spent += (m * k * k / 2) as u64;
        let victim = (0..m)
            .min_by_key(|&r| (unique(&st.rows[r]), r))
            .expect("a row");
        tracing::debug!(rows = size(m), group = g, "cyclic covering array found");
        best = Some(st.rows.clone());
        prev = st.rows;
        prev.remove(victim);
        m -= 1;
    }
    best.map(|b| develop(&b, k, g, fixed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;

    fn covers_all_pairs(k: usize, v: usize, rows: &[Vec<u16>]) -> bool {
        (0..k).all(|a| {
            (a + 1..k).all(|b| {
                let mut seen = vec![false; v * v];
                for r in rows {
                    seen[r[a] as usize * v + r[b] as usize] = true;
                }
                !seen.contains(&false)
            })
        })
    }

    #[test]
    fn pairs_decode_back() {
        let st = Cyclic::new(7, 4);
        for j in 1..7 {
            for i in 0..j {
                for d in 0..4 {
                    let x = Cyclic::pair(i, j) * 4 + d;
                    assert_eq!(st.decode(x), (i, j, d));
                }
            }
        }
    }

    #[test]
    fn infinity_sets_never_nest() {
        let mut rng = Seed::from_u64(1).rng("cyclic-test");
        for (m, k) in [(17, 20), (11, 100), (9, 10), (25, 20)] {
            let sets = infinity_sets(m, k, &mut rng).expect("sets");
            assert_eq!(sets.len(), k);
            for a in &sets {
                for b in &sets {
                    assert!(a == b || !a.iter().all(|r| b.contains(r)), "{a:?} in {b:?}");
                }
            }
        }
    }

    #[test]
    fn developed_arrays_cover_every_pair() {
        let mut rng = Seed::from_u64(3).rng("cyclic-test");
        for (k, v) in [(13, 3), (10, 5), (8, 4), (6, 6)] {
            let rows = search(k, v, v * v * 4, 0, 2_000_000, None, &mut rng).expect("an array");
            assert!(covers_all_pairs(k, v, &rows), "{v}^{k}");
            assert!(
                rows.iter()
                    .all(|r| r.len() == k && r.iter().all(|&x| (x as usize) < v))
            );
        }
    }
}
