//! A deterministic synthetic oracle for the shrinker's tests and benchmark: the outcome is a
//! pure function of the sequence, given by rules that model the sequence-dependent failures
//! real boxes show (a transition that breaks only after another one, the n-th change of an
//! axis, a state reached, an apply that changes too much at once). Not used against a box.
//!
//! The oracle also watches the shrinker: it records every sequence it runs and every invalid
//! config it was handed, so tests can assert that no candidate ran twice and none broke the
//! model.

use std::collections::{HashSet, VecDeque};

use rand::Rng;

use super::{Failure, Oracle, Outcome, Signature, check_config};
use crate::model::{BUILTIN_PITHEAD, Config, Model, Supplied, load_str};
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
}

impl Rule {
    /// Advances the rule's progress over one step; `None` when the rule fires on it.
    fn advance(&self, progress: usize, prev: &Config, cur: &Config) -> Option<usize> {
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
        }
    }

    /// The axes the rule reads (`None` for a rule that reads them all).
    fn axes(&self) -> Option<Vec<usize>> {
        let mut axes: Vec<usize> = match self {
            Rule::Transitions(ts) => ts.iter().map(|t| t.axis).collect(),
            Rule::NthChange { axis, .. } => vec![*axis],
            Rule::Reaches(vals) => vals.iter().map(|&(a, _)| a).collect(),
            Rule::Wide { .. } => return None,
        };
        axes.sort_unstable();
        axes.dedup();
        Some(axes)
    }

    /// The fewest steps from `baseline` that make the rule fire, by breadth-first search over
    /// the values of the axes it reads (the other axes stay at the baseline, which must then
    /// be valid). `None` for [`Rule::Wide`] or when no valid sequence fires it.
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
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([(baseline.clone(), 0usize, 0usize)]);
        seen.insert((baseline.clone(), 0));
        while let Some((prev, progress, depth)) = queue.pop_front() {
            for c in &configs {
                match self.advance(progress, &prev, c) {
                    None => return Some(depth + 1),
                    Some(p) => {
                        if seen.insert((c.clone(), p)) {
                            queue.push_back((c.clone(), p, depth + 1));
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
pub struct SyntheticOracle {
    pub model: Model,
    pub supplied: Supplied,
    pub baseline: Config,
    pub faults: Vec<Fault>,
    /// Every sequence run, in order.
    pub log: Vec<Vec<Config>>,
    /// Every invalid config it was handed: `(run index, step, reason)`.
    pub invalid: Vec<(usize, usize, String)>,
}

impl SyntheticOracle {
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
    pub fn evaluate(&self, steps: &[Config]) -> Outcome {
        let mut progress = vec![0usize; self.faults.len()];
        let mut prev = &self.baseline;
        for (i, cur) in steps.iter().enumerate() {
            for (f, fault) in self.faults.iter().enumerate() {
                match fault.rule.advance(progress[f], prev, cur) {
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
            prev = cur;
        }
        Outcome::Pass {
            applies: steps.len(),
        }
    }

    /// Whether some sequence was run more than once.
    pub fn ran_twice(&self) -> Option<&Vec<Config>> {
        let mut seen = HashSet::new();
        self.log.iter().find(|s| !seen.insert(*s))
    }
}

impl Oracle for SyntheticOracle {
    fn baseline(&self) -> &Config {
        &self.baseline
    }

    fn run(&mut self, steps: &[Config]) -> Outcome {
        let run = self.log.len();
        for (i, c) in steps.iter().enumerate() {
            if let Err(reason) = check_config(&self.model, &self.supplied, c) {
                self.invalid.push((run, i, reason));
            }
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
pub struct Setting {
    pub oracle: SyntheticOracle,
    pub failure: Failure,
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
