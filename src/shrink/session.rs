//! Running candidates: the apply accounting, the budgets and the outcome cache shared by
//! canary's shrinker and the reference shrinkers, so they are measured the same way.

use std::collections::HashMap;
use std::time::Instant;

use super::{Oracle, Outcome, Settled, Step};

/// How much a session remembers of the runs it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheMode {
    /// Nothing: every candidate runs (proptest keeps no cache).
    Off,
    /// Exact sequences already run.
    Exact,
    /// Exact sequences, and prefixes: a run is deterministic and stops at its first failure,
    /// so a candidate sharing a known failure's steps up to the failing one fails the same way,
    /// and a candidate that is a prefix of what a known run executed without failing passes.
    Prefix,
}

/// Outcomes of the runs made so far.
struct Cache<S> {
    mode: CacheMode,
    exact: HashMap<Vec<S>, Outcome>,
    /// Every run, for the prefix answers.
    runs: Vec<(Vec<S>, Outcome)>,
}

impl<S: Step> Cache<S> {
    fn lookup(&self, cand: &[S]) -> Option<Outcome> {
        if self.mode == CacheMode::Off {
            return None;
        }
        if let Some(o) = self.exact.get(cand) {
            return Some(o.clone());
        }
        if self.mode != CacheMode::Prefix {
            return None;
        }
        for (seq, o) in &self.runs {
            match o {
                Outcome::Fail {
                    signature,
                    failed_at,
                    ..
                } => {
                    let f = *failed_at;
                    if f >= seq.len() {
                        continue;
                    }
                    if cand.len() > f && cand[..=f] == seq[..=f] {
                        return Some(Outcome::Fail {
                            signature: signature.clone(),
                            failed_at: f,
                            applies: f + 1,
                        });
                    }
                    if cand.len() <= f && seq.starts_with(cand) {
                        return Some(Outcome::Pass {
                            applies: cand.len(),
                        });
                    }
                }
                Outcome::Pass { .. } => {
                    if seq.starts_with(cand) {
                        return Some(Outcome::Pass {
                            applies: cand.len(),
                        });
                    }
                }
            }
        }
        None
    }

    fn insert(&mut self, seq: Vec<S>, o: Outcome) {
        if self.mode == CacheMode::Off {
            return;
        }
        if self.mode == CacheMode::Prefix {
            self.runs.push((seq.clone(), o.clone()));
        }
        self.exact.insert(seq, o);
    }
}

/// One shrink's oracle, accounting and budgets.
pub(crate) struct Session<'o, S, O> {
    oracle: &'o mut O,
    cache: Cache<S>,
    /// Applies spent by runs.
    pub applies: usize,
    pub runs: usize,
    /// Candidates settled (run or cached).
    pub candidates: usize,
    pub cache_hits: usize,
    max_applies: Option<usize>,
    deadline: Option<Instant>,
    /// A budget stopped a run; nothing more will run (cached answers still come).
    pub exhausted: bool,
}

impl<'o, S: Step, O: Oracle<S>> Session<'o, S, O> {
    pub fn new(
        oracle: &'o mut O,
        mode: CacheMode,
        max_applies: Option<usize>,
        deadline: Option<Instant>,
    ) -> Self {
        Session {
            oracle,
            cache: Cache {
                mode,
                exact: HashMap::new(),
                runs: Vec::new(),
            },
            applies: 0,
            runs: 0,
            candidates: 0,
            cache_hits: 0,
            max_applies,
            deadline,
            exhausted: false,
        }
    }

    /// The oracle's baseline.
    pub fn baseline(&self) -> &crate::model::Config {
        self.oracle.baseline()
    }

    /// Records an outcome known without running (the failure handed to the shrinker).
    pub fn remember(&mut self, seq: Vec<S>, o: Outcome) {
        self.cache.insert(seq, o);
    }

    /// Settles a candidate: from the cache when it can, else by running it if the budgets
    /// allow. A candidate may cost up to its length, so it runs only if that fits.
    pub fn test(&mut self, cand: &[S]) -> Settled {
        if let Some(o) = self.cache.lookup(cand) {
            self.candidates += 1;
            self.cache_hits += 1;
            return Settled::Cached(o);
        }
        let over_applies = self
            .max_applies
            .is_some_and(|max| self.applies + cand.len() > max);
        let over_time = self.deadline.is_some_and(|d| Instant::now() >= d);
        if self.exhausted || over_applies || over_time {
            self.exhausted = true;
            return Settled::OverBudget;
        }
        self.candidates += 1;
        let o = self.oracle.run(cand);
        self.runs += 1;
        self.applies += o.applies();
        self.cache.insert(cand.to_vec(), o.clone());
        Settled::Ran(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;
    use crate::shrink::Signature;

    /// Fails at the first step holding a 1; counts its runs.
    struct Ones(Config, usize);

    impl Oracle for Ones {
        fn baseline(&self) -> &Config {
            &self.0
        }
        fn run(&mut self, steps: &[Config]) -> Outcome {
            self.1 += 1;
            match steps.iter().position(|c| c.0[0] == 1) {
                Some(i) => Outcome::Fail {
                    signature: Signature::new("c", "k"),
                    failed_at: i,
                    applies: i + 1,
                },
                None => Outcome::Pass {
                    applies: steps.len(),
                },
            }
        }
    }

    fn c(v: u16) -> Config {
        Config(vec![v])
    }

    #[test]
    fn prefixes_of_known_runs_are_answered_without_running() {
        let mut o = Ones(c(0), 0);
        let mut s = Session::new(&mut o, CacheMode::Prefix, None, None);
        assert!(matches!(s.test(&[c(0), c(1), c(0)]), Settled::Ran(_)));
        // Same steps up to the failing one: the same failure, free.
        match s.test(&[c(0), c(1), c(2), c(2)]) {
            Settled::Cached(o) => assert_eq!(o.fails_with(&Signature::new("c", "k")), Some(1)),
            other => panic!("{other:?}"),
        }
        // A prefix that stops before the failing step passes, free.
        assert_eq!(
            s.test(&[c(0)]),
            Settled::Cached(Outcome::Pass { applies: 1 })
        );
        // Something new runs.
        assert!(matches!(s.test(&[c(2), c(1)]), Settled::Ran(_)));
        assert_eq!((s.runs, s.cache_hits, s.applies), (2, 2, 4));
        drop(s);
        assert_eq!(o.1, 2);
    }

    #[test]
    fn exact_and_off_modes_answer_less() {
        let mut o = Ones(c(0), 0);
        let mut s = Session::new(&mut o, CacheMode::Exact, None, None);
        s.test(&[c(0), c(1)]);
        assert!(matches!(s.test(&[c(0), c(1)]), Settled::Cached(_)));
        assert!(matches!(s.test(&[c(0), c(1), c(0)]), Settled::Ran(_)));
        let mut o = Ones(c(0), 0);
        let mut s = Session::new(&mut o, CacheMode::Off, None, None);
        s.test(&[c(1)]);
        assert!(matches!(s.test(&[c(1)]), Settled::Ran(_)));
    }

    #[test]
    fn a_candidate_that_could_exceed_the_budget_does_not_run() {
        let mut o = Ones(c(0), 0);
        let mut s = Session::new(&mut o, CacheMode::Prefix, Some(3), None);
        assert!(matches!(s.test(&[c(0), c(1)]), Settled::Ran(_)));
        assert_eq!(s.test(&[c(0), c(0), c(1)]), Settled::OverBudget);
        assert!(s.exhausted);
        // Cached answers are still free.
        assert!(matches!(s.test(&[c(0), c(1)]), Settled::Cached(_)));
        assert_eq!(s.applies, 2);
    }
}
