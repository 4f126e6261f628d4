//! The space of t-tuples of a covering problem and the running count of how often each is
//! covered by the rows of an array.
//!
//! A tuple is a sorted set of `t` columns (a *combo*) plus one value per column. Combos are
//! numbered by their colexicographic rank, so the number of a combo is a sum of binomials and
//! needs no table of combos; the tuples of one combo are numbered in mixed radix after the
//! combo's base offset.

/// Numbering of every t-tuple of a problem.
#[derive(Debug, Clone)]
pub(crate) struct TupleSpace {
    pub sizes: Vec<usize>,
    pub t: usize,
    /// `binom[n][r]` for `n <= k`, `r <= t`.
    binom: Vec<[usize; 5]>,
    /// Offset of each combo's first tuple, by colex rank, plus the total at the end.
    base: Vec<usize>,
}

impl TupleSpace {
    /// The tuple space of `sizes` at strength `t` (`1 <= t <= min(4, sizes.len())`).
    pub fn new(sizes: &[usize], t: usize) -> TupleSpace {
        let k = sizes.len();
        debug_assert!((1..=4).contains(&t) && t <= k);
        let mut binom = vec![[0usize; 5]; k + 1];
        for n in 0..=k {
            binom[n][0] = 1;
            for r in 1..=4 {
                binom[n][r] = if n == 0 {
                    0
                } else {
                    binom[n - 1][r - 1] + binom[n - 1][r]
                };
            }
        }
        let combos = binom[k][t];
        let mut base = vec![0usize; combos + 1];
        let mut space = TupleSpace {
            sizes: sizes.to_vec(),
            t,
            binom,
            base: Vec::new(),
        };
        // Colex order: combos sorted by their largest column first, so walking combos in that
        // order fills `base` in rank order.
        let mut rank = 0;
        space.for_each_combo(|cols| {
            debug_assert_eq!(space.rank(cols), rank);
            base[rank + 1] = cols.iter().map(|&c| sizes[c]).product();
            rank += 1;
        });
        for i in 0..combos {
            base[i + 1] += base[i];
        }
        space.base = base;
        space
    }

    /// Number of axes.
    pub fn k(&self) -> usize {
        self.sizes.len()
    }

    /// Number of tuples.
    pub fn total(&self) -> usize {
        *self.base.last().unwrap_or(&0)
    }

    /// Number of combos (sets of `t` axes).
    pub fn combos(&self) -> usize {
        self.base.len() - 1
    }

    /// The tuples of the combo of rank `c`, as a half-open range.
    pub fn combo_range(&self, c: usize) -> (usize, usize) {
        (self.base[c], self.base[c + 1])
    }

    /// Colex rank of a sorted combo.
    #[inline]
    pub fn rank(&self, cols: &[usize]) -> usize {
        cols.iter()
            .enumerate()
            .map(|(i, &c)| self.binom[c][i + 1])
            .sum()
    }

    /// The tuple holding the values of `row` on the sorted combo `cols`.
    #[inline]
    pub fn tuple_of(&self, cols: &[usize], row: &[u16]) -> usize {
        let mut off = 0;
        for &c in cols {
            off = off * self.sizes[c] + row[c] as usize;
        }
        self.base[self.rank(cols)] + off
    }

    /// The tuple with `values` on the sorted combo `cols`.
    pub fn tuple_of_values(&self, cols: &[usize], values: &[u16]) -> usize {
        let mut off = 0;
        for (&c, &v) in cols.iter().zip(values) {
            off = off * self.sizes[c] + v as usize;
        }
        self.base[self.rank(cols)] + off
    }

    /// Columns and values of a tuple, written into the first `t` slots of the arrays.
    pub fn decode(&self, tuple: usize, cols: &mut [usize; 4], vals: &mut [u16; 4]) {
        let rank = self.base.partition_point(|&b| b <= tuple) - 1;
        let mut off = tuple - self.base[rank];
        // Unrank colex: the largest column c with C(c, i) <= rem, from i = t down to 1.
        let mut rem = rank;
        let mut hi = self.k();
        for i in (1..=self.t).rev() {
            let mut c = i - 1;
            // Binary search the largest c < hi with binom[c][i] <= rem.
            let (mut lo, mut up) = (i - 1, hi);
            while lo + 1 < up {
                let mid = (lo + up) / 2;
                if self.binom[mid][i] <= rem {
                    lo = mid;
                } else {
                    up = mid;
                }
            }
            if self.binom[lo][i] <= rem {
                c = lo;
            }
            cols[i - 1] = c;
            rem -= self.binom[c][i];
            hi = c;
        }
        for i in (0..self.t).rev() {
            let s = self.sizes[cols[i]];
            vals[i] = (off % s) as u16;
            off /= s;
        }
    }

    /// Calls `f` with every combo, in colex order.
    pub fn for_each_combo(&self, mut f: impl FnMut(&[usize])) {
        let (k, t) = (self.k(), self.t);
        let mut cols = [0usize; 4];
        // Colex order = lexicographic order of the reversed combo.
        fn rec(
            level: usize,
            below: usize,
            t: usize,
            cols: &mut [usize; 4],
            f: &mut dyn FnMut(&[usize]),
        ) {
            // `level` counts down: fill cols[level-1] with a value < below.
            if level == 0 {
                f(&cols[..t]);
                return;
            }
            for c in (level - 1)..below {
                cols[level - 1] = c;
                rec(level - 1, c, t, cols, f);
            }
        }
        // Outer loop over the largest column ascending, inner levels ascending too, gives colex.
        for top in (t - 1)..k {
            cols[t - 1] = top;
            rec(t - 1, top, t, &mut cols, &mut f);
        }
    }

    /// Calls `f` with every combo that holds at least one column of `changed` (sorted, no
    /// repeats), each exactly once (it is reported under its smallest changed column).
    #[inline]
    pub fn for_each_combo_touching(&self, changed: &[usize], mut f: impl FnMut(&[usize])) {
        let (k, t) = (self.k(), self.t);
        if t == 1 {
            for &c in changed {
                f(&[c]);
            }
            return;
        }
        if t == 2 {
            for (i, &c) in changed.iter().enumerate() {
                let earlier = &changed[..i];
                for d in 0..k {
                    if d == c || earlier.contains(&d) {
                        continue;
                    }
                    if d < c { f(&[d, c]) } else { f(&[c, d]) }
                }
            }
            return;
        }
        let mut others: Vec<usize> = Vec::with_capacity(k);
        let mut combo = [0usize; 4];
        for (i, &c) in changed.iter().enumerate() {
            others.clear();
            others.extend((0..k).filter(|d| *d != c && !changed[..i].contains(d)));
            let m = t - 1;
            let mut idx = [0usize; 3];
            for (j, slot) in idx.iter_mut().enumerate().take(m) {
                *slot = j;
            }
            if others.len() < m {
                continue;
            }
            loop {
                merge_sorted(c, idx[..m].iter().map(|&j| others[j]), &mut combo);
                f(&combo[..t]);
                // Next m-subset of others.
                let mut p = m;
                loop {
                    if p == 0 {
                        break;
                    }
                    p -= 1;
                    if idx[p] < others.len() - m + p {
                        idx[p] += 1;
                        for q in p + 1..m {
                            idx[q] = idx[q - 1] + 1;
                        }
                        p = usize::MAX;
                        break;
                    }
                }
                if p != usize::MAX {
                    break;
                }
            }
        }
    }
}

/// Writes the sorted column set `others` with `c` merged in, still sorted, into `combo`.
#[inline]
pub(crate) fn merge_sorted(c: usize, others: impl Iterator<Item = usize>, combo: &mut [usize; 4]) {
    let mut n = 0;
    let mut placed = false;
    for d in others {
        if !placed && c < d {
            combo[n] = c;
            n += 1;
            placed = true;
        }
        combo[n] = d;
        n += 1;
    }
    if !placed {
        combo[n] = c;
    }
}

/// How often each tuple is covered, and the list of tuples still uncovered.
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    pub space: TupleSpace,
    /// Cover count per tuple; tuples nobody needs (infeasible) start at [`IGNORED`].
    pub counts: Vec<u32>,
    /// Uncovered needed tuples, in no particular order.
    pub uncovered: Vec<u32>,
    /// Position of each tuple in `uncovered`, or `NOWHERE`.
    pos: Vec<u32>,
}

/// Start count of a tuple that needs no cover; large enough never to reach zero.
pub(crate) const IGNORED: u32 = u32::MAX / 2;
const NOWHERE: u32 = u32::MAX;

impl Coverage {
    /// Every tuple uncovered except those in `ignored`.
    pub fn new(space: TupleSpace, ignored: &[usize]) -> Coverage {
        let total = space.total();
        let mut counts = vec![0u32; total];
        for &i in ignored {
            counts[i] = IGNORED;
        }
        let mut uncovered = Vec::with_capacity(total);
        let mut pos = vec![NOWHERE; total];
        for (i, &c) in counts.iter().enumerate() {
            if c == 0 {
                pos[i] = uncovered.len() as u32;
                uncovered.push(i as u32);
            }
        }
        Coverage {
            space,
            counts,
            uncovered,
            pos,
        }
    }

    #[inline]
    pub fn inc(&mut self, tuple: usize) {
        let c = &mut self.counts[tuple];
        *c += 1;
        if *c == 1 {
            let p = self.pos[tuple] as usize;
            let last = *self.uncovered.last().expect("an uncovered tuple is listed");
            self.uncovered[p] = last;
            self.pos[last as usize] = p as u32;
            self.uncovered.pop();
            self.pos[tuple] = NOWHERE;
        }
    }

    #[inline]
    pub fn dec(&mut self, tuple: usize) {
        let c = &mut self.counts[tuple];
        *c -= 1;
        if *c == 0 {
            self.pos[tuple] = self.uncovered.len() as u32;
            self.uncovered.push(tuple as u32);
        }
    }

    /// Counts every tuple of a complete row.
    pub fn add_row(&mut self, row: &[u16]) {
        let mut tuples = Vec::new();
        self.space
            .for_each_combo(|cols| tuples.push(self.space.tuple_of(cols, row)));
        for t in tuples {
            self.inc(t);
        }
    }

    /// Uncounts every tuple of a complete row.
    pub fn remove_row(&mut self, row: &[u16]) {
        let mut tuples = Vec::new();
        self.space
            .for_each_combo(|cols| tuples.push(self.space.tuple_of(cols, row)));
        for t in tuples {
            self.dec(t);
        }
    }

    /// Tuples only this row covers.
    pub fn unique_in(&self, row: &[u16]) -> usize {
        let mut n = 0;
        self.space.for_each_combo(|cols| {
            if self.counts[self.space.tuple_of(cols, row)] == 1 {
                n += 1
            }
        });
        n
    }
}
