//! Pairwise covering arrays invariant under a cyclic group acting on the symbols, found by
//! search over the group's base rows (the "starter vector" constructions of Meagher–Stevens
//! and Colbourn behind many best known sizes).
//!
//! With `v` symbols, the group Z_g (`g = v` or `g = v - 1`) adds `s` to every symbol below
//! `g`; with `g = v - 1` the last symbol is a fixed point ("∞"). An array is `m` base rows,
//! each developed into its `g` translates, plus the all-∞ row when there is a fixed point:
//! `g·m (+1)` rows. Two columns see every value pair iff the base rows cover every *orbit* of
//! pairs: each difference `b - a (mod g)` of two group symbols, (group symbol, ∞) and (∞, group
//! symbol); (∞, ∞) is the extra row's. That shrinks the search g-fold, so the repair search
//! below (the same delete-a-row-and-repair scheme as `search.rs`, with tabu moves and an
//! annealed acceptance of worsening moves as in CASA) reaches sizes the plain search does not.

use std::time::Instant;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

const NOWHERE: u32 = u32::MAX;

/// A cyclic search state: base rows and how often each orbit of each column pair is covered.
struct Cyclic {
    k: usize,
    g: usize,
    /// Whether symbol `g` is a fixed point (then `v = g + 1`).
    fixed: bool,
    /// Orbits per column pair.
    per: usize,
    rows: Vec<Vec<u16>>,
    counts: Vec<u32>,
    uncovered: Vec<u32>,
    pos: Vec<u32>,
}

impl Cyclic {
    fn new(k: usize, g: usize, fixed: bool) -> Cyclic {
        let per = if fixed { g + 2 } else { g };
        let n = k * (k - 1) / 2 * per;
        Cyclic {
            k,
            g,
            fixed,
            per,
            rows: Vec::new(),
            counts: vec![0; n],
            uncovered: (0..n as u32).collect(),
            pos: (0..n as u32).collect(),
        }
    }

    fn symbols(&self) -> usize {
        self.g + usize::from(self.fixed)
    }

    /// Index of the column pair `i < j`.
    #[inline]
    fn pair(&self, i: usize, j: usize) -> usize {
        j * (j - 1) / 2 + i
    }

    /// The orbit (as a counter index) of values `a` on column `i` and `b` on `j`, `i < j`;
    /// `None` for (∞, ∞), which the all-∞ row covers.
    #[inline]
    fn orbit(&self, i: usize, j: usize, a: u16, b: u16) -> Option<usize> {
        let g = self.g;
        let (a, b) = (a as usize, b as usize);
        let id = match (a < g, b < g) {
            (true, true) => (b + g - a) % g,
            (true, false) => g,
            (false, true) => g + 1,
            (false, false) => return None,
        };
        Some(self.pair(i, j) * self.per + id)
    }

    #[inline]
    fn orbit_of(&self, c: usize, a: u16, d: usize, b: u16) -> Option<usize> {
        if c < d {
            self.orbit(c, d, a, b)
        } else {
            self.orbit(d, c, b, a)
        }
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

    fn count_row(&mut self, r: &[u16], add: bool) {
        for j in 1..self.k {
            for i in 0..j {
                if let Some(x) = self.orbit(i, j, r[i], r[j]) {
                    if add { self.inc(x) } else { self.dec(x) }
                }
            }
        }
    }

    /// Orbits only this base row covers.
    fn unique_in(&self, r: &[u16]) -> usize {
        let mut n = 0;
        for j in 1..self.k {
            for i in 0..j {
                if let Some(x) = self.orbit(i, j, r[i], r[j])
                    && self.counts[x] == 1
                {
                    n += 1;
                }
            }
        }
        n
    }

    /// Change in covered orbits if cell `(r, c)` took value `new`.
    #[inline]
    fn delta(&self, r: usize, c: usize, new: u16) -> i64 {
        let row = &self.rows[r];
        let old = row[c];
        let mut d = 0i64;
        for (e, &b) in row.iter().enumerate() {
            if e == c {
                continue;
            }
            let o = self.orbit_of(c, old, e, b);
            let n = self.orbit_of(c, new, e, b);
            if o == n {
                continue;
            }
            if let Some(o) = o
                && self.counts[o] == 1
            {
                d -= 1;
            }
            if let Some(n) = n
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
            let o = self.orbit_of(c, old, e, b);
            let n = self.orbit_of(c, new, e, b);
            if o == n {
                continue;
            }
            if let Some(n) = n {
                self.inc(n);
            }
            if let Some(o) = o {
                self.dec(o);
            }
        }
        self.rows[r][c] = new;
    }

    /// The full array: every base row's translates, then the all-∞ row.
    fn develop(&self, base: &[Vec<u16>]) -> Vec<Vec<u16>> {
        let g = self.g;
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
        if self.fixed {
            out.push(vec![g as u16; self.k]);
        }
        out
    }

    /// Decodes an orbit counter index into (i, j, id).
    fn decode(&self, x: usize) -> (usize, usize, usize) {
        let (p, id) = (x / self.per, x % self.per);
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

/// The smallest cyclic pairwise array over `k` columns of `v` symbols found within `work`
/// (counted in orbit look-ups, as the other searches count tuple look-ups) or by `deadline`,
/// trying both groups (`Z_v`, and `Z_{v-1}` with a fixed point) on half the work each.
/// `None` when neither completed an array. `stop_at` rows or fewer ends the search.
pub(crate) fn search(
    k: usize,
    v: usize,
    stop_at: usize,
    work: u64,
    deadline: Option<Instant>,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Vec<u16>>> {
    if v < 3 || k < 3 || v > 64 {
        return None;
    }
    let mut best: Option<Vec<Vec<u16>>> = None;
    for (g, fixed) in [(v - 1, true), (v, false)] {
        let rows = run(k, g, fixed, stop_at, work / 2, deadline, rng);
        if let Some(r) = rows
            && best.as_ref().is_none_or(|b| r.len() < b.len())
        {
            best = Some(r);
        }
    }
    best
}

fn run(
    k: usize,
    g: usize,
    fixed: bool,
    stop_at: usize,
    work: u64,
    deadline: Option<Instant>,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Vec<u16>>> {
    let mut st = Cyclic::new(k, g, fixed);
    let syms = st.symbols() as u16;
    let extra = usize::from(fixed);
    // Enough random base rows to cover every orbit with high probability, then shrink.
    let m0 = (st.per * 3).max(4);
    for _ in 0..m0 {
        let r: Vec<u16> = (0..k).map(|_| rng.random_range(0..syms)).collect();
        st.count_row(&r, true);
        st.rows.push(r);
    }
    let mut spent: u64 = 0;
    let mut best: Option<Vec<Vec<u16>>> = None;
    let mut tabu: Vec<u64> = vec![0; m0 * k];
    let mut moves: u64 = 0;
    let tenure = 3;
    let mut phase_best = usize::MAX;
    let mut cands: Vec<(usize, usize, u16)> = Vec::new();
    let mut best_cands: Vec<(usize, usize, u16)> = Vec::new();
    // Annealing temperature for accepting a worsening best move (CASA-like); cools per phase.
    let mut temp = 0.5f64;
    loop {
        if st.uncovered.is_empty() {
            best = Some(st.rows.clone());
            if st.rows.len() * g + extra <= stop_at || st.rows.len() <= 1 {
                break;
            }
            let victim = (0..st.rows.len())
                .min_by_key(|&r| (st.unique_in(&st.rows[r]), r))
                .expect("a row");
            spent += (st.rows.len() * k * k / 2) as u64;
            let r = st.rows.swap_remove(victim);
            st.count_row(&r, false);
            tabu.clear();
            tabu.resize(st.rows.len() * k, 0);
            phase_best = st.uncovered.len();
            temp = 0.5;
            continue;
        }
        if spent >= work {
            break;
        }
        moves += 1;
        if moves % 512 == 1 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if moves % 2048 == 0 {
            temp *= 0.9;
        }
        let x = st.uncovered[rng.random_range(0..st.uncovered.len())] as usize;
        let (i, j, id) = st.decode(x);
        // Single-cell changes of some row that cover orbit `id` of (i, j).
        cands.clear();
        for r in 0..st.rows.len() {
            let (a, b) = (st.rows[r][i] as usize, st.rows[r][j] as usize);
            if id < g {
                if a < g {
                    cands.push((r, j, ((a + id) % g) as u16));
                }
                if b < g {
                    cands.push((r, i, ((b + g - id) % g) as u16));
                }
            } else if id == g {
                // (group symbol, ∞)
                if a < g {
                    cands.push((r, j, g as u16));
                }
                if b >= g {
                    cands.push((r, i, rng.random_range(0..g) as u16));
                }
            } else {
                if b < g {
                    cands.push((r, i, g as u16));
                }
                if a >= g {
                    cands.push((r, j, rng.random_range(0..g) as u16));
                }
            }
        }
        let now = st.uncovered.len() as i64;
        let mut best_delta = i64::MIN;
        best_cands.clear();
        for &(r, c, val) in &cands {
            let d = st.delta(r, c, val);
            let is_tabu = tabu[r * k + c] > moves;
            if is_tabu && ((now - d) as usize) >= phase_best {
                continue;
            }
            if d > best_delta {
                best_delta = d;
                best_cands.clear();
            }
            if d == best_delta {
                best_cands.push((r, c, val));
            }
        }
        spent += (cands.len() * k) as u64 + 1;
        if best_cands.is_empty() {
            continue;
        }
        let (r, c, val) = best_cands[rng.random_range(0..best_cands.len())];
        if best_delta < 0 && rng.random::<f64>() >= (best_delta as f64 / temp).exp() {
            // Worsening move refused: a random cell of a random row instead keeps moving.
            let r = rng.random_range(0..st.rows.len());
            let c = rng.random_range(0..k);
            let val = rng.random_range(0..syms);
            if st.delta(r, c, val) >= 0 {
                st.set(r, c, val);
            }
            continue;
        }
        st.set(r, c, val);
        tabu[r * k + c] = moves + tenure;
        phase_best = phase_best.min(st.uncovered.len());
    }
    best.map(|b| st.develop(&b))
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
    fn orbit_pairs_decode_back() {
        let st = Cyclic::new(7, 4, true);
        for j in 1..7 {
            for i in 0..j {
                for id in 0..st.per {
                    let x = st.pair(i, j) * st.per + id;
                    assert_eq!(st.decode(x), (i, j, id));
                }
            }
        }
    }

    #[test]
    fn developed_arrays_cover_every_pair() {
        let mut rng = Seed::from_u64(3).rng("cyclic-test");
        for (k, v) in [(13, 3), (10, 5), (8, 4), (6, 6)] {
            let rows = search(k, v, 0, 2_000_000, None, &mut rng).expect("an array");
            assert!(covers_all_pairs(k, v, &rows), "{v}^{k}");
            assert!(
                rows.iter()
                    .all(|r| r.len() == k && r.iter().all(|&x| (x as usize) < v))
            );
        }
    }
}
