//! The space a plan covers: the allowed effective values of each axis (gated values without
//! their prerequisites removed), the planning constraints re-indexed onto them, and a dense
//! numbering of the t-way tuples and ordered value changes that are coverage goals.

use crate::model::Expr;

/// The planned space, with values re-indexed to the allowed ones.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    /// Strength actually used (at most the number of axes).
    pub t: usize,
    /// For each axis, the model value index of each planned value.
    pub allowed: Vec<Vec<u16>>,
    pub sizes: Vec<usize>,
    /// Planning constraints over planned indices.
    pub constraints: Vec<Expr>,
    /// Constraint indices reading each axis.
    pub by_axis: Vec<Vec<usize>>,
    /// Every t-subset of axes, sorted.
    pub combos: Vec<Vec<usize>>,
    /// First tuple index of each combo.
    pub offsets: Vec<usize>,
    /// Combos containing each axis.
    pub combos_of_axis: Vec<Vec<usize>>,
    /// Number of tuple indices.
    pub n_tuples: usize,
    /// Whether each tuple is a goal (feasible).
    pub required: Vec<bool>,
    /// Per axis, `from * size + to`: whether the ordered change is a goal.
    pub trans_required: Vec<Vec<bool>>,
}

/// Re-indexes an expression onto planned values.
pub(crate) fn remap(e: &Expr, allowed: &[Vec<u16>]) -> Expr {
    match e {
        Expr::In(a, set) => Expr::In(*a, allowed[*a].iter().map(|&v| set[v as usize]).collect()),
        Expr::Rel(a, b, table) => Expr::Rel(
            *a,
            *b,
            allowed[*a]
                .iter()
                .map(|&x| {
                    allowed[*b]
                        .iter()
                        .map(|&y| table[x as usize][y as usize])
                        .collect()
                })
                .collect(),
        ),
        Expr::Not(x) => Expr::Not(Box::new(remap(x, allowed))),
        Expr::And(l, r) => Expr::And(Box::new(remap(l, allowed)), Box::new(remap(r, allowed))),
        Expr::Or(l, r) => Expr::Or(Box::new(remap(l, allowed)), Box::new(remap(r, allowed))),
    }
}

fn subsets(k: usize, t: usize) -> Vec<Vec<usize>> {
    fn rec(start: usize, k: usize, t: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == t {
            out.push(cur.clone());
            return;
        }
        for a in start..k {
            if k - a < t - cur.len() {
                break;
            }
            cur.push(a);
            rec(a + 1, k, t, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    rec(0, k, t, &mut Vec::new(), &mut out);
    out
}

impl Space {
    /// Builds the space; every tuple and change starts out as a goal.
    #[cfg(test)]
    pub fn new(allowed: Vec<Vec<u16>>, constraints: &[Expr], strength: usize) -> Space {
        Space::with_combos(allowed, constraints, strength, &[])
    }

    /// Like [`Space::new`], plus the sorted axis sets in `extra` (the sub-models' higher
    /// strength combos) as goals too.
    pub fn with_combos(
        allowed: Vec<Vec<u16>>,
        constraints: &[Expr],
        strength: usize,
        extra: &[Vec<usize>],
    ) -> Space {
        let k = allowed.len();
        let t = strength.min(k);
        let sizes: Vec<usize> = allowed.iter().map(Vec::len).collect();
        let constraints: Vec<Expr> = constraints.iter().map(|c| remap(c, &allowed)).collect();
        let mut by_axis = vec![Vec::new(); k];
        for (i, c) in constraints.iter().enumerate() {
            for a in c.axes() {
                by_axis[a].push(i);
            }
        }
        let mut combos = if t == 0 { Vec::new() } else { subsets(k, t) };
        if !extra.is_empty() {
            combos.extend(
                extra
                    .iter()
                    .filter(|c| c.len() > t && c.iter().all(|&a| a < k))
                    .cloned(),
            );
            // Sorted, so that `cells_index` can binary search.
            combos.sort();
            combos.dedup();
        }
        let mut offsets = Vec::with_capacity(combos.len());
        let mut combos_of_axis = vec![Vec::new(); k];
        let mut n = 0;
        for (ci, c) in combos.iter().enumerate() {
            offsets.push(n);
            n += c.iter().map(|&a| sizes[a]).product::<usize>();
            for &a in c {
                combos_of_axis[a].push(ci);
            }
        }
        let trans_required = sizes
            .iter()
            .map(|&s| (0..s * s).map(|i| i / s != i % s).collect::<Vec<bool>>())
            .collect();
        Space {
            t,
            allowed,
            sizes,
            constraints,
            by_axis,
            combos,
            offsets,
            combos_of_axis,
            n_tuples: n,
            required: vec![true; n],
            trans_required,
        }
    }

    /// Tuple index of a row's values on a combo.
    #[inline]
    pub fn tuple_index(&self, combo: usize, row: &[u16]) -> usize {
        let mut idx = 0;
        for &a in &self.combos[combo] {
            idx = idx * self.sizes[a] + row[a] as usize;
        }
        self.offsets[combo] + idx
    }

    /// Tuple index of explicit cells (sorted by axis, one per axis of a combo).
    pub fn cells_index(&self, cells: &[(usize, u16)]) -> Option<usize> {
        let axes: Vec<usize> = cells.iter().map(|c| c.0).collect();
        let combo = self.combos.binary_search(&axes).ok()?;
        let mut idx = 0;
        for &(a, v) in cells {
            idx = idx * self.sizes[a] + v as usize;
        }
        Some(self.offsets[combo] + idx)
    }

    /// The cells of a tuple index, in planned indices.
    pub fn cells(&self, index: usize) -> Vec<(usize, u16)> {
        let combo = match self.offsets.binary_search(&index) {
            Ok(c) => c,
            Err(c) => c - 1,
        };
        let mut rest = index - self.offsets[combo];
        let mut out: Vec<(usize, u16)> = Vec::with_capacity(self.t);
        for &a in self.combos[combo].iter().rev() {
            out.push((a, (rest % self.sizes[a]) as u16));
            rest /= self.sizes[a];
        }
        out.reverse();
        out
    }

    /// Whether a complete row satisfies the constraints.
    pub fn valid(&self, row: &[u16]) -> bool {
        self.constraints.iter().all(|c| c.holds(row))
    }

    /// Whether a row that was valid is still valid after the given axes changed.
    pub fn valid_after(&self, row: &[u16], changed: &[usize]) -> bool {
        changed.iter().all(|&a| {
            self.by_axis[a]
                .iter()
                .all(|&c| self.constraints[c].holds(row))
        })
    }

    /// The required ordered changes of an axis, as (from, to) planned indices.
    pub fn transition_goals(&self, axis: usize) -> impl Iterator<Item = (u16, u16)> + '_ {
        let s = self.sizes[axis];
        (0..s * s)
            .filter(move |&i| self.trans_required[axis][i])
            .map(move |i| ((i / s) as u16, (i % s) as u16))
    }

    /// Number of goals (tuples plus changes).
    pub fn goal_count(&self) -> usize {
        self.required.iter().filter(|r| **r).count()
            + self
                .trans_required
                .iter()
                .map(|v| v.iter().filter(|r| **r).count())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_indices_round_trip_through_cells() {
        let space = Space::new(vec![vec![0, 1, 2], vec![0, 1], vec![0, 2], vec![1]], &[], 2);
        assert_eq!(space.combos.len(), 6);
        assert_eq!(space.n_tuples, 3 * 2 + 3 * 2 + 3 + 2 * 2 + 2 + 2);
        for i in 0..space.n_tuples {
            let cells = space.cells(i);
            assert_eq!(cells.len(), 2);
            assert_eq!(space.cells_index(&cells), Some(i));
        }
        let row = [2, 1, 0, 0];
        let hit: Vec<usize> = (0..space.combos.len())
            .map(|c| space.tuple_index(c, &row))
            .collect();
        for (c, &i) in hit.iter().enumerate() {
            let cells = space.cells(i);
            assert!(cells.iter().all(|&(a, v)| row[a] == v), "combo {c}");
        }
    }

    #[test]
    fn constraints_are_reindexed_onto_planned_values() {
        // Axis 0 plans model values 1 and 2 only; the constraint bans model value 2.
        let e = Expr::Not(Box::new(Expr::In(0, vec![false, false, true])));
        let space = Space::new(vec![vec![1, 2], vec![0]], &[e], 1);
        assert!(space.valid(&[0, 0]));
        assert!(!space.valid(&[1, 0]));
        assert_eq!(
            space.transition_goals(0).collect::<Vec<_>>(),
            [(0, 1), (1, 0)]
        );
    }
}
