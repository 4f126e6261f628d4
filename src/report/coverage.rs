//! Coverage recomputed from what ran: the required goals (value tuples and ordered value
//! changes) are taken from the plan when it lists them, otherwise computed from the planned axis
//! values (all value pairs, all ordered changes per axis); then each goal is marked with the
//! first step whose *effective* config holds it. The plan's own coverage claims are never
//! trusted: a step that did not run covers nothing.

use std::collections::{HashMap, HashSet};

use super::digest::{PlanDigest, RunDigest, label};

/// One ordered value change of an axis.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Transition {
    pub axis: String,
    pub from: String,
    pub to: String,
}

/// A value tuple: `(axis, value)` sorted by axis.
pub type Tuple = Vec<(String, String)>;

/// Where the goals came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalSource {
    /// Listed by the plan.
    Plan,
    /// Computed here from the planned axis values.
    Computed,
}

impl GoalSource {
    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalSource::Plan => "plan",
            GoalSource::Computed => "computed",
        }
    }
}

/// What a run (or a set of shards) had to cover.
#[derive(Debug, Clone, PartialEq)]
pub struct Goals {
    /// Axis name → planned values, in plan order (union over shards).
    pub axes: Vec<(String, Vec<String>)>,
    /// t of the tuples.
    pub strength: usize,
    pub tuples: Vec<Tuple>,
    pub tuples_from: GoalSource,
    pub transitions: Vec<Transition>,
    pub transitions_from: GoalSource,
    /// (operation name, state class) goals, as the plan lists them.
    pub operations: Vec<(String, Tuple)>,
    /// Tuples and value changes no valid config can reach under the constraints, as the plan
    /// lists them: not goals, never counted as covered, reported apart.
    pub tuples_infeasible: usize,
    pub transitions_infeasible: usize,
}

impl Goals {
    /// The goals of one run's plan (no plan: no goals).
    pub fn of_plan(plan: Option<&PlanDigest>, options: &serde_json::Value) -> Goals {
        let Some(plan) = plan else {
            return Goals {
                axes: Vec::new(),
                strength: 2,
                tuples: Vec::new(),
                tuples_from: GoalSource::Computed,
                transitions: Vec::new(),
                transitions_from: GoalSource::Computed,
                operations: Vec::new(),
                tuples_infeasible: 0,
                transitions_infeasible: 0,
            };
        };
        let cov = &plan.coverage;
        let listed = |name: &str| -> Option<&Vec<serde_json::Value>> {
            [
                cov.get("goals").and_then(|g| g.get(name)),
                cov.get("required").and_then(|g| g.get(name)),
                cov.get(name),
            ]
            .into_iter()
            .flatten()
            .find_map(|v| v.as_array())
        };
        let infeasible_tuples: HashSet<Tuple> = listed("infeasible")
            .and_then(|l| parse_tuples(l))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let infeasible_transitions: HashSet<Transition> = listed("infeasible_transitions")
            .and_then(|l| parse_transitions(l))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let (tuples, tuples_from, strength) = match listed("tuples").map(|l| parse_tuples(l)) {
            Some(Some(t)) => {
                let s = plan
                    .strength
                    .or_else(|| t.first().map(Vec::len))
                    .unwrap_or(2);
                (t, GoalSource::Plan, s)
            }
            _ => {
                let mut pairs = all_pairs(&plan.axes);
                pairs.retain(|p| !infeasible_tuples.contains(p));
                (pairs, GoalSource::Computed, 2)
            }
        };
        let wanted = plan
            .transitions
            .or_else(|| options.get("transitions").and_then(|t| t.as_bool()))
            .unwrap_or(true);
        let (transitions, transitions_from) =
            match listed("transitions").map(|l| parse_transitions(l)) {
                Some(Some(t)) => (t, GoalSource::Plan),
                _ if wanted => {
                    let mut all = all_transitions(&plan.axes);
                    all.retain(|x| !infeasible_transitions.contains(x));
                    (all, GoalSource::Computed)
                }
                _ => (Vec::new(), GoalSource::Computed),
            };
        let operations = cov
            .get("operations")
            .and_then(|l| l.as_array())
            .map(|l| {
                l.iter()
                    .filter_map(|g| {
                        let name = g.get("operation")?.as_str()?.to_string();
                        let mut class: Tuple = g
                            .get("class")?
                            .as_object()?
                            .iter()
                            .map(|(a, v)| (a.clone(), label(v)))
                            .collect();
                        class.sort();
                        Some((name, class))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Goals {
            axes: plan.axes.clone(),
            strength,
            tuples,
            tuples_from,
            transitions,
            transitions_from,
            operations,
            tuples_infeasible: infeasible_tuples.len(),
            transitions_infeasible: if wanted {
                infeasible_transitions.len()
            } else {
                0
            },
        }
    }

    /// The union of several shards' goals, each goal once, in first-seen order.
    pub fn union(all: Vec<Goals>) -> Goals {
        let mut it = all.into_iter();
        let Some(mut out) = it.next() else {
            return Goals::of_plan(None, &serde_json::Value::Null);
        };
        let mut seen_t: HashSet<Tuple> = out.tuples.iter().cloned().collect();
        let mut seen_x: HashSet<Transition> = out.transitions.iter().cloned().collect();
        for g in it {
            for (axis, values) in g.axes {
                match out.axes.iter_mut().find(|(a, _)| *a == axis) {
                    Some((_, vs)) => {
                        for v in values {
                            if !vs.contains(&v) {
                                vs.push(v);
                            }
                        }
                    }
                    None => out.axes.push((axis, values)),
                }
            }
            out.strength = out.strength.max(g.strength);
            if g.tuples_from == GoalSource::Computed {
                out.tuples_from = GoalSource::Computed;
            }
            if g.transitions_from == GoalSource::Computed {
                out.transitions_from = GoalSource::Computed;
            }
            for t in g.tuples {
                if seen_t.insert(t.clone()) {
                    out.tuples.push(t);
                }
            }
            for x in g.transitions {
                if seen_x.insert(x.clone()) {
                    out.transitions.push(x);
                }
            }
            for o in g.operations {
                if !out.operations.contains(&o) {
                    out.operations.push(o);
                }
            }
            // Shards of one plan list the same infeasible goals.
            out.tuples_infeasible = out.tuples_infeasible.max(g.tuples_infeasible);
            out.transitions_infeasible = out.transitions_infeasible.max(g.transitions_infeasible);
        }
        out
    }
}

/// A step of one of the runs being reported: index into the runs, then the step number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepAt {
    pub run: usize,
    pub step: usize,
}

/// Pair coverage of two axes, for the heatmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairCell {
    pub covered: usize,
    pub required: usize,
}

/// Goals marked with the step that first covered each.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub goals: Goals,
    /// Parallel to `goals.tuples`.
    pub tuples: Vec<Option<StepAt>>,
    /// Parallel to `goals.transitions`.
    pub transitions: Vec<Option<StepAt>>,
    /// Parallel to `goals.operations`.
    pub operations: Vec<Option<StepAt>>,
    /// Axis × axis pair coverage (`goals.axes` order); the diagonal is empty.
    pub pairs: Vec<Vec<PairCell>>,
}

impl Coverage {
    /// Marks every goal with the first step (over `runs`, in order) whose effective config
    /// holds it.
    pub fn compute(goals: Goals, runs: &[RunDigest]) -> Coverage {
        // Tuples grouped by their axes, so each step costs one lookup per axis set.
        let mut groups: HashMap<Vec<&str>, HashMap<Vec<&str>, usize>> = HashMap::new();
        for (i, t) in goals.tuples.iter().enumerate() {
            let axes = t.iter().map(|(a, _)| a.as_str()).collect();
            let values = t.iter().map(|(_, v)| v.as_str()).collect();
            groups.entry(axes).or_default().insert(values, i);
        }
        let mut tuples = vec![None; goals.tuples.len()];
        let trans_index: HashMap<(&str, &str, &str), usize> = goals
            .transitions
            .iter()
            .enumerate()
            .map(|(i, x)| ((x.axis.as_str(), x.from.as_str(), x.to.as_str()), i))
            .collect();
        let mut transitions = vec![None; goals.transitions.len()];
        let axis_pos: HashMap<&str, usize> = goals
            .axes
            .iter()
            .enumerate()
            .map(|(i, (a, _))| (a.as_str(), i))
            .collect();
        let mut seen_pairs: HashSet<(usize, &str, usize, &str)> = HashSet::new();
        let mut operations = vec![None; goals.operations.len()];

        for (r, run) in runs.iter().enumerate() {
            for (i, step) in run.steps.iter().enumerate() {
                let at = StepAt {
                    run: r,
                    step: step.step,
                };
                if step.refused() {
                    // The box's CLI refused the config: nothing of it was reached.
                    continue;
                }
                let eff = &step.effective;
                if let Some(op) = &step.operation {
                    // An operation covers its own goals; config coverage is what applies reach.
                    for (g, (name, class)) in goals.operations.iter().enumerate() {
                        if operations[g].is_none()
                            && name == op
                            && class.iter().all(|(a, v)| eff.get(a) == Some(v.as_str()))
                        {
                            operations[g] = Some(at);
                        }
                    }
                    continue;
                }
                for (axes, by_values) in &groups {
                    let values: Option<Vec<&str>> = axes.iter().map(|a| eff.get(a)).collect();
                    if let Some(&g) = values.and_then(|v| by_values.get(&v))
                        && tuples[g].is_none()
                    {
                        tuples[g] = Some(at);
                    }
                }
                let known: Vec<(usize, &str)> = eff
                    .iter()
                    .filter_map(|(a, v)| axis_pos.get(a).map(|&p| (p, v)))
                    .collect();
                for (x, &(pa, va)) in known.iter().enumerate() {
                    for &(pb, vb) in &known[x + 1..] {
                        let key = if pa < pb {
                            (pa, va, pb, vb)
                        } else {
                            (pb, vb, pa, va)
                        };
                        seen_pairs.insert(key);
                    }
                }
                if let Some(prev) = run.before(i) {
                    for (axis, to) in eff.iter() {
                        if let Some(from) = prev.get(axis)
                            && from != to
                            && let Some(&g) = trans_index.get(&(axis, from, to))
                            && transitions[g].is_none()
                        {
                            transitions[g] = Some(at);
                        }
                    }
                }
            }
        }

        let n = goals.axes.len();
        let mut pairs = vec![vec![PairCell::default(); n]; n];
        if !goals.tuples.is_empty() && goals.tuples.iter().all(|t| t.len() == 2) {
            // Pair goals are the goals: the heatmap shows exactly them (infeasible pairs out).
            for (t, at) in goals.tuples.iter().zip(&tuples) {
                let (Some(&a), Some(&b)) =
                    (axis_pos.get(t[0].0.as_str()), axis_pos.get(t[1].0.as_str()))
                else {
                    continue;
                };
                for (x, y) in [(a, b), (b, a)] {
                    pairs[x][y].required += 1;
                    if at.is_some() {
                        pairs[x][y].covered += 1;
                    }
                }
            }
            return Coverage {
                goals,
                tuples,
                transitions,
                operations,
                pairs,
            };
        }
        #[allow(clippy::needless_range_loop)] // a symmetric matrix, filled by index
        for a in 0..n {
            for b in a + 1..n {
                let mut cell = PairCell::default();
                for va in &goals.axes[a].1 {
                    for vb in &goals.axes[b].1 {
                        cell.required += 1;
                        if seen_pairs.contains(&(a, va.as_str(), b, vb.as_str())) {
                            cell.covered += 1;
                        }
                    }
                }
                pairs[a][b] = cell;
                pairs[b][a] = cell;
            }
        }
        Coverage {
            goals,
            tuples,
            transitions,
            operations,
            pairs,
        }
    }

    /// Operation goals covered.
    pub fn operations_covered(&self) -> usize {
        self.operations.iter().filter(|t| t.is_some()).count()
    }

    /// Tuples covered.
    pub fn tuples_covered(&self) -> usize {
        self.tuples.iter().filter(|t| t.is_some()).count()
    }

    /// Transitions covered.
    pub fn transitions_covered(&self) -> usize {
        self.transitions.iter().filter(|t| t.is_some()).count()
    }

    /// Transitions of one axis: (covered, required).
    pub fn transitions_of(&self, axis: &str) -> (usize, usize) {
        let mut out = (0, 0);
        for (x, at) in self.goals.transitions.iter().zip(&self.transitions) {
            if x.axis == axis {
                out.1 += 1;
                if at.is_some() {
                    out.0 += 1;
                }
            }
        }
        out
    }
}

/// Every value pair of two different axes.
fn all_pairs(axes: &[(String, Vec<String>)]) -> Vec<Tuple> {
    let mut out = Vec::new();
    for (i, (a, va)) in axes.iter().enumerate() {
        for (b, vb) in &axes[i + 1..] {
            for x in va {
                for y in vb {
                    out.push(normalise(vec![
                        (a.clone(), x.clone()),
                        (b.clone(), y.clone()),
                    ]));
                }
            }
        }
    }
    out
}

/// Every ordered change `a -> b` (a ≠ b) of each axis.
fn all_transitions(axes: &[(String, Vec<String>)]) -> Vec<Transition> {
    let mut out = Vec::new();
    for (axis, values) in axes {
        for from in values {
            for to in values {
                if from != to {
                    out.push(Transition {
                        axis: axis.clone(),
                        from: from.clone(),
                        to: to.clone(),
                    });
                }
            }
        }
    }
    out
}

fn normalise(mut t: Tuple) -> Tuple {
    t.sort();
    t
}

/// Reads a tuple in any of the shapes a plan may use: `{axis: value, ...}`,
/// `[[axis, value], ...]`, `[{"axis": a, "value": v}, ...]`, or one of those under `tuple`
/// or `values`. `None` when the list holds something else.
fn parse_tuples(list: &[serde_json::Value]) -> Option<Vec<Tuple>> {
    list.iter().map(parse_tuple).collect()
}

fn parse_tuple(v: &serde_json::Value) -> Option<Tuple> {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            if let Some(inner) = m.get("tuple").or_else(|| m.get("values"))
                && (inner.is_object() || inner.is_array())
            {
                return parse_tuple(inner);
            }
            if m.len() == 2
                && let (Some(Value::String(a)), Some(val)) = (m.get("axis"), m.get("value"))
            {
                return Some(vec![(a.clone(), label(val))]);
            }
            Some(normalise(
                m.iter().map(|(a, v)| (a.clone(), label(v))).collect(),
            ))
        }
        Value::Array(items) => {
            let mut t = Vec::new();
            for item in items {
                match item {
                    Value::Array(pair) if pair.len() == 2 => {
                        t.push((pair[0].as_str()?.to_string(), label(&pair[1])));
                    }
                    Value::Object(m) => {
                        let a = m.get("axis")?.as_str()?.to_string();
                        t.push((a, label(m.get("value")?)));
                    }
                    _ => return None,
                }
            }
            Some(normalise(t))
        }
        _ => None,
    }
}

/// Reads transitions as `{axis, from, to}` objects or `[axis, from, to]` arrays.
fn parse_transitions(list: &[serde_json::Value]) -> Option<Vec<Transition>> {
    list.iter()
        .map(|v| match v {
            serde_json::Value::Object(m) => Some(Transition {
                axis: m.get("axis")?.as_str()?.to_string(),
                from: label(m.get("from")?),
                to: label(m.get("to")?),
            }),
            serde_json::Value::Array(a) if a.len() == 3 => Some(Transition {
                axis: a[0].as_str()?.to_string(),
                from: label(&a[1]),
                to: label(&a[2]),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(coverage: serde_json::Value) -> PlanDigest {
        PlanDigest {
            axes: vec![
                ("a".into(), vec!["0".into(), "1".into()]),
                ("b".into(), vec!["x".into(), "y".into(), "z".into()]),
            ],
            coverage,
            ..PlanDigest::default()
        }
    }

    #[test]
    fn computes_pairs_and_transitions_when_the_plan_lists_none() {
        let g = Goals::of_plan(Some(&plan(json!({"pairs": 6}))), &json!({}));
        assert_eq!(g.tuples.len(), 6);
        assert_eq!(g.tuples_from, GoalSource::Computed);
        // 2·1 for a, 3·2 for b.
        assert_eq!(g.transitions.len(), 8);
    }

    #[test]
    fn reads_listed_goals_in_every_shape() {
        let g = Goals::of_plan(
            Some(&plan(json!({
                "tuples": [{"b": "x", "a": "0"}, [["a", "1"], ["b", "y"]],
                           [{"axis": "a", "value": 1}, {"axis": "b", "value": "z"}]],
                "transitions": [{"axis": "a", "from": "0", "to": "1"}, ["b", "x", "y"]],
            }))),
            &json!({}),
        );
        assert_eq!(g.tuples_from, GoalSource::Plan);
        assert_eq!(
            g.tuples[0],
            vec![("a".into(), "0".into()), ("b".into(), "x".into())]
        );
        assert_eq!(
            g.tuples[2],
            vec![("a".into(), "1".into()), ("b".into(), "z".into())]
        );
        assert_eq!(g.transitions_from, GoalSource::Plan);
        assert_eq!(g.transitions[1].to, "y");
    }

    #[test]
    fn infeasible_pairs_and_disabled_transitions_are_not_required() {
        let mut p = plan(json!({"infeasible": [{"a": "0", "b": "z"}]}));
        p.transitions = Some(false);
        let g = Goals::of_plan(Some(&p), &json!({}));
        assert_eq!(g.tuples.len(), 5);
        assert!(g.transitions.is_empty());
    }
}
