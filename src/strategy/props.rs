//! The axis strategies as proptest strategies, for Rust property tests over a model.
//!
//! A sequence is drawn like the fuzzer draws one (a 64-bit seed from proptest's runner,
//! expanded by [`Generator`]), but what proptest shrinks is the sequence: a failing case loses
//! one step at a time while the rest stays valid under the model (a restore keeps its backup),
//! so the minimal input proptest reports is a short walk, not a smaller seed that draws an
//! unrelated one.

use std::fmt;
use std::sync::Arc;

use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::{Generator, NoValue, sequence_from_seed, transitions_from_seed};
use crate::model::{Config, Model, OpGroup, Supplied, Transition};
use crate::rng::Seed;
use crate::shrink::validate_from;

/// A proptest strategy for valid configs of `model` under `supplied`.
///
/// ```
/// use canary::model::{self, Supplied};
/// use proptest::prelude::*;
/// let m = model::load_str(model::BUILTIN_PITHEAD, std::path::Path::new("p.toml")).unwrap();
/// let s = Supplied::default();
/// let strat = canary::strategy::config(&m, &s).unwrap();
/// proptest!(|(c in strat)| {
///     prop_assert!(canary::shrink::check_config(&m, &s, &c).is_ok());
/// });
/// ```
pub fn config(model: &Model, supplied: &Supplied) -> Result<BoxedStrategy<Config>, NoValue> {
    Generator::new(model, supplied)?;
    let (m, s) = (Arc::new(model.clone()), Arc::new(supplied.clone()));
    Ok(proptest::num::u64::ANY
        .prop_map(move |n| {
            let g = Generator::new(&m, &s).expect("checked when the strategy was built");
            g.random_config(
                &mut Seed::from_u64(n).rng("strategy.config"),
                &m.default_config(),
            )
        })
        .boxed())
}

/// A proptest strategy for sequences of `len` transitions from the model's default config,
/// biased like the fuzzer's. Every config is valid under the model; a failing sequence shrinks
/// by dropping configs.
pub fn transition_sequence(
    model: &Model,
    supplied: &Supplied,
    len: usize,
) -> Result<BoxedStrategy<Vec<Config>>, NoValue> {
    Generator::new(model, supplied)?;
    let (m, s) = (Arc::new(model.clone()), Arc::new(supplied.clone()));
    let draw = {
        let (m, s) = (m.clone(), s.clone());
        move |n: u64| {
            sequence_from_seed(&m, &s, &Seed::from_u64(n), len)
                .expect("checked when the strategy was built")
        }
    };
    let valid =
        move |steps: &[Config]| validate_from(&m, &s, &[], &m.default_config(), steps).is_ok();
    Ok(Sequences::new(draw, valid).boxed())
}

/// A proptest strategy for sequences of `len` steps from the model's default config mixing
/// applies with the operations of `groups`, biased like the fuzzer's. Every sequence, and
/// every sequence it shrinks to, passes [`validate_from`] with `groups` enabled.
///
/// ```
/// use canary::model::{self, OpGroup, Supplied};
/// use proptest::prelude::*;
/// let m = model::load_str(model::BUILTIN_PITHEAD, std::path::Path::new("p.toml")).unwrap();
/// let s = Supplied::default();
/// let strat = canary::strategy::mixed_sequence(&m, &s, &[OpGroup::Lifecycle], 20).unwrap();
/// proptest!(|(steps in strat)| {
///     let start = m.default_config();
///     let valid = canary::shrink::validate_from(&m, &s, &[OpGroup::Lifecycle], &start, &steps);
///     prop_assert!(valid.is_ok());
/// });
/// ```
pub fn mixed_sequence(
    model: &Model,
    supplied: &Supplied,
    groups: &[OpGroup],
    len: usize,
) -> Result<BoxedStrategy<Vec<Transition>>, NoValue> {
    Generator::new(model, supplied)?;
    let (m, s) = (Arc::new(model.clone()), Arc::new(supplied.clone()));
    let groups: Arc<[OpGroup]> = groups.into();
    let draw = {
        let (m, s, groups) = (m.clone(), s.clone(), groups.clone());
        move |n: u64| {
            transitions_from_seed(&m, &s, &groups, &Seed::from_u64(n), len)
                .expect("checked when the strategy was built")
        }
    };
    let valid = move |steps: &[Transition]| {
        validate_from(&m, &s, &groups, &m.default_config(), steps).is_ok()
    };
    Ok(Sequences::new(draw, valid).boxed())
}

type Draw<T> = Arc<dyn Fn(u64) -> Vec<T> + Send + Sync>;
type Valid<T> = Arc<dyn Fn(&[T]) -> bool + Send + Sync>;

/// Sequences drawn from a seed, shrunk step by step.
struct Sequences<T> {
    draw: Draw<T>,
    valid: Valid<T>,
}

impl<T> Sequences<T> {
    fn new(
        draw: impl Fn(u64) -> Vec<T> + Send + Sync + 'static,
        valid: impl Fn(&[T]) -> bool + Send + Sync + 'static,
    ) -> Sequences<T> {
        Sequences {
            draw: Arc::new(draw),
            valid: Arc::new(valid),
        }
    }
}

impl<T> fmt::Debug for Sequences<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sequences")
    }
}

impl<T: Clone + fmt::Debug> Strategy for Sequences<T> {
    type Tree = SequenceTree<T>;
    type Value = Vec<T>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let seed = proptest::num::u64::ANY.new_tree(runner)?.current();
        Ok(SequenceTree {
            current: (self.draw)(seed),
            valid: self.valid.clone(),
            next: 0,
            removed: None,
        })
    }
}

/// One drawn sequence being shrunk: `simplify` drops the step at `next` (skipping drops that
/// would make the sequence invalid); when the test then passes, `complicate` puts that step
/// back, since the failure needs it, and moves on to the next one. A sequence that has been
/// through every position is 1-minimal by deletion: dropping any one step (validly) passes.
pub struct SequenceTree<T> {
    current: Vec<T>,
    valid: Valid<T>,
    /// The position to try dropping next.
    next: usize,
    /// The last step dropped, with its position, until the test says whether it mattered.
    removed: Option<(usize, T)>,
}

impl<T: Clone + fmt::Debug> ValueTree for SequenceTree<T> {
    type Value = Vec<T>;

    fn current(&self) -> Vec<T> {
        self.current.clone()
    }

    fn simplify(&mut self) -> bool {
        self.removed = None;
        while self.next < self.current.len() {
            let mut candidate = self.current.clone();
            let step = candidate.remove(self.next);
            if (self.valid)(&candidate) {
                self.current = candidate;
                self.removed = Some((self.next, step));
                return true;
            }
            self.next += 1;
        }
        false
    }

    fn complicate(&mut self) -> bool {
        match self.removed.take() {
            Some((at, step)) => {
                self.current.insert(at, step);
                self.next = at + 1;
                true
            }
            None => false,
        }
    }
}

impl<T> fmt::Debug for SequenceTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SequenceTree {{ steps: {}, next: {} }}",
            self.current.len(),
            self.next
        )
    }
}
