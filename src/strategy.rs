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
//! rngs, and the proptest strategies ([`transition_sequence`], [`mixed_sequence`], [`config`],
//! in [`props`]) draw a 64-bit seed from proptest's runner (itself ChaCha when built with
//! `TestRng::from_seed(RngAlgorithm::ChaCha, ..)`) and expand it here; proptest then shrinks
//! the sequence itself (steps removed while it stays valid), not the seed. Fuzzed sequences
//! are shrunk by canary's own [`shrink`](crate::shrink), which has domain passes proptest
//! lacks.
//!
//! Operations of the model (issue #7) are mixed in when their groups are enabled
//! ([`Generator::with_operations`]), biased toward what finds bugs: an operation right after an
//! apply that changed the config, a restart of what that apply touched, and a backup → change →
//! restore pattern. With no group enabled the generator draws exactly the sequences it drew
//! before operations existed, so saved seeds keep their sequences.

use rand::Rng;
use rand::RngCore;

use crate::model::{Config, Model, OpGroup, OpKind, Supplied, Transition};

pub mod props;
use crate::rng::Seed;
use crate::shrink::check_config;
pub use props::{config, mixed_sequence, transition_sequence};

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
    /// The model's operations sequences may perform (those of the enabled groups).
    operations: Vec<usize>,
}

/// How many proposals a move gets before the sequence re-applies the current config instead.
const TRIES: usize = 24;

/// Percent of steps that are operations right after an apply that changed the config (where
/// operations find bugs: a restart reusing old args, an outage right after a profile change).
const OPERATION_AFTER_CHANGE: u32 = 35;

/// Percent of other steps that are operations.
const OPERATION_OTHERWISE: u32 = 12;

/// Percent of the operations drawn after an apply that touched containers that are a restart
/// of what it touched (when one is allowed).
const RESTART_WHAT_CHANGED: u32 = 50;

/// What the operation moves remember of the sequence so far.
#[derive(Debug, Default)]
struct OpState {
    /// The config in force at the last backup (what a restore brings back).
    backup: Option<Config>,
    /// Applies left before the restore a backup scheduled (backup → change → restore).
    restore_in: Option<usize>,
    /// Whether the last step was an apply that changed the effective config.
    changed: bool,
    /// Containers the last step's apply created, recreated or restarted.
    touched: Vec<String>,
}

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
            operations: Vec::new(),
        })
    }

    /// The generator with the model's operations of `groups` mixed into its
    /// [`Generator::transitions`] (none by default).
    pub fn with_operations(mut self, groups: &[OpGroup]) -> Generator<'m> {
        self.operations = (0..self.model.operations.len())
            .filter(|&i| groups.contains(&self.model.operations[i].group))
            .collect();
        self
    }

    /// Indices of the operations sequences may perform.
    pub fn operations(&self) -> &[usize] {
        &self.operations
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
        self.walk(rng, start, len, &[])
            .into_iter()
            .map(|t| match t {
                Transition::Apply(c) => c,
                Transition::Operate(_) => unreachable!("no operation was enabled"),
            })
            .collect()
    }

    /// A random valid sequence of `len` steps from `start`: applies, and the enabled
    /// operations mixed in (see the module docs). Valid under
    /// [`shrink::validate_from`](crate::shrink::validate_from) with the enabled groups.
    pub fn transitions(&self, rng: &mut impl Rng, start: &Config, len: usize) -> Vec<Transition> {
        self.walk(rng, start, len, &self.operations)
    }

    /// The sequence loop. With no `operations` it draws from `rng` exactly what the
    /// config-only generator always drew.
    fn walk(
        &self,
        rng: &mut impl Rng,
        start: &Config,
        len: usize,
        operations: &[usize],
    ) -> Vec<Transition> {
        let movable = self.movable();
        let mut out: Vec<Transition> = Vec::with_capacity(len);
        // The raw config in force after each step (a restore brings back the backup's).
        let mut in_force: Vec<Config> = Vec::with_capacity(len);
        // A long run in progress: the axis and the steps it has left.
        let mut run: Option<(usize, usize)> = None;
        let mut ops = OpState::default();
        while out.len() < len {
            let current = in_force.last().unwrap_or(start).clone();
            if !operations.is_empty()
                && let Some(o) = self.pick_operation(rng, operations, &mut ops, &current)
            {
                let op = &self.model.operations[o];
                if op.kind == OpKind::Backup {
                    ops.backup = Some(current.clone());
                }
                let after = match (&ops.backup, op.changes_config()) {
                    (Some(b), true) => b.clone(),
                    _ => current.clone(),
                };
                ops.changed = self.model.effective(&after) != self.model.effective(&current);
                ops.touched.clear();
                out.push(Transition::Operate(o as u16));
                in_force.push(after);
                continue;
            }
            if movable.is_empty() {
                out.push(Transition::Apply(current.clone()));
                in_force.push(current);
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
                            let prev = if in_force.len() >= 2 {
                                Some(&in_force[in_force.len() - 2])
                            } else if in_force.len() == 1 {
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
                            let seen = in_force.len() + 1;
                            let i = rng.random_range(0..seen);
                            Some(if i == 0 { start } else { &in_force[i - 1] }.clone())
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
            let next = next.unwrap_or(current.clone());
            if !operations.is_empty() {
                self.note_apply(&mut ops, &current, &next);
            }
            out.push(Transition::Apply(next.clone()));
            in_force.push(next);
        }
        out
    }

    /// Remembers what an apply from `current` to `next` did, for the operation moves.
    fn note_apply(&self, ops: &mut OpState, current: &Config, next: &Config) {
        let (a, b) = (self.model.effective(current), self.model.effective(next));
        ops.changed = a != b;
        ops.touched.clear();
        if ops.changed {
            let p = self.model.predict(&a, &b, self.supplied);
            ops.touched.extend(p.created);
            ops.touched.extend(p.recreated);
            ops.touched.extend(p.restarted);
        }
        if let Some(k) = ops.restore_in.as_mut() {
            *k = k.saturating_sub(1);
        }
    }

    /// Whether `o` may run now: its group enabled (the caller's list), allowed on the
    /// effective config in force, a restore only after a backup.
    fn operation_allowed(&self, o: usize, ops: &OpState, effective: &Config) -> bool {
        let op = &self.model.operations[o];
        op.allowed_on(&effective.0) && (!op.needs_backup() || ops.backup.is_some())
    }

    /// The operation of the next step, or `None` for an apply: a restore a backup scheduled,
    /// else an operation drawn with [`OPERATION_AFTER_CHANGE`] or [`OPERATION_OTHERWISE`]
    /// percent, a restart of what the last apply touched first.
    fn pick_operation(
        &self,
        rng: &mut impl Rng,
        operations: &[usize],
        ops: &mut OpState,
        current: &Config,
    ) -> Option<usize> {
        let effective = self.model.effective(current);
        let allowed: Vec<usize> = operations
            .iter()
            .copied()
            .filter(|&o| self.operation_allowed(o, ops, &effective))
            .collect();
        if ops.restore_in == Some(0) {
            ops.restore_in = None;
            let restores: Vec<usize> = allowed
                .iter()
                .copied()
                .filter(|&o| self.model.operations[o].changes_config())
                .collect();
            if !restores.is_empty() {
                return Some(restores[rng.random_range(0..restores.len())]);
            }
        }
        let percent = if ops.changed {
            OPERATION_AFTER_CHANGE
        } else {
            OPERATION_OTHERWISE
        };
        if allowed.is_empty() || rng.random_range(0..100) >= percent {
            return None;
        }
        let restarts: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|&o| {
                let op = &self.model.operations[o];
                op.kind == OpKind::Restart
                    && op.service.as_ref().is_none_or(|s| ops.touched.contains(s))
            })
            .collect();
        let o = if !ops.touched.is_empty()
            && !restarts.is_empty()
            && rng.random_range(0..100) < RESTART_WHAT_CHANGED
        {
            restarts[rng.random_range(0..restarts.len())]
        } else {
            allowed[rng.random_range(0..allowed.len())]
        };
        if self.model.operations[o].kind == OpKind::Backup
            && operations
                .iter()
                .any(|&r| self.model.operations[r].changes_config())
        {
            ops.restore_in = Some(rng.random_range(1..=3));
        }
        Some(o)
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

/// A random valid sequence of `len` steps from the model's default config with the operations
/// of `groups` mixed in, drawn from `seed` (`Seed::rng("fuzz.case")`, as the fuzzer draws
/// case `i` from its case seed). With no groups it is [`sequence_from_seed`]'s, as applies.
pub fn transitions_from_seed(
    model: &Model,
    supplied: &Supplied,
    groups: &[OpGroup],
    seed: &Seed,
    len: usize,
) -> Result<Vec<Transition>, NoValue> {
    let g = Generator::new(model, supplied)?.with_operations(groups);
    let mut rng = seed.rng("fuzz.case");
    Ok(g.transitions(&mut rng, &model.default_config(), len))
}

/// The seed of case `index` of a fuzz run with `run_seed`: every case reproduces alone.
pub fn case_seed(run_seed: &Seed, index: u64) -> Seed {
    let mut rng = run_seed.rng(&format!("fuzz.case.{index}"));
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    Seed(bytes)
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

    fn all_supplied(m: &Model) -> Supplied {
        Supplied(
            m.prerequisites
                .iter()
                .map(|p| (p.name.clone(), "yes".to_string()))
                .collect(),
        )
    }

    #[test]
    fn with_no_group_the_steps_are_the_config_sequence() {
        let m = pithead();
        let s = all_supplied(&m);
        for i in 0..30 {
            let seed = Seed::from_u64(i);
            let configs = sequence_from_seed(&m, &s, &seed, 25).unwrap();
            let steps = transitions_from_seed(&m, &s, &[], &seed, 25).unwrap();
            assert_eq!(
                steps,
                configs
                    .into_iter()
                    .map(Transition::Apply)
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn operations_mixed_in_are_valid_enabled_and_repeat_from_their_seed() {
        let m = pithead();
        let s = all_supplied(&m);
        let start = m.default_config();
        for groups in [
            vec![OpGroup::Lifecycle],
            vec![OpGroup::Faults],
            OpGroup::ALL.to_vec(),
        ] {
            let mut ops = 0;
            for i in 0..40 {
                let seed = Seed::from_u64(i);
                let a = transitions_from_seed(&m, &s, &groups, &seed, 30).unwrap();
                assert_eq!(
                    a,
                    transitions_from_seed(&m, &s, &groups, &seed, 30).unwrap()
                );
                assert_eq!(a.len(), 30);
                let valid = crate::shrink::validate_from(&m, &s, &groups, &start, &a);
                assert!(valid.is_ok(), "{groups:?} seed {i}: {valid:?}");
                ops += a.iter().filter(|t| t.operation().is_some()).count();
            }
            // About a quarter of the 1200 steps are operations.
            assert!((150..450).contains(&ops), "{groups:?}: {ops} operations");
        }
    }

    #[test]
    fn operations_follow_the_biased_shapes() {
        let m = pithead();
        let s = all_supplied(&m);
        let start = m.default_config();
        let kind = |t: &Transition| t.operation().map(|o| m.operations[o].kind);
        let (mut after_change, mut changes, mut after_other, mut others) = (0, 0, 0, 0);
        let (mut restarts_after_touch, mut backup_change_restore) = (0, 0);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            let seq = transitions_from_seed(&m, &s, &OpGroup::ALL, &Seed::from_u64(i), 30).unwrap();
            let in_force = crate::shrink::configs_in_force(&m, &start, &seq);
            for (j, t) in seq.iter().enumerate() {
                seen.extend(t.operation());
                if j == 0 {
                    continue;
                }
                let (before, after) = (m.effective(in_force[j - 1]), m.effective(in_force[j]));
                let op = t.operation().is_some();
                if seq[j - 1].config().is_some() && before != after {
                    changes += 1;
                    after_change += usize::from(op);
                    let p = m.predict(&before, &after, &s);
                    if kind(t) == Some(OpKind::Restart)
                        && !(p.recreated.is_empty()
                            && p.restarted.is_empty()
                            && p.created.is_empty())
                    {
                        restarts_after_touch += 1;
                    }
                } else {
                    others += 1;
                    after_other += usize::from(op);
                }
            }
            // backup, then at least one apply changing the config, then a restore.
            for (b, _) in seq
                .iter()
                .enumerate()
                .filter(|(_, t)| kind(t) == Some(OpKind::Backup))
            {
                let rest = &seq[b + 1..];
                if let Some(r) = rest.iter().position(|t| kind(t) == Some(OpKind::Restore))
                    && m.effective(in_force[b + 1]) != m.effective(in_force[b + 1 + r])
                {
                    backup_change_restore += 1;
                }
            }
        }
        let rate = |n: usize, d: usize| n as f64 / d.max(1) as f64;
        assert!(
            rate(after_change, changes) > 2.0 * rate(after_other, others),
            "operations after a change {after_change}/{changes}, otherwise {after_other}/{others}"
        );
        assert!(
            restarts_after_touch > 400,
            "{restarts_after_touch} restarts after a touching apply"
        );
        assert!(
            backup_change_restore > 50,
            "{backup_change_restore} backup-change-restore"
        );
        assert_eq!(seen.len(), m.operations.len(), "operations drawn: {seen:?}");
    }
}
