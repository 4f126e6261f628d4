//! Axis strategies: random valid configs and random sequences of transitions under a model's
//! constraints and gates, for the fuzzer and for Rust property tests.
//!
//! Every config this module hands out passes [`shrink::check_config`]: one known value per
//! axis, only values allowed with what was supplied, no constraint broken. A uniformly random
//! sequence rarely finds Pithead's bugs, which live in *sequences* (a flip and its flip back, a
//! profile change followed by an unchanged re-apply, a config seen earlier coming back), so
//! [`Generator::sequence`] draws each next step from a weighted mix of moves ([`Move`]) biased
//! toward those shapes.
//!
//! Randomness comes only from the caller's rng: the fuzzer passes `Seed::rng("fuzz")`-derived
//! rngs, and the proptest strategies ([`transition_sequence`], [`config`]) draw a 64-bit seed
//! from proptest's runner (itself ChaCha when built with
//! `TestRng::from_seed(RngAlgorithm::ChaCha, ..)`) and expand it here. Shrinking of fuzzed
//! sequences is canary's own [`shrink`](crate::shrink) (domain passes proptest lacks), so the
//! proptest strategies do not shrink structurally.
//!
//! The step type is a [`Config`] today; operations (issue #7) will be more step kinds mixed in
//! by another move.

use std::sync::Arc;

use proptest::strategy::{BoxedStrategy, Strategy};
use rand::Rng;
use rand::RngCore;

use crate::model::{Config, Model, Supplied};
use crate::rng::Seed;
use crate::shrink::check_config;

/// One way of choosing the next config of a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Move {
    /// Change one axis to another allowed value.
    OneAxis,
    /// Go back to the config before the current one (flip back and forth).
    FlipBack,
    /// Change two to four axes at once.
    SeveralAxes,
    /// Return to a config seen earlier in the sequence.
    Revisit,
    /// Start a run of three to eight steps that all change the same axis.
    LongRun,
    /// Re-apply the current config unchanged (what shows a failed apply not retried).
    Same,
    /// A fresh random config.
    Fresh,
}

impl Move {
    /// The moves with their weights (out of 100).
    pub const WEIGHTS: [(Move, u32); 7] = [
        (Move::OneAxis, 32),
        (Move::FlipBack, 16),
        (Move::SeveralAxes, 18),
        (Move::Revisit, 10),
        (Move::LongRun, 8),
        (Move::Same, 6),
        (Move::Fresh, 10),
    ];

    fn pick(rng: &mut impl Rng) -> Move {
        let total: u32 = Move::WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut x = rng.random_range(0..total);
        for (m, w) in Move::WEIGHTS {
            if x < w {
                return m;
            }
            x -= w;
        }
        Move::OneAxis
    }
}

/// A model with no value an axis may take under what was supplied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "axis '{0}' has no value allowed with the supplied prerequisites; supply the prerequisites of its gated values"
)]
pub struct NoValue(pub String);

/// Draws random valid configs and transition sequences for one model and supplied
/// prerequisites.
#[derive(Debug, Clone)]
pub struct Generator<'m> {
    model: &'m Model,
    supplied: &'m Supplied,
    /// Allowed value indices per axis (gates applied).
    allowed: Vec<Vec<u16>>,
}

/// How many proposals a move gets before the sequence re-applies the current config instead.
const TRIES: usize = 24;

impl<'m> Generator<'m> {
    /// A generator; fails when some axis has no allowed value.
    pub fn new(model: &'m Model, supplied: &'m Supplied) -> Result<Generator<'m>, NoValue> {
        let allowed: Vec<Vec<u16>> = model
            .axes
            .iter()
            .enumerate()
            .map(|(a, axis)| {
                (0..axis.values.len() as u16)
                    .filter(|&v| model.value_allowed(a, v, supplied))
                    .collect::<Vec<u16>>()
            })
            .collect();
        if let Some(a) = allowed.iter().position(Vec::is_empty) {
            return Err(NoValue(model.axes[a].name.clone()));
        }
        Ok(Generator {
            model,
            supplied,
            allowed,
        })
    }

    /// Whether `c` is valid under the model's constraints and gates.
    pub fn valid(&self, c: &Config) -> bool {
        check_config(self.model, self.supplied, c).is_ok()
    }

    /// A random valid config, or `fallback` when a few dozen draws all break a constraint.
    pub fn random_config(&self, rng: &mut impl Rng, fallback: &Config) -> Config {
        for _ in 0..TRIES {
            let c = Config(
                self.allowed
                    .iter()
                    .map(|vs| vs[rng.random_range(0..vs.len())])
                    .collect(),
            );
            if self.valid(&c) {
                return c;
            }
        }
        fallback.clone()
    }

    /// `current` with axis `a` set to another allowed value, if it has one.
    fn change_axis(&self, rng: &mut impl Rng, current: &Config, a: usize) -> Option<Config> {
        let others: Vec<u16> = self.allowed[a]
            .iter()
            .copied()
            .filter(|&v| v != current.0[a])
            .collect();
        if others.is_empty() {
            return None;
        }
        let mut c = current.clone();
        c.0[a] = others[rng.random_range(0..others.len())];
        Some(c)
    }

    /// Axes that have more than one allowed value.
    fn movable(&self) -> Vec<usize> {
        (0..self.allowed.len())
            .filter(|&a| self.allowed[a].len() > 1)
            .collect()
    }

    /// A random valid sequence of `len` configs applied one after the other from `start`.
    pub fn sequence(&self, rng: &mut impl Rng, start: &Config, len: usize) -> Vec<Config> {
        let movable = self.movable();
        let mut out: Vec<Config> = Vec::with_capacity(len);
        // A long run in progress: the axis and the steps it has left.
        let mut run: Option<(usize, usize)> = None;
        while out.len() < len {
            let current = out.last().unwrap_or(start).clone();
            if movable.is_empty() {
                out.push(current);
                continue;
            }
            let mut next = None;
            for _ in 0..TRIES {
                let cand = match run {
                    Some((a, _)) => self.change_axis(rng, &current, a),
                    None => match Move::pick(rng) {
                        Move::OneAxis => {
                            let a = movable[rng.random_range(0..movable.len())];
                            self.change_axis(rng, &current, a)
                        }
                        Move::FlipBack => {
                            let prev = if out.len() >= 2 {
                                Some(&out[out.len() - 2])
                            } else if out.len() == 1 {
                                Some(start)
                            } else {
                                None
                            };
                            prev.cloned()
                        }
                        Move::SeveralAxes => {
                            let n = rng.random_range(2..=4).min(movable.len());
                            let mut c = current.clone();
                            for _ in 0..n {
                                let a = movable[rng.random_range(0..movable.len())];
                                if let Some(d) = self.change_axis(rng, &c, a) {
                                    c = d;
                                }
                            }
                            Some(c)
                        }
                        Move::Revisit => {
                            let seen = out.len() + 1;
                            let i = rng.random_range(0..seen);
                            Some(if i == 0 { start } else { &out[i - 1] }.clone())
                        }
                        Move::LongRun => {
                            let a = movable[rng.random_range(0..movable.len())];
                            run = Some((a, rng.random_range(3..=8)));
                            self.change_axis(rng, &current, a)
                        }
                        Move::Same => Some(current.clone()),
                        Move::Fresh => Some(self.random_config(rng, &current)),
                    },
                };
                if let Some(c) = cand.filter(|c| self.valid(c)) {
                    next = Some(c);
                    break;
                }
                // A long run whose axis cannot move from here ends.
                run = None;
            }
            run = match run {
                Some((a, left)) if left > 1 => Some((a, left - 1)),
                _ => None,
            };
            out.push(next.unwrap_or(current));
        }
        out
    }
}

/// A random valid sequence of `len` configs from the model's default config, drawn from
/// `seed` (`Seed::rng("fuzz.case")`). Panics never; a model whose axes have no allowed value
/// gives an error.
pub fn sequence_from_seed(
    model: &Model,
    supplied: &Supplied,
    seed: &Seed,
    len: usize,
) -> Result<Vec<Config>, NoValue> {
    let g = Generator::new(model, supplied)?;
    let mut rng = seed.rng("fuzz.case");
    Ok(g.sequence(&mut rng, &model.default_config(), len))
}

/// The seed of case `index` of a fuzz run with `run_seed`: every case reproduces alone.
pub fn case_seed(run_seed: &Seed, index: u64) -> Seed {
    let mut rng = run_seed.rng(&format!("fuzz.case.{index}"));
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    Seed(bytes)
}

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
/// biased like the fuzzer's ([`Move`]). Every config is valid under the model.
pub fn transition_sequence(
    model: &Model,
    supplied: &Supplied,
    len: usize,
) -> Result<BoxedStrategy<Vec<Config>>, NoValue> {
    Generator::new(model, supplied)?;
    let (m, s) = (Arc::new(model.clone()), Arc::new(supplied.clone()));
    Ok(proptest::num::u64::ANY
        .prop_map(move |n| {
            sequence_from_seed(&m, &s, &Seed::from_u64(n), len)
                .expect("checked when the strategy was built")
        })
        .boxed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    fn pithead() -> Model {
        model::load_str(model::BUILTIN_PITHEAD, std::path::Path::new("p.toml")).unwrap()
    }

    #[test]
    fn sequences_are_valid_and_repeat_from_their_seed() {
        let m = pithead();
        let s = Supplied::default();
        for i in 0..50 {
            let a = sequence_from_seed(&m, &s, &Seed::from_u64(i), 40).unwrap();
            let b = sequence_from_seed(&m, &s, &Seed::from_u64(i), 40).unwrap();
            assert_eq!(a, b);
            assert_eq!(a.len(), 40);
            assert!(crate::shrink::validate(&m, &s, &a).is_ok());
        }
    }

    #[test]
    fn sequences_have_the_biased_shapes() {
        let m = pithead();
        let s = Supplied::default();
        let (mut flip_backs, mut multi, mut same) = (0, 0, 0);
        for i in 0..100 {
            let seq = sequence_from_seed(&m, &s, &Seed::from_u64(i), 30).unwrap();
            for w in seq.windows(3) {
                if w[0] == w[2] && w[0] != w[1] {
                    flip_backs += 1;
                }
            }
            for w in seq.windows(2) {
                let changed = (0..m.axes.len())
                    .filter(|&a| w[0].0[a] != w[1].0[a])
                    .count();
                if changed >= 2 {
                    multi += 1;
                }
                if changed == 0 {
                    same += 1;
                }
            }
        }
        assert!(flip_backs > 100, "{flip_backs} flip-backs");
        assert!(multi > 100, "{multi} multi-axis steps");
        assert!(same > 20, "{same} unchanged re-applies");
    }
}
