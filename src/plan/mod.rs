//! The planner: from a model to closed walks of config applies that cover every t-way value
//! tuple and every ordered value change of each axis, with as few applies as it can find and,
//! among those, the least predicted recreate cost.
//!
//! The pipeline, one concern a module:
//! 1. [`space`]: the allowed effective values (gated values without their prerequisites are
//!    skipped, not planned) and the goals, numbered densely;
//! 2. [`cover`]: a covering array of the t-way tuples, seeded with the baseline; tuples no
//!    valid config can hold come back as infeasible and are reported, never waited on;
//! 3. [`order`]: a cheap tour of those configs from the baseline over the graph of applies;
//! 4. missing value changes are added as small loops through the baseline;
//! 5. [`search`]: annealing drops configs while every goal stays hit, then lowers the cost.
//!
//! Everything random comes from the plan's seed, so a seed and a model give one plan.

pub mod cover;
mod json;
mod operations;
mod order;
mod search;
mod space;
mod steps;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::{Config, Model, OpGroup, Skip, Supplied, Transition, UNSET};
use crate::rng::Seed;

pub use cover::Effort;
pub use operations::OperationGoal;
use search::{CachedPricer, Search, expired};
use space::Space;
pub use steps::{steps_after_backup, steps_from_transitions};

/// One step of a walk (the model crate defines it: the oracle judges steps too).
pub use crate::model::Step;

/// A closed walk: starts at the baseline, ends with a step back to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Walk {
    pub steps: Vec<Step>,
}

impl Walk {
    /// Number of config applies (the return to the baseline included).
    pub fn applies(&self) -> usize {
        self.steps.iter().filter(|s| s.op.is_none()).count()
    }

    /// Number of operation steps.
    pub fn operations(&self) -> usize {
        self.steps.len() - self.applies()
    }

    /// Summed predicted cost in seconds.
    pub fn cost(&self) -> f64 {
        self.steps.iter().map(|s| s.prediction.cost).sum()
    }
}

/// Where a goal was first hit: walk (shard) and step index, both from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepRef {
    pub walk: usize,
    pub step: usize,
}

/// A t-way tuple goal: (axis, model value index) cells, sorted by axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TupleGoal {
    pub cells: Vec<(usize, u16)>,
    /// The first step whose effective config holds the tuple.
    pub first: Option<StepRef>,
}

/// An ordered value change goal of one axis (model value indices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionGoal {
    pub axis: usize,
    pub from: u16,
    pub to: u16,
    /// The first step that makes the change.
    pub first: Option<StepRef>,
}

/// What a plan set out to cover and what it covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Every feasible t-way tuple of planned values.
    pub tuples: Vec<TupleGoal>,
    /// Every ordered change between feasible planned values (empty without transitions).
    pub transitions: Vec<TransitionGoal>,
    /// Tuples of planned values that no valid config can hold.
    pub infeasible: Vec<Vec<(usize, u16)>>,
    pub tuples_total: usize,
    pub tuples_covered: usize,
    pub transitions_total: usize,
    pub transitions_covered: usize,
    /// Applies over all walks.
    pub applies: usize,
    /// Summed predicted cost over all walks, seconds.
    pub cost: f64,
    /// Every (operation, state class) goal of the enabled operation groups.
    pub operations: Vec<OperationGoal>,
    /// Operation classes no allowed config can hold (or a restore with no backup enabled).
    pub operations_infeasible: Vec<OperationGoal>,
    pub operations_total: usize,
    pub operations_covered: usize,
    /// Operation steps over all walks.
    pub operation_steps: usize,
    /// No single walk covering these goals has fewer applies (the largest number of goal
    /// tuples on one set of t axes, or of goal changes on one axis).
    pub lower_bound: usize,
}

/// A plan: one walk per shard plus what was left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub model: String,
    pub model_hash: String,
    pub seed: Seed,
    /// Strength asked for (the tuples have at most as many cells as the model has axes).
    pub strength: usize,
    pub transitions: bool,
    /// The raw config the box starts at and returns to.
    pub baseline: Config,
    /// Planned model value indices of each axis (allowed with the supplied prerequisites).
    pub axes: Vec<Vec<u16>>,
    pub walks: Vec<Walk>,
    pub skipped: Vec<Skip>,
    pub coverage: Coverage,
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// t of t-way coverage, 1 to 4.
    pub strength: usize,
    /// Cover every ordered value change; `None` takes the model's default.
    pub transitions: Option<bool>,
    pub seed: Seed,
    /// Number of closed walks to split the work into (at least 1).
    pub shards: usize,
    /// How hard the covering-array engine and the walk search try. The walk search turns
    /// `Thorough { seconds }` into a fixed iteration budget, so plans stay reproducible on a
    /// fast enough machine; `seconds` is also a wall-clock limit on the whole plan (half of it
    /// for the covering array), past which the best complete plan found so far is returned.
    pub effort: Effort,
    pub supplied: Supplied,
    /// The raw config the box is at; `None` is the model's default config.
    pub baseline: Option<Config>,
    /// Operation groups to cover (each enabled operation in each of its state classes);
    /// empty plans config applies only.
    pub operations: Vec<OpGroup>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strength: 2,
            transitions: None,
            seed: Seed::from_u64(0),
            shards: 1,
            effort: Effort::Quick,
            supplied: Supplied::default(),
            baseline: None,
            operations: Vec::new(),
        }
    }
}

/// The most shards a plan is split into: each is a box, and each starts as a walk in memory.
pub const MAX_SHARDS: usize = 1000;

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("strength {0} is out of range: give 1 (each value), 2 (pairs), 3 or 4")]
    Strength(usize),
    #[error("--shards {0} is out of range: give 1 to {MAX_SHARDS} (one closed walk per box)")]
    Shards(usize),
    #[error("the baseline has {got} values but the model has {want} axes")]
    BaselineShape { got: usize, want: usize },
    #[error("the baseline breaks a constraint of the model: {0}; start from a valid config")]
    BaselineInvalid(String),
    #[error("the baseline uses {axis}={value}, which may not be planned: {reason}")]
    BaselineGated {
        axis: String,
        value: String,
        reason: String,
    },
    #[error(
        "axis '{0}' has no value that may be planned; supply the prerequisites of its gated values"
    )]
    NoValue(String),
    #[error(
        "strength {strength} over {axes} axes asks for {tuples} {strength}-way tuples, more than \
         the {bound} a plan may track (about {PLAN_BYTES_PER_TUPLE} bytes each); lower \
         --strength, or plan sub-models with fewer axes or values"
    )]
    TooManyTuples {
        strength: usize,
        axes: usize,
        tuples: u64,
        bound: usize,
    },
    #[error(
        "the covering array was built at strength {used}, not the {asked} asked for; refusing \
         to plan less than was asked"
    )]
    StrengthLowered { asked: usize, used: usize },
}

/// The most t-tuples a plan tracks. Each costs about [`PLAN_BYTES_PER_TUPLE`] bytes (its goal
/// with its cells and first step, its counters in the walk search, the covering array's
/// bookkeeping), so this bounds a plan's memory to about 2 GB.
pub const MAX_PLAN_TUPLES: usize = 10_000_000;
/// Rough memory per tracked tuple, for the refusal's message.
pub const PLAN_BYTES_PER_TUPLE: usize = 200;

/// Plans closed walks covering the model's goals. See the module docs for how.
pub fn plan(model: &Model, options: &PlanOptions) -> Result<Plan, PlanError> {
    let started = Instant::now();
    // `--effort SECONDS` is a promise on wall time: the array gets half, the walks the rest.
    let by = |share: f64| match options.effort {
        Effort::Thorough { seconds } if seconds.is_finite() => {
            started.checked_add(Duration::from_secs_f64((seconds.max(0.0) * share).min(1e6)))
        }
        Effort::Thorough { .. } => Some(started),
        Effort::Quick | Effort::Work { .. } => None,
    };
    let (cover_deadline, deadline) = (by(0.5), by(1.0));
    if !(1..=4).contains(&options.strength) {
        return Err(PlanError::Strength(options.strength));
    }
    if !(1..=MAX_SHARDS).contains(&options.shards) {
        return Err(PlanError::Shards(options.shards));
    }
    let supplied = &options.supplied;
    let baseline = options
        .baseline
        .clone()
        .unwrap_or_else(|| model.default_config());
    let k = model.axes.len();
    if baseline.0.len() != k
        || baseline
            .0
            .iter()
            .zip(&model.axes)
            .any(|(v, a)| *v as usize >= a.values.len())
    {
        return Err(PlanError::BaselineShape {
            got: baseline.0.len(),
            want: k,
        });
    }
    if let Some(c) = model.violation(&baseline.0) {
        return Err(PlanError::BaselineInvalid(c.text.clone()));
    }
    let transitions = options.transitions.unwrap_or(model.transitions_by_default);

    let allowed: Vec<Vec<u16>> = (0..k)
        .map(|a| {
            (0..model.axes[a].values.len() as u16)
                .filter(|&v| model.value_allowed(a, v, supplied))
                .collect()
        })
        .collect();
    if let Some(a) = allowed.iter().position(Vec::is_empty) {
        return Err(PlanError::NoValue(model.axes[a].name.clone()));
    }
    let base_eff = model.effective(&baseline);
    let mut inverse: Vec<Vec<u16>> = model
        .axes
        .iter()
        .map(|a| vec![UNSET; a.values.len()])
        .collect();
    for (a, vals) in allowed.iter().enumerate() {
        for (i, &v) in vals.iter().enumerate() {
            inverse[a][v as usize] = i as u16;
        }
    }
    let to_planned = |c: &Config| -> Vec<u16> {
        c.0.iter()
            .enumerate()
            .map(|(a, &v)| inverse[a][v as usize])
            .collect()
    };
    let base_row = to_planned(&base_eff);
    if let Some(a) = base_row.iter().position(|&v| v == UNSET) {
        let skip = model
            .skipped(supplied)
            .into_iter()
            .find(|s| s.axis == model.axes[a].name);
        return Err(PlanError::BaselineGated {
            axis: model.axes[a].name.clone(),
            value: model.label(a, base_eff.0[a]).to_string(),
            reason: skip.map_or_else(String::new, |s| s.reason),
        });
    }
    // Refuse before anything per tuple is allocated: a plan never covers a lower strength
    // than the one asked for.
    let sizes: Vec<usize> = allowed.iter().map(Vec::len).collect();
    let tuples = cover::tuple_count(&sizes, options.strength.min(k));
    if tuples > MAX_PLAN_TUPLES as f64 {
        return Err(PlanError::TooManyTuples {
            strength: options.strength,
            axes: k,
            tuples: tuples as u64,
            bound: MAX_PLAN_TUPLES,
        });
    }
    // Sub-models: their higher-strength combos are goals like the base ones.
    let sub_models: Vec<cover::SubModel> = model
        .sub_models
        .iter()
        .map(|s| cover::SubModel {
            axes: s.axes.clone(),
            strength: s.strength,
        })
        .collect();
    let sub_models = cover::normalise_sub_models(&sub_models, k, options.strength.min(k));
    let mut space = Space::with_combos(
        allowed,
        &model.planning_constraints(supplied),
        options.strength,
        &cover::sub_model_combos(&sub_models),
    );
    if !space.valid(&base_row) {
        return Err(PlanError::BaselineInvalid(
            "its effective config breaks a normalisation or gate".into(),
        ));
    }
    let to_model = |row: &[u16], space: &Space| -> Config {
        Config(
            row.iter()
                .enumerate()
                .map(|(a, &v)| space.allowed[a][v as usize])
                .collect(),
        )
    };

    // 2. The covering array.
    let mut cover_rng = options.seed.rng("plan/cover");
    let result = if space.t == 0 {
        cover::CoverResult {
            rows: vec![base_row.clone()],
            infeasible: Vec::new(),
            tuples_total: 0,
            rejected_seeds: Vec::new(),
            strength: 0,
        }
    } else {
        cover::cover_mixed(
            &cover::CoverProblem {
                sizes: space.sizes.clone(),
                constraints: &space.constraints,
                strength: space.t,
                seed_rows: vec![base_row.clone()],
            },
            &sub_models,
            &cover::CoverOptions {
                effort: options.effort,
                deadline: cover_deadline,
            },
            &mut cover_rng,
        )
    };
    if result.strength != space.t {
        return Err(PlanError::StrengthLowered {
            asked: space.t,
            used: result.strength,
        });
    }
    let mut infeasible_model = Vec::new();
    for cells in &result.infeasible {
        if let Some(i) = space.cells_index(cells) {
            space.required[i] = false;
        }
        infeasible_model.push(
            cells
                .iter()
                .map(|&(a, v)| (a, space.allowed[a][v as usize]))
                .collect::<Vec<_>>(),
        );
    }
    let mut rows: Vec<Vec<u16>> = vec![base_row.clone()];
    for r in result.rows {
        if r.len() == k && space.valid(&r) && !rows.contains(&r) {
            rows.push(r);
        }
    }
    // Value changes are goals between values some valid config holds.
    for a in 0..k {
        let s = space.sizes[a];
        let feasible: Vec<bool> = (0..s as u16)
            .map(|v| rows.iter().any(|r| r[a] == v))
            .collect();
        for i in 0..s * s {
            space.trans_required[a][i] =
                transitions && i / s != i % s && feasible[i / s] && feasible[i % s];
        }
    }

    // 3. A cheap tour, split into shards.
    let mut pricer = CachedPricer::new(|from: &[u16], to: &[u16]| {
        model
            .predict(&to_model(from, &space), &to_model(to, &space), supplied)
            .cost
    });
    let order = order::tour(&rows, 0, &mut pricer);
    let rest: Vec<Vec<u16>> = order[1..].iter().map(|&i| rows[i].clone()).collect();
    let shards = options.shards;
    let mut cycles: Vec<Vec<Vec<u16>>> = (0..shards).map(|_| vec![base_row.clone()]).collect();
    for (i, r) in rest.iter().enumerate() {
        cycles[i * shards / rest.len().max(1)].push(r.clone());
    }
    let mut search = Search::new(&space, cycles);

    // 4. Missing value changes: a loop baseline -> X -> Y -> baseline per change, which adds
    // goals and removes none (the walk was back at the baseline already).
    for (a, from, to) in search.missing_transitions() {
        if search.has_transition(a, from, to) {
            continue;
        }
        let x = if base_row[a] == from {
            None
        } else {
            rows.iter().find(|r| r[a] == from).cloned()
        };
        let anchor = x.clone().unwrap_or_else(|| base_row.clone());
        let Some(y) = rows
            .iter()
            .filter(|r| r[a] == to)
            .min_by_key(|r| r.iter().zip(&anchor).filter(|(p, q)| p != q).count())
            .cloned()
        else {
            continue;
        };
        let shortest = (0..shards)
            .min_by_key(|&c| search.cycles[c].len())
            .unwrap_or(0);
        let mut lp = vec![base_row.clone()];
        lp.extend(x);
        lp.push(y);
        search.append(shortest, lp);
    }
    search.collapse();

    // 5. Fewer applies, then a lower cost.
    let lower_bound = lower_bound(&space);
    let goals = space.goal_count().max(1);
    let per_iter = space.combos_of_axis.first().map_or(1, Vec::len) + k + 1;
    let scale = match options.effort {
        Effort::Quick => 1.0,
        Effort::Thorough { seconds } => (seconds.max(0.0) * 4.0).max(1.0),
        Effort::Work { lookups } => (lookups as f64 / 25.0e6).clamp(0.05, 1000.0),
    };
    let budget = ((4.0e7 * scale) as usize / per_iter)
        .min(goals * 200)
        .min((300_000.0 * scale) as usize);
    let mut rng = options.seed.rng("plan/walk");
    let mut best = search.cycles.clone();
    let mut spent = 0;
    let mut failures = 0;
    while spent < budget && failures < 2 && !expired(deadline) {
        let total: usize = search.applies().iter().sum();
        if shards == 1 && total <= lower_bound {
            break;
        }
        let Some((c, p)) = search.weakest_slot(&mut rng) else {
            break;
        };
        search.remove_row(c, p);
        let attempt = (budget / 4).max(1000);
        let (reached, used) = search.anneal_goals(&mut rng, attempt, deadline);
        spent += used;
        if reached {
            search.collapse();
            best = search.cycles.clone();
            failures = 0;
        } else {
            search = Search::new(&space, best.clone());
            failures += 1;
        }
    }
    let mut search = Search::new(&space, best);
    // Models without rendered keys or cold axes (PICT models) price every apply at zero.
    let priced = !model.env.is_empty() || model.axes.iter().any(|a| a.cold);
    if priced {
        search.anneal_cost(
            &mut rng,
            &mut pricer,
            (budget / 4).min(20_000 * scale as usize),
            deadline,
        );
    }
    search.collapse();
    let cycles = search.cycles.clone();
    drop(search);
    drop(pricer);

    // The walks and their figures.
    let walks: Vec<Walk> = cycles
        .iter()
        .map(|cyc| {
            let mut steps = Vec::new();
            if cyc.len() < 2 {
                return Walk { steps };
            }
            let mut prev = base_eff.clone();
            for row in cyc[1..].iter().chain(std::iter::once(&cyc[0])) {
                let effective = to_model(row, &space);
                let config = if *row == base_row {
                    baseline.clone()
                } else {
                    model.raw_for(&effective)
                };
                let changed = (0..k).filter(|&a| prev.0[a] != effective.0[a]).collect();
                let prediction = model.predict(&prev, &effective, supplied);
                steps.push(Step {
                    config,
                    effective: effective.clone(),
                    changed,
                    prediction,
                    new_tuples: 0,
                    new_transitions: 0,
                    op: None,
                });
                prev = effective;
            }
            Walk { steps }
        })
        .collect();
    let mut walks = walks;
    let mut placed = operations::Placed::default();
    if !options.operations.is_empty() {
        let mut sequences: Vec<Vec<Transition>> = walks
            .iter()
            .map(|w| {
                w.steps
                    .iter()
                    .map(|s| Transition::Apply(s.config.clone()))
                    .collect()
            })
            .collect();
        placed = operations::place(
            model,
            &options.operations,
            &space.allowed,
            &baseline,
            &mut sequences,
        );
        walks = sequences
            .into_iter()
            .map(|seq| Walk {
                steps: steps_from_transitions(model, supplied, &baseline, seq),
            })
            .collect();
    }
    let mut coverage = coverage(
        &space,
        &mut walks,
        &to_planned,
        &base_eff,
        infeasible_model,
        lower_bound,
    );
    operation_coverage(&mut coverage, &walks, placed);
    Ok(Plan {
        model: model.name.clone(),
        model_hash: model.hash.clone(),
        seed: options.seed,
        strength: options.strength,
        transitions,
        baseline,
        axes: space.allowed.clone(),
        walks,
        skipped: model.skipped(supplied),
        coverage,
    })
}

fn lower_bound(space: &Space) -> usize {
    let tuples = (0..space.combos.len())
        .map(|c| {
            let end = space.offsets.get(c + 1).copied().unwrap_or(space.n_tuples);
            (space.offsets[c]..end)
                .filter(|&i| space.required[i])
                .count()
        })
        .max()
        .unwrap_or(0);
    let changes = space
        .trans_required
        .iter()
        .map(|v| v.iter().filter(|r| **r).count())
        .max()
        .unwrap_or(0);
    tuples.max(changes)
}

/// Counts what the walks hit, records the first step of each goal and each step's news.
fn coverage(
    space: &Space,
    walks: &mut [Walk],
    to_planned: &dyn Fn(&Config) -> Vec<u16>,
    base_eff: &Config,
    infeasible: Vec<Vec<(usize, u16)>>,
    lower_bound: usize,
) -> Coverage {
    let k = space.sizes.len();
    let mut first_tuple: Vec<Option<StepRef>> = vec![None; space.n_tuples];
    let mut first_trans: Vec<Vec<Option<StepRef>>> =
        space.sizes.iter().map(|&s| vec![None; s * s]).collect();
    for (w, walk) in walks.iter_mut().enumerate() {
        let mut prev = to_planned(base_eff);
        for (s, step) in walk.steps.iter_mut().enumerate() {
            let here = StepRef { walk: w, step: s };
            let row = to_planned(&step.effective);
            if step.op.is_some() {
                // Coverage is what applies reach; an operation (even a restore, which moves
                // the config) earns none, but the next apply starts from where it left the box.
                prev = row;
                continue;
            }
            for c in 0..space.combos.len() {
                let i = space.tuple_index(c, &row);
                if space.required[i] && first_tuple[i].is_none() {
                    first_tuple[i] = Some(here);
                    step.new_tuples += 1;
                }
            }
            for a in 0..k {
                let i = prev[a] as usize * space.sizes[a] + row[a] as usize;
                if space.trans_required[a][i] && first_trans[a][i].is_none() {
                    first_trans[a][i] = Some(here);
                    step.new_transitions += 1;
                }
            }
            prev = row;
        }
    }
    let model_cells = |cells: Vec<(usize, u16)>| -> Vec<(usize, u16)> {
        cells
            .into_iter()
            .map(|(a, v)| (a, space.allowed[a][v as usize]))
            .collect()
    };
    let tuples: Vec<TupleGoal> = (0..space.n_tuples)
        .filter(|&i| space.required[i])
        .map(|i| TupleGoal {
            cells: model_cells(space.cells(i)),
            first: first_tuple[i],
        })
        .collect();
    let transitions: Vec<TransitionGoal> = (0..k)
        .flat_map(|a| space.transition_goals(a).map(move |(f, t)| (a, f, t)))
        .map(|(a, f, t)| TransitionGoal {
            axis: a,
            from: space.allowed[a][f as usize],
            to: space.allowed[a][t as usize],
            first: first_trans[a][f as usize * space.sizes[a] + t as usize],
        })
        .collect();
    Coverage {
        tuples_total: tuples.len(),
        tuples_covered: tuples.iter().filter(|g| g.first.is_some()).count(),
        transitions_total: transitions.len(),
        transitions_covered: transitions.iter().filter(|g| g.first.is_some()).count(),
        tuples,
        transitions,
        infeasible,
        applies: walks.iter().map(Walk::applies).sum(),
        cost: walks.iter().map(Walk::cost).sum(),
        lower_bound,
        operations: Vec::new(),
        operations_infeasible: Vec::new(),
        operations_total: 0,
        operations_covered: 0,
        operation_steps: walks.iter().map(Walk::operations).sum(),
    }
}

/// Records the first step that meets each operation goal.
fn operation_coverage(coverage: &mut Coverage, walks: &[Walk], placed: operations::Placed) {
    let mut goals = placed.goals;
    for (w, walk) in walks.iter().enumerate() {
        for (s, step) in walk.steps.iter().enumerate() {
            let Some(op) = step.op else { continue };
            if let Some(g) = goals.iter_mut().find(|g| {
                g.operation == op
                    && g.first.is_none()
                    && g.class.iter().all(|&(a, v)| step.effective.0[a] == v)
            }) {
                g.first = Some(StepRef { walk: w, step: s });
            }
        }
    }
    coverage.operations_total = goals.len();
    coverage.operations_covered = goals.iter().filter(|g| g.first.is_some()).count();
    coverage.operations = goals;
    coverage.operations_infeasible = placed.infeasible;
}
