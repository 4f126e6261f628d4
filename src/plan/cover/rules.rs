//! The constraints as the covering search sees them: which axes they read, whether a row is
//! valid, and whether a partial row can still be completed into a valid one.

use crate::model::expr::{Expr, Truth, UNSET};

/// Constraints over rows of a given shape.
#[derive(Debug)]
pub(crate) struct Rules<'a> {
    constraints: &'a [Expr],
    sizes: Vec<usize>,
    /// Whether any constraint reads the axis.
    constrained: Vec<bool>,
    /// Constraints reading each axis.
    by_axis: Vec<Vec<usize>>,
    /// Constraints whose axes are all out of range are dropped from checks; their indices.
    usable: Vec<usize>,
}

impl<'a> Rules<'a> {
    pub fn new(constraints: &'a [Expr], sizes: &[usize]) -> Rules<'a> {
        let k = sizes.len();
        let mut constrained = vec![false; k];
        let mut by_axis = vec![Vec::new(); k];
        let mut usable = Vec::new();
        for (i, e) in constraints.iter().enumerate() {
            let axes = e.axes();
            // A constraint naming an axis the problem does not have cannot be evaluated; the
            // caller built it for another shape. Skipping it beats indexing out of bounds.
            if axes.iter().any(|&a| a >= k) || !fits(e, sizes) {
                continue;
            }
            usable.push(i);
            for a in axes {
                constrained[a] = true;
                by_axis[a].push(i);
            }
        }
        Rules {
            constraints,
            sizes: sizes.to_vec(),
            constrained,
            by_axis,
            usable,
        }
    }

    /// No constraint applies.
    pub fn is_empty(&self) -> bool {
        self.usable.is_empty()
    }

    /// Rough cost of one [`Rules::valid`] check, in the search's units of work.
    pub fn cost(&self) -> u64 {
        4 * self.usable.len() as u64
    }

    /// Whether a constraint reads `axis`.
    pub fn is_constrained(&self, axis: usize) -> bool {
        self.constrained[axis]
    }

    /// Every constraint holds on a complete row.
    pub fn valid(&self, row: &[u16]) -> bool {
        self.usable.iter().all(|&i| self.constraints[i].holds(row))
    }

    fn not_false(&self, row: &[u16], which: &[usize]) -> bool {
        which
            .iter()
            .all(|&i| self.constraints[i].eval_partial(row) != Truth::False)
    }

    /// Whether the constrained axes left [`UNSET`] in `partial` can be filled so that every
    /// constraint holds (unconstrained axes never matter). `partial` is left as it was.
    pub fn completable(&self, partial: &mut [u16]) -> bool {
        self.complete_in_place(partial)
    }

    /// Like [`Rules::completable`], but on success leaves the constrained axes filled in
    /// (unconstrained ones stay as they were).
    pub fn complete(&self, partial: &mut [u16]) -> bool {
        self.fill(partial).0
    }

    fn complete_in_place(&self, partial: &mut [u16]) -> bool {
        let (ok, free) = self.fill(partial);
        for &a in &free {
            partial[a] = UNSET;
        }
        ok
    }

    /// Searches values for the unset constrained axes; whether some satisfy every rule, and
    /// which axes the search may have filled in.
    fn fill(&self, partial: &mut [u16]) -> (bool, Vec<usize>) {
        if self.is_empty() {
            return (true, Vec::new());
        }
        if !self.not_false(partial, &self.usable) {
            return (false, Vec::new());
        }
        let free: Vec<usize> = (0..partial.len())
            .filter(|&a| self.constrained[a] && partial[a] == UNSET)
            .collect();
        let ok = self.dfs(partial, &free, 0);
        (ok, free)
    }

    fn dfs(&self, row: &mut [u16], free: &[usize], i: usize) -> bool {
        let Some(&a) = free.get(i) else {
            return true;
        };
        for v in 0..self.sizes[a] as u16 {
            row[a] = v;
            if self.not_false(row, &self.by_axis[a]) && self.dfs(row, free, i + 1) {
                return true;
            }
        }
        row[a] = UNSET;
        false
    }
}

/// Whether every value table of the expression is large enough for the axis sizes.
fn fits(e: &Expr, sizes: &[usize]) -> bool {
    match e {
        Expr::In(a, set) => set.len() >= sizes[*a],
        Expr::Rel(a, b, t) => t.len() >= sizes[*a] && t.iter().all(|r| r.len() >= sizes[*b]),
        Expr::Not(x) => fits(x, sizes),
        Expr::And(l, r) | Expr::Or(l, r) => fits(l, sizes) && fits(r, sizes),
    }
}
