//! canary's shrinker: the passes and the loop that runs them to a 1-minimal sequence.
//!
//! Every pass builds candidates from the current smallest failing sequence and hands them to
//! [`Shrinker::consider`], which validates the candidate against the model, settles it (cache
//! or oracle), and accepts it when it fails with the same signature and, trimmed after its
//! failing step, is smaller. "Smaller" is the order `(steps, changes, change positions,
//! non-default values)`: every accepted candidate strictly decreases it, so the loop ends.
//!
//! Cost drives the pass order. A candidate costs up to its length, so the cheap short
//! candidates come first (`suffix` probes the last 1, 2, 4... steps before anything of the
//! input's length runs), deletion comes before value simplification (which then runs on a
//! short sequence), and the value passes try whole groups of changes at once before halving.

mod operations;

use std::collections::BTreeSet;
use std::time::Instant;

use super::session::{CacheMode, Session};
use super::{
    CandidateEvent, Failure, Invalid, Oracle, Outcome, Pass, PassStat, Progress, Settled,
    ShrinkOptions, ShrinkReport, Step, changes, configs_in_force, validate_from,
};
use crate::model::{Config, Model, OpGroup, OpKind, Supplied};

/// Shrinks a reproduced failure (see [`super::confirm`]) to a 1-minimal sequence that fails
/// with the same signature, within the budgets of `opts`.
pub fn shrink<S: Step, O: Oracle<S>>(
    model: &Model,
    supplied: &Supplied,
    failure: &Failure<S>,
    oracle: &mut O,
    opts: &ShrinkOptions,
) -> ShrinkReport<S> {
    shrink_observed(model, supplied, failure, oracle, opts, &mut |_| {})
}

/// [`shrink`], telling `observer` about every candidate (for the journal's shrink lines).
pub fn shrink_observed<S: Step, O: Oracle<S>>(
    model: &Model,
    supplied: &Supplied,
    failure: &Failure<S>,
    oracle: &mut O,
    opts: &ShrinkOptions,
    observer: &mut dyn FnMut(&CandidateEvent<'_, S>),
) -> ShrinkReport<S> {
    let deadline = opts.max_time.map(|t| Instant::now() + t);
    let mut session = Session::new(oracle, CacheMode::Prefix, opts.max_applies, deadline);
    let baseline = session.baseline().clone();
    let failed_at = failure.failed_at.min(failure.steps.len().saturating_sub(1));
    if !failure.steps.is_empty() {
        session.remember(
            failure.steps.clone(),
            Outcome::Fail {
                signature: failure.signature.clone(),
                failed_at,
                applies: failed_at + 1,
            },
        );
    }
    let current: Vec<S> = failure.steps[..(failed_at + 1).min(failure.steps.len())].to_vec();
    let mut s = Shrinker {
        model,
        supplied,
        enabled: &opts.operations,
        baseline,
        signature: &failure.signature,
        session,
        stats: Pass::ALL
            .iter()
            .map(|p| PassStat {
                name: p.name(),
                ..PassStat::default()
            })
            .collect(),
        progress: Vec::new(),
        observer,
        current,
    };
    let trimmed = failure.steps.len() - s.current.len();
    let stat = &mut s.stats[Pass::Trim as usize];
    stat.steps_removed = trimmed;
    stat.accepted = usize::from(trimmed > 0);
    s.record_progress();

    let mut one_minimal = false;
    if !s.current.is_empty() {
        loop {
            let before = s.key(&s.current);
            s.class();
            s.window();
            s.suffix();
            s.prefix();
            s.delete();
            s.segment();
            s.noop();
            // Before a failing operation the sequence is a few applies by now, most of whose
            // changes come from the window's jumps; reverting each step's changes (toward the
            // config before it, the baseline for the first) reaches a 1-minimal result in
            // fewer candidates than resetting axes to their defaults first (measured in
            // BENCHMARKS.md); its values are then the baseline's wherever the failure allows.
            if !s.fails_at_operation() {
                s.simplest();
            }
            s.revert();
            s.merge();
            if s.session.exhausted {
                break;
            }
            if s.key(&s.current) == before {
                if !opts.verify {
                    break;
                }
                match s.verify() {
                    Verified::OneMinimal => {
                        one_minimal = true;
                        break;
                    }
                    Verified::Shrunk => continue,
                    Verified::Unfinished => break,
                }
            }
        }
    }

    ShrinkReport {
        signature: failure.signature.clone(),
        applies: s.session.applies,
        runs: s.session.runs,
        candidates: s.session.candidates,
        cache_hits: s.session.cache_hits,
        invalid: s.stats.iter().map(|p| p.invalid).sum(),
        passes: s.stats,
        progress: s.progress,
        one_minimal,
        budget_exhausted: s.session.exhausted,
        minimal: s.current,
    }
}

/// What the final check found.
enum Verified {
    OneMinimal,
    /// A single deletion or revert still failed the same way and was accepted.
    Shrunk,
    /// A budget stopped it.
    Unfinished,
}

/// The size order: shorter first, then fewer changes, then changes later in the sequence, then
/// fewer non-default values.
type Key = (usize, usize, usize, usize);

struct Shrinker<'a, 'o, S, O> {
    model: &'a Model,
    supplied: &'a Supplied,
    /// Operation groups candidates may perform.
    enabled: &'a [OpGroup],
    baseline: Config,
    signature: &'a super::Signature,
    session: Session<'o, S, O>,
    stats: Vec<PassStat>,
    progress: Vec<Progress>,
    observer: &'a mut dyn FnMut(&CandidateEvent<'_, S>),
    /// The smallest sequence known to fail with the signature, at its last step.
    current: Vec<S>,
}

impl<S: Step, O: Oracle<S>> Shrinker<'_, '_, S, O> {
    fn key(&self, seq: &[S]) -> Key {
        let n = seq.len();
        let mut changed = 0;
        let mut weight = 0;
        for (i, axes) in changes(self.model, &self.baseline, seq) {
            changed += axes.len();
            weight += axes.len() * (n - i);
        }
        let default = self.model.default_config();
        let non_default = seq
            .iter()
            .filter_map(Step::config)
            .map(|c| c.0.iter().zip(&default.0).filter(|(a, b)| a != b).count())
            .sum();
        (n, changed, weight, non_default)
    }

    fn record_progress(&mut self) {
        let (steps, changes, _, _) = self.key(&self.current);
        self.progress.push(Progress {
            applies: self.session.applies,
            steps,
            changes,
        });
    }

    /// Validates, settles and maybe accepts one candidate. Returns whether it was accepted.
    fn consider(&mut self, pass: Pass, cand: Vec<S>) -> bool {
        let cand = if cand.iter().any(|s| s.operation().is_some()) {
            self.drop_stranded(cand)
        } else {
            cand
        };
        if cand == self.current {
            return false;
        }
        let p = pass as usize;
        if let Err(Invalid { step, reason }) = validate_from(
            self.model,
            self.supplied,
            self.enabled,
            &self.baseline,
            &cand,
        ) {
            self.stats[p].invalid += 1;
            (self.observer)(&CandidateEvent {
                pass,
                steps: &cand,
                settled: Settled::Invalid { step, reason },
                accepted: false,
            });
            return false;
        }
        let applies = self.session.applies;
        let settled = self.session.test(&cand);
        self.stats[p].applies += self.session.applies - applies;
        let outcome = match &settled {
            Settled::Cached(o) => {
                self.stats[p].candidates += 1;
                self.stats[p].cache_hits += 1;
                Some(o)
            }
            Settled::Ran(o) => {
                self.stats[p].candidates += 1;
                Some(o)
            }
            _ => None,
        };
        let mut accepted = false;
        // An oracle reporting a failing step past the candidate's end is not believed.
        let failed_at = outcome
            .and_then(|o| o.fails_with(self.signature))
            .filter(|&f| f < cand.len());
        if let Some(f) = failed_at {
            let trimmed = &cand[..=f];
            let (old, new) = (self.key(&self.current), self.key(trimmed));
            if new < old {
                let stat = &mut self.stats[p];
                stat.accepted += 1;
                stat.steps_removed += old.0 - new.0;
                stat.changes_removed += old.1.saturating_sub(new.1);
                self.current = trimmed.to_vec();
                accepted = true;
            }
        }
        (self.observer)(&CandidateEvent {
            pass,
            steps: &cand,
            settled,
            accepted,
        });
        if accepted {
            self.record_progress();
        }
        accepted
    }

    /// Considers the steps of the current sequence at `kept` (ascending) as they are, then, if
    /// that was not accepted and the sequence has operations, as [`Self::faithful`] keeps them:
    /// an operation that fails on any config costs no extra apply, one that needs the config it
    /// ran on, or the change before it, still gets it.
    fn consider_kept(&mut self, pass: Pass, kept: Vec<usize>) -> bool {
        let bare: Vec<S> = kept.iter().map(|&i| self.current[i].clone()).collect();
        // Before an apply the config in force is the previous step's, so in a walk of applies
        // only a faithful cut is the bare cut one step longer, which the pass tries anyway.
        let faithful = self
            .current
            .iter()
            .any(|s| s.operation().is_some())
            .then(|| self.faithful(kept));
        if self.consider(pass, bare.clone()) {
            return true;
        }
        faithful.is_some_and(|f| f != bare && self.consider(pass, f))
    }

    /// The steps of the current sequence at `kept` (ascending), each run from the config it ran
    /// from: before a kept step, an apply of the config in force before it in the current
    /// sequence when the kept steps before it leave another one in force; and with the last
    /// backup before a kept restore. A suffix that starts with a restart then still restarts
    /// the config the failure restarted; one that starts with an apply still makes the change
    /// that apply made.
    fn faithful(&self, kept: Vec<usize>) -> Vec<S> {
        let cur = &self.current;
        let op = |i: usize| {
            cur[i]
                .operation()
                .and_then(|o| self.model.operations.get(o))
        };
        let is_backup = |i: usize| op(i).is_some_and(|o| o.kind == OpKind::Backup);
        let mut keep: BTreeSet<usize> = kept.into_iter().collect();
        for &i in keep.clone().iter() {
            if op(i).is_some_and(|o| o.needs_backup())
                && !keep.range(..i).any(|&j| is_backup(j))
                && let Some(b) = (0..i).rev().find(|&j| is_backup(j))
            {
                keep.insert(b);
            }
        }
        let in_force: Vec<Config> = configs_in_force(self.model, &self.baseline, cur)
            .into_iter()
            .cloned()
            .collect();
        let Some(template) = cur.iter().find(|s| s.config().is_some()) else {
            // No apply: the baseline is in force throughout.
            return keep.into_iter().map(|i| cur[i].clone()).collect();
        };
        let mut out: Vec<S> = Vec::with_capacity(keep.len() + 2);
        for i in keep {
            let now = *configs_in_force(self.model, &self.baseline, &out)
                .last()
                .expect("one more than the steps");
            if *now != in_force[i] {
                out.push(template.with_config(in_force[i].clone()));
            }
            out.push(cur[i].clone());
        }
        out
    }

    /// `cand` without the operations a candidate stranded: an operation before the last step
    /// whose precondition no longer holds (a restore whose backup was cut off, a node outage
    /// now running on a remote node) cannot run, and dropping it is what the candidate meant.
    /// Without this, every suffix or block that cuts a backup from its restore is refused and
    /// block deletion has to remove steps from full-length candidates.
    fn drop_stranded(&self, mut cand: Vec<S>) -> Vec<S> {
        while let Err(Invalid { step, .. }) = validate_from(
            self.model,
            self.supplied,
            self.enabled,
            &self.baseline,
            &cand,
        ) {
            if step + 1 >= cand.len() || cand[step].operation().is_none() {
                break;
            }
            cand.remove(step);
        }
        cand
    }

    /// Keeps the shortest failing suffix. Probes the last 1, 2, 4... steps up to half the
    /// length, so finding a failing suffix of k steps costs about 2k applies and finding none
    /// costs at most the length; when a probe succeeds, the next round binary-searches between
    /// the last passing probe and it.
    fn suffix(&mut self) {
        'outer: loop {
            let n = self.current.len();
            let mut lo = 0;
            let mut k = 1;
            while k <= n / 2 {
                if self.consider_kept(Pass::Suffix, (n - k..n).collect()) {
                    continue 'outer;
                }
                lo = k;
                k *= 2;
            }
            // Binary search only in a gap that one doubling spans: a wider one means the
            // failure needs steps far back, where block deletion is cheaper.
            if lo == 0 || 2 * lo < n {
                return;
            }
            let hi = n;
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if self.consider_kept(Pass::Suffix, (n - mid..n).collect()) {
                    continue 'outer;
                }
                lo = mid;
            }
            return;
        }
    }

    /// Keeps the shortest prefix that still fails together with the failing step: probes the
    /// first 1, 2, 4... steps plus the last, like [`Self::suffix`] from the other end, so the
    /// steps between the needed early ones and the failure go in a few cheap runs.
    fn prefix(&mut self) {
        'outer: loop {
            let n = self.current.len();
            if n < 3 {
                return;
            }
            let with_last = |j: usize| (0..j).chain([n - 1]).collect::<Vec<usize>>();
            let mut lo = 0;
            let mut j = 1;
            while j <= (n - 1) / 2 {
                if self.consider_kept(Pass::Prefix, with_last(j)) {
                    continue 'outer;
                }
                lo = j;
                j *= 2;
            }
            if lo == 0 || 2 * lo < n - 1 {
                return;
            }
            let hi = n - 1;
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if self.consider_kept(Pass::Prefix, with_last(mid)) {
                    continue 'outer;
                }
                lo = mid;
            }
            return;
        }
    }

    /// Right-to-left block deletion: at each position, delete the block of steps ending there,
    /// growing it by doubling while deletion keeps the failure, then binary-searching the
    /// largest block that does.
    fn delete(&mut self) {
        let mut end = self.current.len();
        while end > 0 {
            end = end.min(self.current.len());
            let orig = self.current.clone();
            let try_k = |s: &mut Self, k: usize| -> bool {
                if k > end {
                    return false;
                }
                let mut cand = orig[..end - k].to_vec();
                cand.extend_from_slice(&orig[end..]);
                s.consider(Pass::Delete, cand)
            };
            let k = self.find_by_doubling(try_k);
            end = end.saturating_sub(k.max(1));
        }
    }

    /// The largest `k` with `f(k)` true, assuming `f(0)`: doubles while `f` holds, then
    /// binary-searches between the last success and the first failure.
    fn find_by_doubling(&mut self, mut f: impl FnMut(&mut Self, usize) -> bool) -> usize {
        if !f(self, 1) {
            return 0;
        }
        let mut lo = 1;
        let mut hi = 2;
        while f(self, hi) {
            lo = hi;
            hi *= 2;
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if f(self, mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Drops steps that change nothing: all at once, then one at a time from the right.
    fn noop(&mut self) {
        let noops = |s: &Self| -> Vec<usize> {
            changes(s.model, &s.baseline, &s.current)
                .into_iter()
                .filter(|(_, axes)| axes.is_empty())
                .map(|(i, _)| i)
                .collect()
        };
        let all = noops(self);
        if all.is_empty() {
            return;
        }
        let without = |seq: &[S], drop: &[usize]| -> Vec<S> {
            seq.iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, s)| s.clone())
                .collect()
        };
        if all.len() > 1 && self.consider(Pass::Noop, without(&self.current, &all)) {
            return;
        }
        for i in all.into_iter().rev() {
            if noops(self).contains(&i) {
                self.consider(Pass::Noop, without(&self.current, &[i]));
            }
        }
    }

    /// Resets whole axes to their default in every step, trying groups of axes at once and
    /// halving a group that does not keep the failure.
    fn simplest(&mut self) {
        let default = self.model.default_config();
        let axes: Vec<usize> = (0..self.model.axes.len())
            .filter(|&a| {
                self.current
                    .iter()
                    .filter_map(Step::config)
                    .any(|c| c.0[a] != default.0[a])
            })
            .collect();
        self.reduce(Pass::Simplest, axes, |seq, group| {
            Some(
                seq.iter()
                    .map(|s| match s.config() {
                        Some(c) => {
                            let mut c = c.clone();
                            for &a in group {
                                c.0[a] = default.0[a];
                            }
                            s.with_config(c)
                        }
                        None => s.clone(),
                    })
                    .collect(),
            )
        });
    }

    /// For each step, left to right, reverts its changed axes to the previous config's values,
    /// the whole group first, halving a group that does not keep the failure.
    fn revert(&mut self) {
        let mut i = 0;
        while i < self.current.len() {
            let changed = changes(self.model, &self.baseline, &self.current)
                .into_iter()
                .find(|(j, _)| *j == i)
                .map(|(_, axes)| axes)
                .unwrap_or_default();
            let (model, baseline) = (self.model, self.baseline.clone());
            self.reduce(Pass::Revert, changed, |seq, group| {
                revert_or_drop(model, &baseline, seq, i, group)
            });
            self.noop();
            i += 1;
        }
    }

    /// Merges two applies into one, right to left: adjacent ones, or ones with only
    /// operations between them. Across operations the one apply goes before them with the
    /// later config (the operations then run on it), or after them with the earlier config
    /// (they run on the config before it); the other two ways are deletions, which the
    /// deletion passes try.
    fn merge(&mut self) {
        let mut i = self.current.len().saturating_sub(1);
        while i > 0 {
            i = i.min(self.current.len().saturating_sub(1));
            if i == 0 {
                break;
            }
            let mut k = i - 1;
            if self.current[i].config().is_some() {
                while k > 0 && self.current[k].config().is_none() {
                    k -= 1;
                }
            }
            if let Some(m) = self.current[k].merge(&self.current[i]) {
                let ops = self.current[k + 1..i].to_vec();
                let rest = self.current[i + 1..].to_vec();
                let mut before = self.current[..k].to_vec();
                before.push(m);
                before.extend_from_slice(&ops);
                before.extend_from_slice(&rest);
                if !self.consider(Pass::Merge, before) && !ops.is_empty() {
                    let mut after = self.current[..k].to_vec();
                    after.extend_from_slice(&ops);
                    after.push(self.current[k].clone());
                    after.extend_from_slice(&rest);
                    self.consider(Pass::Merge, after);
                }
            }
            i -= 1;
        }
    }

    /// Adaptive group testing: try removing a whole group; when that loses the failure, split
    /// it in halves and try each. `build` makes the candidate for a group from the current
    /// sequence (or `None` when the group no longer applies to it).
    fn reduce<T: Clone>(
        &mut self,
        pass: Pass,
        items: Vec<T>,
        build: impl Fn(&[S], &[T]) -> Option<Vec<S>>,
    ) {
        let mut stack = vec![items];
        while let Some(group) = stack.pop() {
            if group.is_empty() || self.session.exhausted {
                continue;
            }
            let Some(cand) = build(&self.current, &group) else {
                continue;
            };
            if self.consider(pass, cand) {
                // A reset can leave a step changing nothing; dropping it now makes every later
                // candidate one apply cheaper. (Revert works by step index, so it drops them
                // between steps instead.)
                if pass == Pass::Simplest {
                    self.noop();
                }
                continue;
            }
            if group.len() > 1 {
                let (a, b) = group.split_at(group.len() / 2);
                stack.push(b.to_vec());
                stack.push(a.to_vec());
            }
        }
    }

    /// Tries every single deletion and every single revert of a changed axis; the current
    /// sequence is 1-minimal when none keeps the failure. Candidates the model refuses cannot
    /// be run and do not count against minimality.
    fn verify(&mut self) -> Verified {
        for i in (0..self.current.len()).rev() {
            let mut cand = self.current[..i].to_vec();
            cand.extend_from_slice(&self.current[i + 1..]);
            if self.consider(Pass::Verify, cand) {
                return Verified::Shrunk;
            }
            if self.session.exhausted {
                return Verified::Unfinished;
            }
        }
        for (i, axes) in changes(self.model, &self.baseline, &self.current) {
            for a in axes {
                let Some(cand) = revert_or_drop(self.model, &self.baseline, &self.current, i, &[a])
                else {
                    continue;
                };
                if self.consider(Pass::Verify, cand) {
                    return Verified::Shrunk;
                }
                if self.session.exhausted {
                    return Verified::Unfinished;
                }
            }
        }
        Verified::OneMinimal
    }
}

/// `seq` with the axes `group` of step `i` set back to the values of the config in force before
/// it ([`configs_in_force`]); `None` when step `i` has no config or changes none of them.
fn revert_at<S: Step>(
    model: &Model,
    baseline: &Config,
    seq: &[S],
    i: usize,
    group: &[usize],
) -> Option<Vec<S>> {
    let c = seq.get(i)?.config()?;
    let prev = configs_in_force(model, baseline, &seq[..i])[i];
    let mut new = c.clone();
    for &a in group {
        new.0[a] = prev.0[a];
    }
    if new == *c {
        return None;
    }
    let mut out = seq.to_vec();
    out[i] = seq[i].with_config(new);
    Some(out)
}

/// [`revert_at`], without step `i` when the revert leaves it changing nothing: such a step is
/// what [`Shrinker::noop`] drops, so the candidate is one apply cheaper and is often a deletion
/// already settled.
fn revert_or_drop<S: Step>(
    model: &Model,
    baseline: &Config,
    seq: &[S],
    i: usize,
    group: &[usize],
) -> Option<Vec<S>> {
    let mut cand = revert_at(model, baseline, seq, i, group)?;
    if cand[i].config() == Some(configs_in_force(model, baseline, &cand[..i])[i]) {
        cand.remove(i);
    }
    Some(cand)
}
