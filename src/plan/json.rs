//! The plan as JSON: the contract other tools (and the runner's journal) read.

use serde_json::{Map, Value, json};

use super::{Plan, Step, Walk};
use crate::model::{Model, Supplied};

/// What a secret prerequisite's value is printed as.
pub const REDACTED: &str = "<redacted>";

/// The supplied prerequisites with every secret one replaced by [`REDACTED`].
pub fn redacted(model: &Model, supplied: &Supplied) -> Supplied {
    let mut out = supplied.clone();
    for p in &model.prerequisites {
        if p.secret
            && let Some(v) = out.0.get_mut(&p.name)
        {
            *v = REDACTED.to_string();
        }
    }
    out
}

fn step_json(model: &Model, shown: &Supplied, index: usize, step: &Step) -> Value {
    if let Some(i) = step.op {
        let p = &step.prediction;
        return json!({
            "step": index + 1,
            "operation": model.operations[i].name,
            "effective": model.labels(&step.effective),
            "changed": step.changed.iter().map(|&a| model.axes[a].name.clone()).collect::<Vec<_>>(),
            "recreated": p.recreated,
            "restarted": p.restarted,
            "may_restart": p.may_restart,
            "created": p.created,
            "removed": p.removed,
            "cost": p.cost,
        });
    }
    let overrides = model.overrides(&step.config, shown);
    let mut config = Map::new();
    for a in &model.axes {
        if let Some(v) = overrides.get(&a.path) {
            config.insert(a.name.clone(), v.clone());
        }
    }
    for (path, v) in &overrides {
        if !model.axes.iter().any(|a| &a.path == path) {
            config.insert(path.clone(), v.clone());
        }
    }
    let p = &step.prediction;
    json!({
        "step": index + 1,
        "config": config,
        "effective": model.labels(&step.effective),
        "changed": step.changed.iter().map(|&a| model.axes[a].name.clone()).collect::<Vec<_>>(),
        "recreated": p.recreated,
        "restarted": p.restarted,
        "created": p.created,
        "removed": p.removed,
        "cold": p.cold,
        "cost": p.cost,
        "new_tuples": step.new_tuples,
        "new_transitions": step.new_transitions,
    })
}

fn walk_json(model: &Model, shown: &Supplied, walk: &Walk) -> Value {
    Value::Array(
        walk.steps
            .iter()
            .enumerate()
            .map(|(i, s)| step_json(model, shown, i, s))
            .collect(),
    )
}

impl Plan {
    /// Ordered changes between planned values that are not goals (no valid config holds one
    /// of the two values); none when value changes are not covered at all.
    fn infeasible_transitions(&self, model: &Model) -> Vec<Value> {
        if !self.transitions {
            return Vec::new();
        }
        let goals: std::collections::HashSet<(usize, u16, u16)> = self
            .coverage
            .transitions
            .iter()
            .map(|g| (g.axis, g.from, g.to))
            .collect();
        let mut out = Vec::new();
        for (a, vals) in self.axes.iter().enumerate() {
            for &from in vals {
                for &to in vals {
                    if from != to && !goals.contains(&(a, from, to)) {
                        out.push(json!({
                            "axis": model.axes[a].name,
                            "from": model.label(a, from),
                            "to": model.label(a, to),
                        }));
                    }
                }
            }
        }
        out
    }

    /// The plan as the JSON object `canary plan --format json` prints: `axes` (name → planned
    /// value labels), `walk` (the first walk's steps; each `config` maps axis names, and the
    /// extra keys of gated values, to the JSON written to config.json, secrets redacted),
    /// `skipped`, `coverage`, `seed`, `model`, `model_hash`, `strength`, `transitions`,
    /// `baseline`, `variant` (for a model with variants), and, when sharded, `shards` (every walk, the first included).
    pub fn to_json(&self, model: &Model, supplied: &Supplied) -> Value {
        let shown = redacted(model, supplied);
        let mut axes = Map::new();
        for (a, vals) in self.axes.iter().enumerate() {
            axes.insert(
                model.axes[a].name.clone(),
                vals.iter()
                    .map(|&v| model.label(a, v))
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let cells = |cells: &[(usize, u16)]| -> Value {
            let mut m = Map::new();
            for &(a, v) in cells {
                m.insert(model.axes[a].name.clone(), model.label(a, v).into());
            }
            Value::Object(m)
        };
        let c = &self.coverage;
        let mut out = json!({
            "model": self.model,
            "model_hash": self.model_hash,
            "seed": self.seed.hex(),
            "strength": self.strength,
            "transitions": self.transitions,
            "baseline": model.labels(&self.baseline),
            "axes": axes,
            "walk": self.walks.first().map_or(Value::Array(vec![]), |w| walk_json(model, &shown, w)),
            "skipped": self.skipped,
            "coverage": {
                "tuples_total": c.tuples_total,
                "tuples_covered": c.tuples_covered,
                "transitions_total": c.transitions_total,
                "transitions_covered": c.transitions_covered,
                "infeasible": c.infeasible.iter().map(|t| cells(t)).collect::<Vec<_>>(),
                "infeasible_transitions": self.infeasible_transitions(model),
                "applies": c.applies,
                "cost": c.cost,
                "lower_bound": c.lower_bound,
                "operations_total": c.operations_total,
                "operations_covered": c.operations_covered,
                "operation_steps": c.operation_steps,
                "operations": c.operations.iter().map(|g| json!({
                    "operation": model.operations[g.operation].name,
                    "class": cells(&g.class),
                    "first_step": g.first.map(|r| r.step + 1),
                    "shard": g.first.map(|r| r.walk),
                })).collect::<Vec<_>>(),
                "operations_infeasible": c.operations_infeasible.iter().map(|g| json!({
                    "operation": model.operations[g.operation].name,
                    "class": cells(&g.class),
                })).collect::<Vec<_>>(),
            },
        });
        if let Some(v) = model.variant_name() {
            out["variant"] = v.into();
        }
        if self.walks.len() > 1 {
            out["shards"] = Value::Array(
                self.walks
                    .iter()
                    .map(|w| {
                        json!({
                            "applies": w.applies(),
                            "cost": w.cost(),
                            "walk": walk_json(model, &shown, w),
                        })
                    })
                    .collect(),
            );
        }
        out
    }
}
