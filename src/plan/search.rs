//! Local search over closed walks. The state is one cycle of rows per shard, each starting at
//! the baseline (position 0, never edited). Counters of how often each goal (t-way tuple,
//! ordered value change) is hit are kept incrementally, so a move is priced by the goals it
//! touches rather than by recounting the walk.
//!
//! Phase one (shrink) drops the row that loses the fewest goals and anneals until every goal is
//! hit again, repeating while that works: fewer rows is fewer applies. Phase two (price) keeps
//! every goal hit and the apply count from growing, and anneals the summed predicted cost with
//! cell changes, relocations and reversals (Or-opt and 2-opt moves).

use std::collections::HashMap;
use std::time::Instant;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::space::Space;

/// Rows of one cycle; index 0 is the baseline.
pub(crate) type Cycle = Vec<Vec<u16>>;

pub(crate) struct Search<'a> {
    pub space: &'a Space,
    pub cycles: Vec<Cycle>,
    tuple_count: Vec<u32>,
    trans_count: Vec<Vec<u32>>,
    /// Goals hit by no step.
    pub uncovered: i64,
    stamp: Vec<u32>,
    generation: u32,
}

/// Prices an apply between two planned rows (cached by the caller).
pub(crate) trait Pricer {
    fn cost(&mut self, from: &[u16], to: &[u16]) -> f64;
}

impl<'a> Search<'a> {
    pub fn new(space: &'a Space, cycles: Vec<Cycle>) -> Search<'a> {
        let mut s = Search {
            space,
            cycles: Vec::new(),
            tuple_count: vec![0; space.n_tuples],
            trans_count: space.sizes.iter().map(|&n| vec![0; n * n]).collect(),
            uncovered: space.goal_count() as i64,
            stamp: vec![0; space.combos.len()],
            generation: 0,
        };
        for c in &cycles {
            for r in c {
                s.add_row(r, 1);
            }
        }
        s.cycles = cycles;
        for c in 0..s.cycles.len() {
            s.cycle_edges(c, 1);
        }
        s
    }

    fn bump_tuple(&mut self, idx: usize, sign: i32) {
        let req = self.space.required[idx];
        if sign > 0 {
            self.tuple_count[idx] += 1;
            if req && self.tuple_count[idx] == 1 {
                self.uncovered -= 1;
            }
        } else {
            self.tuple_count[idx] -= 1;
            if req && self.tuple_count[idx] == 0 {
                self.uncovered += 1;
            }
        }
    }

    fn add_row(&mut self, row: &[u16], sign: i32) {
        for c in 0..self.space.combos.len() {
            let idx = self.space.tuple_index(c, row);
            self.bump_tuple(idx, sign);
        }
    }

    /// Replaces the tuple contributions of `old` by those of `new`; `changed` lists the axes
    /// where they differ.
    fn swap_row_tuples(&mut self, old: &[u16], new: &[u16], changed: &[usize]) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let space = self.space;
        for &a in changed {
            for &c in &space.combos_of_axis[a] {
                if self.stamp[c] == self.generation {
                    continue;
                }
                self.stamp[c] = self.generation;
                let i_old = space.tuple_index(c, old);
                let i_new = space.tuple_index(c, new);
                self.bump_tuple(i_old, -1);
                self.bump_tuple(i_new, 1);
            }
        }
    }

    fn edge(&mut self, from: &[u16], to: &[u16], sign: i32, axes: Option<&[usize]>) {
        let k = self.space.sizes.len();
        let one = |s: &mut Self, a: usize| {
            if from[a] == to[a] {
                return;
            }
            let n = s.space.sizes[a];
            let i = from[a] as usize * n + to[a] as usize;
            let req = s.space.trans_required[a][i];
            if sign > 0 {
                s.trans_count[a][i] += 1;
                if req && s.trans_count[a][i] == 1 {
                    s.uncovered -= 1;
                }
            } else {
                s.trans_count[a][i] -= 1;
                if req && s.trans_count[a][i] == 0 {
                    s.uncovered += 1;
                }
            }
        };
        match axes {
            Some(list) => list.iter().for_each(|&a| one(self, a)),
            None => (0..k).for_each(|a| one(self, a)),
        }
    }

    fn cycle_edges(&mut self, c: usize, sign: i32) {
        let n = self.cycles[c].len();
        if n < 2 {
            return;
        }
        let cyc = std::mem::take(&mut self.cycles[c]);
        for j in 0..n {
            self.edge(&cyc[j], &cyc[(j + 1) % n], sign, None);
        }
        self.cycles[c] = cyc;
    }

    /// Sets row `p` (p ≥ 1) of cycle `c`, keeping the counters right.
    fn set_row(&mut self, c: usize, p: usize, new: Vec<u16>, changed: &[usize]) -> Vec<u16> {
        let n = self.cycles[c].len();
        let prev = self.cycles[c][p - 1].clone();
        let next = self.cycles[c][(p + 1) % n].clone();
        let old = std::mem::replace(&mut self.cycles[c][p], new.clone());
        self.edge(&prev, &old, -1, Some(changed));
        self.edge(&old, &next, -1, Some(changed));
        self.swap_row_tuples(&old, &new, changed);
        self.edge(&prev, &new, 1, Some(changed));
        self.edge(&new, &next, 1, Some(changed));
        old
    }

    /// Removes row `p` (p ≥ 1) of cycle `c`.
    pub fn remove_row(&mut self, c: usize, p: usize) -> Vec<u16> {
        self.cycle_edges(c, -1);
        let row = self.cycles[c].remove(p);
        self.add_row(&row, -1);
        self.cycle_edges(c, 1);
        row
    }

    fn insert_row(&mut self, c: usize, p: usize, row: Vec<u16>) {
        self.cycle_edges(c, -1);
        self.add_row(&row, 1);
        self.cycles[c].insert(p, row);
        self.cycle_edges(c, 1);
    }

    fn reverse(&mut self, c: usize, i: usize, j: usize) {
        self.cycle_edges(c, -1);
        self.cycles[c][i..=j].reverse();
        self.cycle_edges(c, 1);
    }

    /// Goal value changes no step makes, as (axis, from, to) planned indices.
    pub fn missing_transitions(&self) -> Vec<(usize, u16, u16)> {
        let mut out = Vec::new();
        for (a, &n) in self.space.sizes.iter().enumerate() {
            for i in 0..n * n {
                if self.space.trans_required[a][i] && self.trans_count[a][i] == 0 {
                    out.push((a, (i / n) as u16, (i % n) as u16));
                }
            }
        }
        out
    }

    /// Whether some step makes this change.
    pub fn has_transition(&self, axis: usize, from: u16, to: u16) -> bool {
        let n = self.space.sizes[axis];
        self.trans_count[axis][from as usize * n + to as usize] > 0
    }

    /// Appends rows at the end of cycle `c` (just before the return to the baseline).
    pub fn append(&mut self, c: usize, rows: Vec<Vec<u16>>) {
        self.cycle_edges(c, -1);
        for r in rows {
            self.add_row(&r, 1);
            self.cycles[c].push(r);
        }
        self.cycle_edges(c, 1);
    }

    /// Number of applies: edges between different rows.
    pub fn applies(&self) -> Vec<usize> {
        self.cycles
            .iter()
            .map(|cyc| {
                let n = cyc.len();
                if n < 2 {
                    return 0;
                }
                (0..n).filter(|&j| cyc[j] != cyc[(j + 1) % n]).count()
            })
            .collect()
    }

    /// Summed cost of every cycle.
    pub fn cost(&self, pricer: &mut dyn Pricer) -> f64 {
        self.cycles
            .iter()
            .map(|cyc| {
                let n = cyc.len();
                if n < 2 {
                    return 0.0;
                }
                (0..n)
                    .map(|j| pricer.cost(&cyc[j], &cyc[(j + 1) % n]))
                    .sum()
            })
            .sum()
    }

    /// Drops repeated adjacent rows (a no-op apply). Goals are unchanged by it.
    pub fn collapse(&mut self) {
        for c in 0..self.cycles.len() {
            loop {
                let n = self.cycles[c].len();
                if n < 2 {
                    break;
                }
                let cyc = &self.cycles[c];
                let Some(p) = (1..n)
                    .find(|&j| cyc[j] == cyc[j - 1])
                    .or((cyc[n - 1] == cyc[0]).then_some(n - 1))
                else {
                    break;
                };
                self.remove_row(c, p);
            }
        }
    }

    fn slot_count(&self) -> usize {
        self.cycles.iter().map(|c| c.len().saturating_sub(1)).sum()
    }

    /// A uniformly random editable slot (cycle, position ≥ 1); `None` when there is none.
    fn random_slot(&self, rng: &mut ChaCha8Rng) -> Option<(usize, usize)> {
        let n = self.slot_count();
        if n == 0 {
            return None;
        }
        let mut r = rng.random_range(0..n);
        for (c, cyc) in self.cycles.iter().enumerate() {
            let here = cyc.len().saturating_sub(1);
            if r < here {
                return Some((c, r + 1));
            }
            r -= here;
        }
        None
    }

    /// Proposes a new row for slot (c, p): one cell changed, then repaired until valid.
    fn propose_cell(
        &self,
        rng: &mut ChaCha8Rng,
        c: usize,
        p: usize,
    ) -> Option<(Vec<u16>, Vec<usize>)> {
        let space = self.space;
        let k = space.sizes.len();
        let free: Vec<usize> = (0..k).filter(|&a| space.sizes[a] > 1).collect();
        if free.is_empty() {
            return None;
        }
        let old = &self.cycles[c][p];
        let mut row = old.clone();
        let a = free[rng.random_range(0..free.len())];
        let mut v = rng.random_range(0..space.sizes[a] as u16 - 1);
        if v >= row[a] {
            v += 1;
        }
        row[a] = v;
        let mut changed = vec![a];
        for _ in 0..8 {
            if space.valid_after(&row, &changed) {
                return Some((row, changed));
            }
            // Re-pick a value on an axis of a broken constraint other than the moved one.
            let broken: Vec<usize> = changed
                .iter()
                .flat_map(|&x| space.by_axis[x].iter().copied())
                .filter(|&ci| !space.constraints[ci].holds(&row))
                .collect();
            let Some(&ci) = broken.get(rng.random_range(0..broken.len().max(1))) else {
                break;
            };
            let axes: Vec<usize> = space.constraints[ci]
                .axes()
                .into_iter()
                .filter(|&x| x != a && space.sizes[x] > 1)
                .collect();
            if axes.is_empty() {
                return None;
            }
            let x = axes[rng.random_range(0..axes.len())];
            row[x] = rng.random_range(0..space.sizes[x] as u16);
            if !changed.contains(&x) {
                changed.push(x);
            }
        }
        if space.valid(&row) {
            Some((row, changed))
        } else {
            None
        }
    }

    /// Anneals towards every goal hit; returns whether it got there within `iterations` (and
    /// before `deadline`), and the iterations spent.
    pub fn anneal_goals(
        &mut self,
        rng: &mut ChaCha8Rng,
        iterations: usize,
        deadline: Option<Instant>,
    ) -> (bool, usize) {
        if self.uncovered == 0 {
            return (true, 0);
        }
        if self.slot_count() == 0 {
            return (false, 0);
        }
        let (t0, t1) = (1.0f64, 0.05f64);
        for it in 0..iterations {
            if it % 64 == 0 && expired(deadline) {
                return (false, it);
            }
            let temp = t0 * (t1 / t0).powf(it as f64 / iterations as f64);
            let Some((c, p)) = self.random_slot(rng) else {
                return (false, it);
            };
            let before = self.uncovered;
            if rng.random_bool(0.8) {
                let Some((row, changed)) = self.propose_cell(rng, c, p) else {
                    continue;
                };
                let old = self.set_row(c, p, row, &changed);
                let delta = (self.uncovered - before) as f64;
                if delta > 0.0 && rng.random::<f64>() >= (-delta / temp).exp() {
                    self.set_row(c, p, old, &changed);
                }
            } else {
                // Relocate a row (possibly to another shard): changes only the changes walked.
                let c2 = rng.random_range(0..self.cycles.len());
                if c2 != c && self.cycles[c].len() <= 2 {
                    continue; // would leave shard `c` with nothing to do
                }
                let row = self.remove_row(c, p);
                let q = rng.random_range(1..=self.cycles[c2].len());
                self.insert_row(c2, q, row);
                let delta = (self.uncovered - before) as f64;
                if delta > 0.0 && rng.random::<f64>() >= (-delta / temp).exp() {
                    let row = self.remove_row(c2, q);
                    self.insert_row(c, p, row);
                }
            }
            if self.uncovered == 0 {
                return (true, it + 1);
            }
        }
        (false, iterations)
    }

    /// The slot whose removal loses the fewest goals (ties broken at random), taken from the
    /// longest cycle.
    pub fn weakest_slot(&mut self, rng: &mut ChaCha8Rng) -> Option<(usize, usize)> {
        let lens: Vec<usize> = self.cycles.iter().map(Vec::len).collect();
        let longest = *lens.iter().max()?;
        // With several shards, every shard keeps at least one config: a box with nothing to
        // do would waste its CI slot.
        let floor = if self.cycles.len() > 1 { 3 } else { 2 };
        if longest < floor {
            return None;
        }
        let mut best: Option<(i64, u64, usize, usize)> = None;
        let mut candidates: Vec<(usize, usize)> = lens
            .iter()
            .enumerate()
            .filter(|(_, len)| **len == longest)
            .flat_map(|(c, &len)| (1..len).map(move |p| (c, p)))
            .collect();
        // Each trial re-walks the cycle; a sample keeps long walks affordable.
        while candidates.len() > 48 {
            candidates.swap_remove(rng.random_range(0..candidates.len()));
        }
        {
            for (c, p) in candidates {
                let before = self.uncovered;
                let row = self.remove_row(c, p);
                let loss = self.uncovered - before;
                self.insert_row(c, p, row);
                let tie: u64 = rng.random();
                if best.is_none_or(|(l, t, _, _)| (loss, tie) < (l, t)) {
                    best = Some((loss, tie, c, p));
                }
            }
        }
        best.map(|(_, _, c, p)| (c, p))
    }

    /// Anneals the summed cost while every goal stays hit and no apply is added, for
    /// `iterations` or until `deadline`.
    pub fn anneal_cost(
        &mut self,
        rng: &mut ChaCha8Rng,
        pricer: &mut dyn Pricer,
        iterations: usize,
        deadline: Option<Instant>,
    ) {
        if self.uncovered != 0 || iterations == 0 {
            return;
        }
        let mut cost = self.cost(pricer);
        let mut applies: usize = self.applies().iter().sum();
        let scale = (cost / self.slot_count().max(1) as f64).max(1.0);
        let (t0, t1) = (0.3 * scale, 0.002 * scale);
        for it in 0..iterations {
            // Every accepted state hits every goal, so stopping anywhere is safe.
            if it % 64 == 0 && expired(deadline) {
                return;
            }
            let temp = t0 * (t1 / t0).powf(it as f64 / iterations as f64);
            let Some((c, p)) = self.random_slot(rng) else {
                return;
            };
            let kind = rng.random_range(0..3);
            let undo: Box<dyn Fn(&mut Self)> = match kind {
                0 => {
                    let Some((row, changed)) = self.propose_cell(rng, c, p) else {
                        continue;
                    };
                    let old = self.set_row(c, p, row, &changed);
                    Box::new(move |s: &mut Self| {
                        s.set_row(c, p, old.clone(), &changed);
                    })
                }
                1 => {
                    let n = self.cycles[c].len();
                    let q = rng.random_range(1..n);
                    if q == p {
                        continue;
                    }
                    let (i, j) = (p.min(q), p.max(q));
                    self.reverse(c, i, j);
                    Box::new(move |s: &mut Self| s.reverse(c, i, j))
                }
                _ => {
                    let row = self.remove_row(c, p);
                    let q = rng.random_range(1..=self.cycles[c].len());
                    self.insert_row(c, q, row);
                    Box::new(move |s: &mut Self| {
                        let row = s.remove_row(c, q);
                        s.insert_row(c, p, row);
                    })
                }
            };
            let new_applies: usize = self.applies().iter().sum();
            if self.uncovered != 0 || new_applies > applies {
                undo(self);
                continue;
            }
            let new_cost = self.cost(pricer);
            let delta = new_cost - cost;
            if new_applies < applies || delta <= 0.0 || rng.random::<f64>() < (-delta / temp).exp()
            {
                cost = new_cost;
                applies = new_applies;
            } else {
                undo(self);
            }
        }
    }
}

/// Whether a wall-clock deadline has passed.
pub(crate) fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Caches predicted costs of applies between planned rows; rows are interned so a lookup
/// allocates nothing.
pub(crate) struct CachedPricer<F: FnMut(&[u16], &[u16]) -> f64> {
    ids: HashMap<Vec<u16>, u32>,
    cache: HashMap<(u32, u32), f64>,
    price: F,
}

impl<F: FnMut(&[u16], &[u16]) -> f64> CachedPricer<F> {
    pub fn new(price: F) -> Self {
        CachedPricer {
            ids: HashMap::new(),
            cache: HashMap::new(),
            price,
        }
    }

    fn id(&mut self, row: &[u16]) -> u32 {
        if let Some(&id) = self.ids.get(row) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(row.to_vec(), id);
        id
    }
}

impl<F: FnMut(&[u16], &[u16]) -> f64> Pricer for CachedPricer<F> {
    fn cost(&mut self, from: &[u16], to: &[u16]) -> f64 {
        if from == to {
            return 0.0;
        }
        let key = (self.id(from), self.id(to));
        if let Some(c) = self.cache.get(&key) {
            return *c;
        }
        let c = (self.price)(from, to);
        self.cache.insert(key, c);
        c
    }
}
