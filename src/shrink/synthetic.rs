//! A deterministic synthetic oracle for the shrinker's tests and benchmark: the outcome is a
//! pure function of the sequence, given by rules that model the sequence-dependent failures
//! real boxes show (a transition that breaks only after another one, the n-th change of an
//! axis, a state reached, an apply that changes too much at once, an operation that breaks
//! after a change or when it changes the config itself). Not used against a box.
//!
//! Sequences are of any [`Step`]: config applies only ([`Config`]), or applies mixed with the
//! model's operations ([`crate::model::Transition`]). A step moves the box from the config in
//! force before it to the one after ([`configs_in_force`]: a restore brings back the backup's).
//!
//! The oracle also watches the shrinker: it records every sequence it runs and every invalid
//! config it was handed, so tests can assert that no candidate ran twice and none broke the
//! model.

use std::collections::{HashSet, VecDeque};

use rand::Rng;

use super::{Failure, Oracle, Outcome, Signature, Step, check_config, configs_in_force};
use crate::model::{BUILTIN_PITHEAD, Config, Model, OpGroup, OpKind, Supplied, load_str};
use crate::rng::Seed;

/// One axis changing from one value to another in a single step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    pub axis: usize,
    pub from: u16,
    pub to: u16,
}

impl Transition {
    fn occurs(&self, prev: &Config, cur: &Config) -> bool {
        prev.0[self.axis] == self.from && cur.0[self.axis] == self.to
    }
}

/// A way a sequence fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Fails at the step completing these transitions in order, each in a later step than the
    /// one before ("fails at the first step where A changes x→y, if earlier some step changed
    /// B u→v").
    Transitions(Vec<Transition>),
    /// Fails at the `n`-th step that changes `axis`.
    NthChange { axis: usize, n: usize },
    /// Fails at the first step whose config has all these values.
    Reaches(Vec<(usize, u16)>),
    /// Fails at a step that changes at least `changes` axes at once (an apply timing out).
    Wide { changes: usize },
    /// Fails at the first step performing `operation` (an index into the model's operations)
    /// once these transitions have happened in order, each in a later step than the one before
    /// ("a restart after an apply that changed the pool"; none: the operation always fails).
    OperationAfter {
        operation: usize,
        after: Vec<Transition>,
    },
    /// Fails at a step performing `operation` that changes `axis` of the config in force (a
    /// restore bringing back another mode).
    OperationChanges { operation: usize, axis: usize },
}

impl Rule {
    /// Advances the rule's progress over one step from `prev` to `cur` (the configs in force
    /// before and after it), performing `operation` if it is one; `None` when the rule fires on
    /// it.
    fn advance(
        &self,
        progress: usize,
        prev: &Config,
        cur: &Config,
        operation: Option<usize>,
    ) -> Option<usize> {
        match self {
            Rule::Transitions(ts) if ts.is_empty() => Some(progress),
            Rule::Transitions(ts) => {
                if ts[progress].occurs(prev, cur) {
                    (progress + 1 < ts.len()).then_some(progress + 1)
                } else {
                    Some(progress)
                }
            }
            Rule::NthChange { axis, n } => {
                if prev.0[*axis] != cur.0[*axis] {
                    (progress + 1 < *n).then_some(progress + 1)
                } else {
                    Some(progress)
                }
            }
            Rule::Reaches(vals) => {
                if vals.iter().all(|&(a, v)| cur.0[a] == v) {
                    None
                } else {
                    Some(progress)
                }
            }
            Rule::Wide { changes } => {
                let n = prev.0.iter().zip(&cur.0).filter(|(a, b)| a != b).count();
                (n < *changes).then_some(progress)
            }
            Rule::OperationAfter {
                operation: o,
                after,
            } => {
                if operation == Some(*o) && progress == after.len() {
                    None
                } else if progress < after.len() && after[progress].occurs(prev, cur) {
                    Some(progress + 1)
                } else {
                    Some(progress)
                }
            }
            Rule::OperationChanges { operation: o, axis } => {
                if operation == Some(*o) && prev.0[*axis] != cur.0[*axis] {
                    None
                } else {
                    Some(progress)
                }
            }
        }
    }

    /// The operation the rule needs, if any.
    fn operation(&self) -> Option<usize> {
        match self {
            Rule::OperationAfter { operation, .. } | Rule::OperationChanges { operation, .. } => {
                Some(*operation)
            }
            _ => None,
        }
    }

    /// The axes the rule reads (`None` for a rule that reads them all).
    fn axes(&self) -> Option<Vec<usize>> {
        let mut axes: Vec<usize> = match self {
            Rule::Transitions(ts) => ts.iter().map(|t| t.axis).collect(),
            Rule::NthChange { axis, .. } => vec![*axis],
            Rule::Reaches(vals) => vals.iter().map(|&(a, _)| a).collect(),
            Rule::Wide { .. } => return None,
            Rule::OperationAfter { after, .. } => after.iter().map(|t| t.axis).collect(),
            Rule::OperationChanges { axis, .. } => vec![*axis],
        };
        axes.sort_unstable();
        axes.dedup();
        Some(axes)
    }

    /// The fewest steps from `baseline` that make the rule fire, by breadth-first search over
    /// the values of the axes it reads (the other axes stay at the baseline, which must then
    /// be valid) and, for a rule that needs an operation, over the model's operations too (each
    /// where it is allowed, a restore only after a backup). `None` for [`Rule::Wide`] or when no
    /// valid sequence fires it.
    pub fn minimal_length(
        &self,
        model: &Model,
        supplied: &Supplied,
        baseline: &Config,
    ) -> Option<usize> {
        let axes = self.axes()?;
        // Every valid assignment of the rule's axes, as whole configs.
        let mut configs = vec![baseline.clone()];
        for &a in &axes {
            configs = configs
                .into_iter()
                .flat_map(|c| {
                    (0..model.axes[a].values.len() as u16).map(move |v| {
                        let mut c = c.clone();
                        c.0[a] = v;
                        c
                    })
                })
                .collect();
        }
        configs.retain(|c| check_config(model, supplied, c).is_ok());
        let operations: Vec<usize> = match self.operation() {
            Some(_) => (0..model.operations.len()).collect(),
            None => Vec::new(),
        };
        // A state: the config in force, the config at the last backup, the rule's progress.
        type State = (Config, Option<Config>, usize);
        let mut seen: HashSet<State> = HashSet::new();
        let start: State = (baseline.clone(), None, 0);
        seen.insert(start.clone());
        let mut queue = VecDeque::from([(start, 0usize)]);
        while let Some(((prev, backup, progress), depth)) = queue.pop_front() {
            let mut next: Vec<(Config, Option<Config>, Option<usize>)> = configs
                .iter()
                .map(|c| (c.clone(), backup.clone(), None))
                .collect();
            for &o in &operations {
                let op = &model.operations[o];
                if !op.allowed_on(&model.effective(&prev).0)
                    || (op.needs_backup() && backup.is_none())
                {
                    continue;
                }
                let b = if op.kind == OpKind::Backup {
                    Some(prev.clone())
                } else {
                    backup.clone()
                };
                let cur = match (&b, op.changes_config()) {
                    (Some(b), true) => b.clone(),
                    _ => prev.clone(),
                };
                next.push((cur, b, Some(o)));
            }
            for (cur, b, o) in next {
                match self.advance(progress, &prev, &cur, o) {
                    None => return Some(depth + 1),
                    Some(p) => {
                        let state = (cur, b, p);
                        if seen.insert(state.clone()) {
                            queue.push_back((state, depth + 1));
                        }
                    }
                }
            }
        }
        None
    }
}

/// A rule with the signature it fails with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub signature: Signature,
    pub rule: Rule,
}

/// The synthetic oracle: rules checked after every step, the first rule (in list order) that
/// fires at the earliest step decides the failure.
#[derive(Debug, Clone)]
pub struct SyntheticOracle<S = Config> {
    pub model: Model,
    pub supplied: Supplied,
    pub baseline: Config,
    pub faults: Vec<Fault>,
    /// Every sequence run, in order.
    pub log: Vec<Vec<S>>,
    /// Every invalid sequence it was handed: `(run index, step, reason)` of its first invalid
    /// step.
    pub invalid: Vec<(usize, usize, String)>,
}

impl<S: Step> SyntheticOracle<S> {
    /// An oracle over `faults`, starting every run from `baseline`.
    pub fn new(model: Model, supplied: Supplied, baseline: Config, faults: Vec<Fault>) -> Self {
        SyntheticOracle {
            model,
            supplied,
            baseline,
            faults,
            log: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// The outcome of a sequence, without recording it.
    pub fn evaluate(&self, steps: &[S]) -> Outcome {
        let mut progress = vec![0usize; self.faults.len()];
        let in_force = configs_in_force(&self.model, &self.baseline, steps);
        for (i, step) in steps.iter().enumerate() {
            let (prev, cur) = (in_force[i], in_force[i + 1]);
            for (f, fault) in self.faults.iter().enumerate() {
                match fault.rule.advance(progress[f], prev, cur, step.operation()) {
                    Some(p) => progress[f] = p,
                    None => {
                        return Outcome::Fail {
                            signature: fault.signature.clone(),
                            failed_at: i,
                            applies: i + 1,
                        };
                    }
                }
            }
        }
        Outcome::Pass {
            applies: steps.len(),
        }
    }

    /// Whether some sequence was run more than once.
    pub fn ran_twice(&self) -> Option<&Vec<S>> {
        let mut seen = HashSet::new();
        self.log.iter().find(|s| !seen.insert(*s))
    }
}

impl<S: Step> Oracle<S> for SyntheticOracle<S> {
    fn baseline(&self) -> &Config {
        &self.baseline
    }

    fn run(&mut self, steps: &[S]) -> Outcome {
        let run = self.log.len();
        if let Err(e) = super::validate_from(
            &self.model,
            &self.supplied,
            &OpGroup::ALL,
            &self.baseline,
            steps,
        ) {
            self.invalid.push((run, e.step, e.reason));
        }
        self.log.push(steps.to_vec());
        self.evaluate(steps)
    }
}

/// A uniformly random valid config: values drawn per axis among the allowed ones, redrawn
/// while a constraint breaks. `None` when an axis has no allowed value or 1000 draws all broke
/// a constraint.
pub fn random_config(model: &Model, supplied: &Supplied, rng: &mut impl Rng) -> Option<Config> {
    let allowed: Vec<Vec<u16>> = (0..model.axes.len())
        .map(|a| {
            (0..model.axes[a].values.len() as u16)
                .filter(|&v| model.value_allowed(a, v, supplied))
                .collect()
        })
        .collect();
    if allowed.iter().any(Vec::is_empty) {
        return None;
    }
    (0..1000).find_map(|_| {
        let c = Config(
            allowed
                .iter()
                .map(|vs| vs[rng.random_range(0..vs.len())])
                .collect(),
        );
        model.violation(&c.0).is_none().then_some(c)
    })
}

/// A random walk of `len` valid configs that passes on `oracle` until its last step, which
/// fails with the signature of `oracle.faults[target]`. Each step is a random valid config,
/// redrawn while it would fail early. `None` when no such walk turned up in a bounded number of
/// attempts.
pub fn random_failing_walk(
    oracle: &SyntheticOracle,
    target: usize,
    len: usize,
    rng: &mut impl Rng,
) -> Option<Vec<Config>> {
    let (model, supplied) = (&oracle.model, &oracle.supplied);
    let want = &oracle.faults.get(target)?.signature;
    'attempt: for _ in 0..100 {
        let mut walk = Vec::with_capacity(len);
        while walk.len() + 1 < len {
            let mut placed = false;
            for _ in 0..200 {
                walk.push(random_config(model, supplied, rng)?);
                if matches!(oracle.evaluate(&walk), Outcome::Pass { .. }) {
                    placed = true;
                    break;
                }
                walk.pop();
            }
            if !placed {
                continue 'attempt;
            }
        }
        for _ in 0..500 {
            walk.push(random_config(model, supplied, rng)?);
            if oracle.evaluate(&walk).fails_with(want) == Some(len - 1) {
                return Some(walk);
            }
            walk.pop();
        }
    }
    None
}

/// A transition of `axis` from `from` to a random other value allowed with what was supplied
/// (`None` when there is none).
pub fn random_transition(
    model: &Model,
    supplied: &Supplied,
    axis: usize,
    from: u16,
    rng: &mut impl Rng,
) -> Option<Transition> {
    let others: Vec<u16> = (0..model.axes.get(axis)?.values.len() as u16)
        .filter(|&v| v != from && model.value_allowed(axis, v, supplied))
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(Transition {
        axis,
        from,
        to: others[rng.random_range(0..others.len())],
    })
}

/// One shrinking problem on the Pithead model: an oracle, a failing walk and the length of the
/// shortest sequence that fails the same way.
#[derive(Debug, Clone)]
pub struct Setting<S = Config> {
    pub oracle: SyntheticOracle<S>,
    pub failure: Failure<S>,
    pub minimal_length: usize,
}

/// The signature of the failure every [`pithead_setting`] walk ends in.
pub fn target_signature() -> Signature {
    Signature::new("recreated", "unexpected")
}

/// The signature of the decoy failure ([`Rule::Wide`]) a setting may add.
pub fn decoy_signature() -> Signature {
    Signature::new("ready", "timeout")
}

/// The benchmark setting, drawn from `seed`: the Pithead model with every prerequisite
/// supplied, the default config as baseline, a failure needing `transitions` specific
/// transitions in order (each of a distinct random axis, away from its baseline value, so the
/// minimal sequence has `transitions` steps), optionally a decoy failure with another signature
/// (an apply changing 10 or more axes at once), and a random walk of `len` valid configs whose
/// last step is the first to fail. `None` when the model cannot hold the failure or no walk
/// turned up.
pub fn pithead_setting(
    seed: &Seed,
    transitions: usize,
    decoy: bool,
    len: usize,
) -> Option<Setting> {
    let (model, supplied) = pithead_supplied()?;
    let baseline = model.default_config();
    let mut rng = seed.rng("shrink-setting");
    let mut axes: Vec<usize> = (0..model.axes.len()).collect();
    let mut ts = Vec::new();
    for _ in 0..transitions {
        if axes.is_empty() {
            return None;
        }
        let axis = axes.swap_remove(rng.random_range(0..axes.len()));
        ts.push(random_transition(
            &model,
            &supplied,
            axis,
            baseline.0[axis],
            &mut rng,
        )?);
    }
    let mut faults = vec![Fault {
        signature: target_signature(),
        rule: Rule::Transitions(ts),
    }];
    if decoy {
        faults.push(Fault {
            signature: decoy_signature(),
            rule: Rule::Wide { changes: 10 },
        });
    }
    let minimal_length = faults[0]
        .rule
        .minimal_length(&model, &supplied, &baseline)?;
    let oracle = SyntheticOracle::new(model, supplied, baseline, faults);
    let steps = random_failing_walk(&oracle, 0, len, &mut rng)?;
    Some(Setting {
        failure: Failure {
            failed_at: steps.len() - 1,
            steps,
            signature: target_signature(),
        },
        oracle,
        minimal_length,
    })
}

/// The Pithead model with every prerequisite supplied.
fn pithead_supplied() -> Option<(Model, Supplied)> {
    let model = load_str(
        BUILTIN_PITHEAD,
        std::path::Path::new("strategies/pithead.toml"),
    )
    .ok()?;
    let supplied = Supplied(
        model
            .prerequisites
            .iter()
            .map(|p| (p.name.clone(), "yes".to_string()))
            .collect(),
    );
    Some((model, supplied))
}

/// A shrinking problem with operations, drawn from `seed`: the Pithead model with every
/// prerequisite supplied, the default config as baseline, a failure at a random operation of
/// the model once `transitions` specific transitions happened in order (each of a distinct
/// random axis, away from its baseline value: [`Rule::OperationAfter`]), and a walk the fuzzer's
/// strategy generates with every operation group enabled, cut at its first failure, which must
/// be its failure at `min_len` steps or more (walks are drawn `max_len` long). `None` when the
/// model cannot hold the failure or no walk turned up.
pub fn pithead_operation_setting(
    seed: &Seed,
    transitions: usize,
    min_len: usize,
    max_len: usize,
) -> Option<Setting<crate::model::Transition>> {
    let (model, supplied) = pithead_supplied()?;
    let baseline = model.default_config();
    let mut rng = seed.rng("shrink-operation-setting");
    if model.operations.is_empty() {
        return None;
    }
    let operation = rng.random_range(0..model.operations.len());
    let mut axes: Vec<usize> = (0..model.axes.len()).collect();
    let mut after = Vec::new();
    for _ in 0..transitions {
        if axes.is_empty() {
            return None;
        }
        let axis = axes.swap_remove(rng.random_range(0..axes.len()));
        after.push(random_transition(
            &model,
            &supplied,
            axis,
            baseline.0[axis],
            &mut rng,
        )?);
    }
    let faults = vec![Fault {
        signature: target_signature(),
        rule: Rule::OperationAfter { operation, after },
    }];
    let minimal_length = faults[0]
        .rule
        .minimal_length(&model, &supplied, &baseline)?;
    let oracle = SyntheticOracle::new(model, supplied, baseline, faults);
    let generator = crate::strategy::Generator::new(&oracle.model, &oracle.supplied)
        .ok()?
        .with_operations(&OpGroup::ALL);
    let steps = (0..5000).find_map(|_| {
        let walk = generator.transitions(&mut rng, &oracle.baseline, max_len);
        match oracle.evaluate(&walk) {
            Outcome::Fail { failed_at, .. } if failed_at + 1 >= min_len => {
                Some(walk[..=failed_at].to_vec())
            }
            _ => None,
        }
    })?;
    Some(Setting {
        failure: Failure {
            failed_at: steps.len() - 1,
            steps,
            signature: target_signature(),
        },
        oracle,
        minimal_length,
    })
}
