//! **Benchmark references only; the tool never uses these.** Three classic shrinkers,
//! reimplemented over the same [`Oracle`] and apply accounting as canary's shrinker, so
//! `BENCHMARKS.md` can put their costs side by side on the same failures:
//!
//! - [`proptest_one_at_a_time`]: proptest's `VecValueTree` deletion, one element at a time
//!   from the front, in a single pass, with no cache and no trimming (proptest re-runs the
//!   test for every candidate and keeps the whole vector).
//! - [`ddmin`]: Zeller and Hildebrandt's delta debugging minimisation over the steps, with the
//!   outcome cache of their reference implementation, no trimming.
//! - [`hypothesis_blocks`]: Hypothesis-style block deletion right to left with its
//!   `find_integer` probing (linear up to 4, then doubling, then binary search), its
//!   prefix-aware cache, and trimming to the consumed prefix; no domain passes.
//!
//! All three only delete steps, and re-validate each candidate against the model like canary.

use super::session::{CacheMode, Session};
use super::{Failure, Oracle, Progress, Settled, Step, validate_from};
use crate::model::OpGroup;
use crate::model::{Model, Supplied};

/// What a reference shrinker found and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceReport<S> {
    pub name: &'static str,
    /// The smallest failing sequence it reached.
    pub minimal: Vec<S>,
    pub applies: usize,
    pub runs: usize,
    pub candidates: usize,
    pub cache_hits: usize,
    /// `(applies, steps)` after every accepted candidate, the input first.
    pub progress: Vec<Progress>,
    pub budget_exhausted: bool,
}

impl<S> ReferenceReport<S> {
    /// Applies spent before the result first got down to `steps` steps.
    pub fn applies_to_reach(&self, steps: usize) -> Option<usize> {
        self.progress
            .iter()
            .find(|p| p.steps <= steps)
            .map(|p| p.applies)
    }
}

/// The shared candidate loop of the references.
struct Reference<'a, 'o, S, O> {
    model: &'a Model,
    supplied: &'a Supplied,
    failure: &'a Failure<S>,
    session: Session<'o, S, O>,
    trim: bool,
    current: Vec<S>,
    progress: Vec<Progress>,
}

impl<'a, 'o, S: Step, O: Oracle<S>> Reference<'a, 'o, S, O> {
    fn new(
        model: &'a Model,
        supplied: &'a Supplied,
        failure: &'a Failure<S>,
        oracle: &'o mut O,
        mode: CacheMode,
        trim: bool,
        max_applies: Option<usize>,
    ) -> Self {
        let mut session = Session::new(oracle, mode, max_applies, None);
        let f = failure.failed_at.min(failure.steps.len().saturating_sub(1));
        if !failure.steps.is_empty() {
            session.remember(
                failure.steps.clone(),
                super::Outcome::Fail {
                    signature: failure.signature.clone(),
                    failed_at: f,
                    applies: f + 1,
                },
            );
        }
        let current = if trim {
            failure.steps[..(f + 1).min(failure.steps.len())].to_vec()
        } else {
            failure.steps.clone()
        };
        let progress = vec![Progress {
            applies: 0,
            steps: current.len(),
            changes: 0,
        }];
        Reference {
            model,
            supplied,
            failure,
            session,
            trim,
            current,
            progress,
        }
    }

    /// Whether `cand` still fails the same way; makes it current when it does.
    fn fails(&mut self, cand: Vec<S>) -> bool {
        let baseline = self.session.baseline();
        if validate_from(self.model, self.supplied, &OpGroup::ALL, baseline, &cand).is_err() {
            return false;
        }
        let at = match self.session.test(&cand) {
            Settled::Ran(o) | Settled::Cached(o) => o.fails_with(&self.failure.signature),
            _ => None,
        }
        .filter(|&f| f < cand.len());
        let Some(f) = at else { return false };
        self.current = if self.trim { cand[..=f].to_vec() } else { cand };
        self.progress.push(Progress {
            applies: self.session.applies,
            steps: self.current.len(),
            changes: 0,
        });
        true
    }

    fn report(self, name: &'static str) -> ReferenceReport<S> {
        ReferenceReport {
            name,
            minimal: self.current,
            applies: self.session.applies,
            runs: self.session.runs,
            candidates: self.session.candidates,
            cache_hits: self.session.cache_hits,
            progress: self.progress,
            budget_exhausted: self.session.exhausted,
        }
    }
}

/// proptest's one-at-a-time deletion: for each position of the original sequence, front to
/// back, leave that step out; keep it out if the test still fails, else put it back.
pub fn proptest_one_at_a_time<S: Step, O: Oracle<S>>(
    model: &Model,
    supplied: &Supplied,
    failure: &Failure<S>,
    oracle: &mut O,
    max_applies: Option<usize>,
) -> ReferenceReport<S> {
    let mut r = Reference::new(
        model,
        supplied,
        failure,
        oracle,
        CacheMode::Off,
        false,
        max_applies,
    );
    let mut included = vec![true; failure.steps.len()];
    for ix in 0..included.len() {
        if r.session.exhausted {
            break;
        }
        included[ix] = false;
        let cand: Vec<S> = failure
            .steps
            .iter()
            .zip(&included)
            .filter(|(_, keep)| **keep)
            .map(|(s, _)| s.clone())
            .collect();
        if cand.is_empty() || !r.fails(cand) {
            included[ix] = true;
        }
    }
    r.report("proptest one-at-a-time")
}

/// Zeller's ddmin over the steps: split into `n` parts, reduce to a failing part, else to a
/// failing complement, else double the granularity, until the granularity exceeds the length.
pub fn ddmin<S: Step, O: Oracle<S>>(
    model: &Model,
    supplied: &Supplied,
    failure: &Failure<S>,
    oracle: &mut O,
    max_applies: Option<usize>,
) -> ReferenceReport<S> {
    let mut r = Reference::new(
        model,
        supplied,
        failure,
        oracle,
        CacheMode::Exact,
        false,
        max_applies,
    );
    let mut n = 2usize;
    while r.current.len() >= 2 && !r.session.exhausted {
        let len = r.current.len();
        let n_eff = n.min(len);
        let bounds: Vec<(usize, usize)> = (0..n_eff)
            .map(|i| (i * len / n_eff, (i + 1) * len / n_eff))
            .collect();
        let mut reduced = false;
        for &(a, b) in &bounds {
            if r.fails(r.current[a..b].to_vec()) {
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced {
            for &(a, b) in &bounds {
                let mut cand = r.current[..a].to_vec();
                cand.extend_from_slice(&r.current[b..]);
                if r.fails(cand) {
                    n = (n_eff - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n_eff >= len {
                break;
            }
            n = (2 * n_eff).min(len);
        }
    }
    r.report("ddmin")
}

/// Hypothesis-style block deletion: from the right end leftwards, delete the block of steps
/// ending at each position, its size found by Hypothesis' `find_integer`.
pub fn hypothesis_blocks<S: Step, O: Oracle<S>>(
    model: &Model,
    supplied: &Supplied,
    failure: &Failure<S>,
    oracle: &mut O,
    max_applies: Option<usize>,
) -> ReferenceReport<S> {
    let mut r = Reference::new(
        model,
        supplied,
        failure,
        oracle,
        CacheMode::Prefix,
        true,
        max_applies,
    );
    // Hypothesis reruns its passes until none makes progress.
    loop {
        let before = r.current.len();
        let mut end = r.current.len();
        while end > 0 && !r.session.exhausted {
            end = end.min(r.current.len());
            let orig = r.current.clone();
            let k = find_integer(|k| {
                if k > end {
                    return false;
                }
                let mut cand = orig[..end - k].to_vec();
                cand.extend_from_slice(&orig[end..]);
                r.fails(cand)
            });
            end = end.saturating_sub(k.max(1));
        }
        if r.current.len() == before || r.session.exhausted {
            break;
        }
    }
    r.report("Hypothesis-style block deletion")
}

/// Hypothesis' `find_integer`: the largest `k` with `f(k)`, assuming `f(0)`, probing 1 to 4
/// linearly, then doubling, then binary search.
fn find_integer(mut f: impl FnMut(usize) -> bool) -> usize {
    for i in 1..5 {
        if !f(i) {
            return i - 1;
        }
    }
    let (mut lo, mut hi) = (4, 5);
    while f(hi) {
        lo = hi;
        hi *= 2;
    }
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if f(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}
