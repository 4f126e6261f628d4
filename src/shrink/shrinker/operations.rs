//! The passes that understand a failing operation's dependence on the state before it. They
//! run only when the failing (last) step is an operation: a walk of applies only never builds
//! one of their candidates, so config-only shrinks are unchanged.
//!
//! An operation fails on the state the steps before it built. Most of those steps only matter
//! through the configs they put in force, so these passes work on the walk's *trajectory* (the
//! configs in force, [`configs_in_force`]) rather than on its steps:
//!
//! - `class` tries the shortest sequences that reach the operation's state class from the
//!   baseline: the operation alone, then one apply of the baseline with only the axes of its
//!   classes and precondition taken from the config it ran on, then that config whole.
//! - `window` moves the operation earlier together with a window of the transitions before it:
//!   the window's first config is applied straight from the baseline, the steps in it follow
//!   with the operations that leave the config alone dropped (a restore becomes an apply of
//!   what it restored), then the config the operation ran on and the operation. Windows are a
//!   third of the sequence (a half below 9 steps), tried from the right, then shifted by half a
//!   tile; before them, a *jump* per tile (its first config, then the operation's: 3 applies),
//!   and per unshifted tile an *end jump* (its first config, then its last, the operation run
//!   there), for a failure whose needed value the operation's own config undid.
//!   Each accepted window starts the next level on the shorter sequence, so finding the
//!   transition the failure hangs on costs about the walk's length in all, where block
//!   deletion pays the whole remaining length for every probe. A level that finds nothing tries
//!   one narrower level, then everything but one tile (two places further apart than a tile).
//! - `segment` drops a transition together with the operations it enabled: an apply and the
//!   operations running on its config up to the next apply go as one block, right to left.

use super::{Shrinker, Step};
use crate::model::{Config, OpKind};
use crate::shrink::{Oracle, Pass, configs_in_force};

impl<S: Step, O: Oracle<S>> Shrinker<'_, '_, S, O> {
    /// The model operation the current sequence fails at, when its last step is one.
    fn failing_operation(&self) -> Option<&crate::model::Operation> {
        self.current
            .last()?
            .operation()
            .and_then(|o| self.model.operations.get(o))
    }

    /// Whether the operation-aware passes apply to the current sequence.
    pub(super) fn fails_at_operation(&self) -> bool {
        self.failing_operation().is_some()
    }

    /// The shortest ways to reach the failing operation's state class from the baseline.
    pub(super) fn class(&mut self) {
        let Some(op) = self.failing_operation() else {
            return;
        };
        let n = self.current.len();
        if n <= 1 {
            return;
        }
        let mut axes = op.classes.clone();
        if let Some(r) = &op.requires {
            axes.extend(r.axes());
        }
        let ran_on = configs_in_force(self.model, &self.baseline, &self.current)[n - 1].clone();
        let mut class = self.baseline.clone();
        for a in axes {
            class.0[a] = ran_on.0[a];
        }
        // The operation alone, then from its class, then from the whole config it ran on; a
        // restore keeps the backup it restores (faithful adds it).
        let mut tried: Vec<Vec<S>> = Vec::new();
        for config in [None, Some(class), Some(ran_on)] {
            let Some(cand) = self.moved_after(&[], config) else {
                continue;
            };
            if tried.contains(&cand) {
                continue;
            }
            tried.push(cand.clone());
            if self.consider(Pass::Class, cand) {
                return;
            }
        }
    }

    /// Windows of the trajectory before the failing operation, shrinking by levels.
    pub(super) fn window(&mut self) {
        // 0: the level's tiles; 1: one narrower level, for a failure whose window must end at
        // the right place (the jump to the operation's config completes it), which wider tiles
        // running past that place miss; 2: everything but one tile, for a failure needing two
        // places further apart than a tile.
        let mut stage = 0;
        'outer: while self.fails_at_operation() {
            let body = self.current.len() - 1;
            if body < 3 {
                return;
            }
            // Thirds while a third is long enough to be worth it: finding the transition a
            // failure hangs on then costs about half the walk per level, where halves cost
            // three quarters of it (a passing window costs its length too).
            let k = if body >= 9 { 3 } else { 2 };
            let level = body.div_ceil(k);
            let w = if stage == 1 { level.div_ceil(2) } else { level };
            // Tiles from the right, then (at the level's width) the same shifted by half a
            // tile.
            let shifts: &[usize] = if stage == 0 { &[0, w / 2] } else { &[0] };
            let mut tiles: Vec<(usize, usize)> = Vec::new();
            let mut unshifted = 0;
            for (k, &shift) in shifts.iter().enumerate() {
                let mut b = body - shift;
                while b > 0 {
                    let a = b.saturating_sub(w);
                    if !tiles.contains(&(a, b)) && b - a >= w.min(body) / 2 {
                        tiles.push((a, b));
                    }
                    b = a;
                }
                if k == 0 {
                    unshifted = tiles.len();
                }
            }
            let windows: Vec<Vec<usize>> = if stage == 2 {
                tiles
                    .iter()
                    .map(|&(a, b)| (0..body).filter(|i| !(a..b).contains(i)).collect())
                    .collect()
            } else {
                // First the jumps: from the config in force at each tile's start straight to
                // the one the operation ran on (3 applies each, where a window costs its
                // length).
                for &(a, _) in &tiles {
                    if let Some(cand) = self.jump(a, body)
                        && self.consider(Pass::Window, cand)
                    {
                        stage = 0;
                        continue 'outer;
                    }
                }
                // Then from each unshifted tile's start to its end's config, the operation
                // run there: when the operation's own config flipped back a value the failure
                // needed (a transition that a later apply undid), no jump to it can work. Not
                // for a restore, whose config is the backup's wherever it runs.
                if !self.failing_operation().is_some_and(|o| o.needs_backup()) {
                    for &(a, b) in &tiles[..unshifted] {
                        if b < body
                            && let Some(cand) = self.jump(a, b)
                            && self.consider(Pass::Window, cand)
                        {
                            stage = 0;
                            continue 'outer;
                        }
                    }
                }
                tiles.iter().map(|&(a, b)| (a..b).collect()).collect()
            };
            for kept in windows {
                let ran_on =
                    configs_in_force(self.model, &self.baseline, &self.current)[body].clone();
                if let Some(cand) = self.moved_after(&kept, Some(ran_on))
                    && self.consider(Pass::Window, cand)
                {
                    stage = 0;
                    continue 'outer;
                }
            }
            stage += if stage == 0 && level < 6 { 2 } else { 1 };
            if stage > 2 {
                return;
            }
        }
    }

    /// The failing operation after two applies: the config in force before step `a`, then the
    /// one in force before step `b` (the one the operation ran on for `b` = the last step), and
    /// the backup a restore needs.
    fn jump(&self, a: usize, b: usize) -> Option<Vec<S>> {
        let in_force = configs_in_force(self.model, &self.baseline, &self.current);
        let (from, ran_on) = (in_force[a].clone(), in_force[b].clone());
        if from == ran_on || from == self.baseline {
            return None;
        }
        let mut cand = self.moved_after(&[], Some(ran_on.clone()))?;
        let k = cand.len().checked_sub(2)?;
        if cand[k].config() != Some(&ran_on) {
            return None;
        }
        cand.insert(k, cand[k].with_config(from));
        Some(cand)
    }

    /// The failing operation moved to right after the current steps at `kept` (ascending, all
    /// before it): the first kept step's starting config applied from the baseline, the kept
    /// steps with the operations that leave the config alone dropped (a restore becomes an
    /// apply of what it restored), then `ran_on` applied (when given and not in force yet) and
    /// the operation, after the backup it needs if it is a restore.
    fn moved_after(&self, kept: &[usize], ran_on: Option<Config>) -> Option<Vec<S>> {
        let cur = &self.current;
        let last = cur.len() - 1;
        let in_force = configs_in_force(self.model, &self.baseline, cur);
        let template = cur.iter().find(|s| s.config().is_some());
        let op = |i: usize| {
            cur[i]
                .operation()
                .and_then(|o| self.model.operations.get(o))
        };
        let is_backup = |i: usize| op(i).is_some_and(|o| o.kind == OpKind::Backup);
        // The backup a failing restore needs, with the config in force when it ran.
        let backup = op(last)
            .is_some_and(|o| o.needs_backup())
            .then(|| (0..last).rev().find(|&j| is_backup(j)))
            .flatten();
        let mut out: Vec<S> = Vec::with_capacity(kept.len() + 3);
        let mut now: Config = self.baseline.clone();
        let mut backup_done = false;
        let goto = |out: &mut Vec<S>, now: &mut Config, c: &Config| -> Option<()> {
            if now != c {
                out.push(template?.with_config(c.clone()));
                *now = c.clone();
            }
            Some(())
        };
        let mut steps: Vec<usize> = kept.to_vec();
        if let Some(b) = backup
            && !kept.contains(&b)
        {
            steps.push(b);
            steps.sort_unstable();
        }
        for (k, &i) in steps.iter().enumerate() {
            if k == 0 || steps[k - 1] + 1 != i {
                goto(&mut out, &mut now, in_force[i])?;
            }
            if Some(i) == backup {
                goto(&mut out, &mut now, in_force[i])?;
                out.push(cur[i].clone());
                backup_done = true;
            } else if cur[i].config().is_some() {
                if now != *in_force[i + 1] {
                    out.push(cur[i].clone());
                    now = in_force[i + 1].clone();
                }
            } else {
                goto(&mut out, &mut now, in_force[i + 1])?;
            }
        }
        if backup.is_some() && !backup_done {
            return None;
        }
        if let Some(c) = ran_on {
            goto(&mut out, &mut now, &c)?;
        }
        out.push(cur[last].clone());
        Some(out)
    }

    /// Drops an apply together with the operations after it up to the next apply, right to
    /// left, growing the block by segments while the failure holds.
    pub(super) fn segment(&mut self) {
        if !self.fails_at_operation() {
            return;
        }
        let starts = |s: &Self| -> Vec<usize> {
            let n = s.current.len();
            (0..n - 1)
                .filter(|&i| s.current[i].config().is_some())
                .chain([n - 1])
                .collect()
        };
        let mut seg = starts(self).len().saturating_sub(1);
        while seg > 0 {
            let b = starts(self);
            seg = seg.min(b.len() - 1);
            if seg == 0 {
                break;
            }
            let orig = self.current.clone();
            let end = b[seg];
            let try_k = |s: &mut Self, k: usize| -> bool {
                if k > seg {
                    return false;
                }
                let mut cand = orig[..b[seg - k]].to_vec();
                cand.extend_from_slice(&orig[end..]);
                s.consider(Pass::Segment, cand)
            };
            let k = self.find_by_doubling(try_k);
            seg = seg.saturating_sub(k.max(1));
        }
    }
}
