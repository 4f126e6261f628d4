//! Walks read back from a saved plan (`canary plan --format json`, `canary run --plan FILE`).
//!
//! Only the raw configs are taken from the file; effective configs and predictions are
//! recomputed from the model, so the oracle's expectations never come from a file that may
//! have been edited or made by another version.

use serde_json::Value;

use crate::model::{Config, Model, OpKind, Supplied, Transition, fill_templates};
use crate::plan::Step;

/// What a secret value is printed as in a saved plan.
const REDACTED: &str = "<redacted>";

/// A walk read from a saved plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedWalk {
    /// The raw config the walk starts from.
    pub baseline: Config,
    pub steps: Vec<Step>,
}

/// Why a saved plan cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SavedPlanError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, SavedPlanError> {
    Err(SavedPlanError(msg.into()))
}

/// The value index of `given` on `axis`: by its config.json JSON (templates filled from what
/// was supplied; a redacted secret matches its template), or by its label.
fn value_of(model: &Model, supplied: &Supplied, axis: usize, given: &Value) -> Option<u16> {
    let values = &model.axes[axis].values;
    let by_json = values.iter().position(|v| {
        v.json == *given
            || fill_templates(&v.json, supplied) == *given
            || (given == REDACTED && v.json.as_str().is_some_and(|s| s.contains("${")))
    });
    let by_label = || {
        given
            .as_str()
            .and_then(|s| values.iter().position(|v| v.label == s))
    };
    by_json.or_else(by_label).map(|i| i as u16)
}

fn labels_config(model: &Model, labels: &Value, what: &str) -> Result<Config, SavedPlanError> {
    let Some(map) = labels.as_object() else {
        return err(format!(
            "{what} must be an object of axis name → value label"
        ));
    };
    let pairs: Vec<(&str, &str)> = map
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s)))
        .collect();
    model
        .config_from_labels(&model.default_config(), pairs)
        .map_err(|e| SavedPlanError(format!("{what}: {e}")))
}

/// Reads the first walk of a saved plan: `baseline` (labels) and `walk` (steps whose `config`
/// maps axis names to config.json values). Checks the plan was made from this model and that
/// each config is valid and allowed with what was supplied.
pub fn walk_from_plan_json(
    model: &Model,
    supplied: &Supplied,
    plan: &Value,
) -> Result<SavedWalk, SavedPlanError> {
    if let Some(hash) = plan.get("model_hash").and_then(Value::as_str)
        && hash != model.hash
    {
        return err(format!(
            "the plan was made from another model (model_hash {}…, this model {}…); \
             re-plan with `canary plan --format json` or pass the plan's --model",
            &hash[..hash.len().min(12)],
            &model.hash[..12]
        ));
    }
    let baseline = match plan.get("baseline") {
        Some(b) => labels_config(model, b, "baseline")?,
        None => model.default_config(),
    };
    let Some(walk) = plan.get("walk").and_then(Value::as_array) else {
        return err(
            "the plan has no `walk` array; give a plan written by `canary plan --format json`",
        );
    };
    let mut raws = Vec::with_capacity(walk.len());
    let mut backed_up = false;
    for (i, step) in walk.iter().enumerate() {
        if let Some(name) = step.get("operation") {
            let Some(op) = name.as_str().and_then(|n| model.operation_index(n)) else {
                return err(format!(
                    "walk step {}: unknown operation {name}; the model's operations are: {}",
                    i + 1,
                    model.operation_names()
                ));
            };
            let o = &model.operations[op];
            backed_up |= o.kind == OpKind::Backup;
            let at = raws
                .iter()
                .rev()
                .find_map(|t: &Transition| t.config().cloned())
                .unwrap_or_else(|| baseline.clone());
            if !o.allowed_on(&model.effective(&at).0) {
                return err(format!(
                    "walk step {}: `{}` may not run here: it requires {}",
                    i + 1,
                    o.name,
                    o.requires_text.as_deref().unwrap_or("nothing")
                ));
            }
            if o.needs_backup() && !backed_up {
                return err(format!(
                    "walk step {}: `{}` needs a backup step before it",
                    i + 1,
                    o.name
                ));
            }
            raws.push(Transition::Operate(op as u16));
            continue;
        }
        let Some(config) = step.get("config").and_then(Value::as_object) else {
            return err(format!("walk step {}: no `config` object", i + 1));
        };
        let mut raw = model.default_config();
        for (name, given) in config {
            // Extra keys of gated values (`monero.remote.host`) follow from the axes.
            let Some(axis) = model.axis_index(name) else {
                continue;
            };
            let Some(v) = value_of(model, supplied, axis, given) else {
                return err(format!(
                    "walk step {}: {name}={given} is not a value of the model's axis",
                    i + 1
                ));
            };
            raw.0[axis] = v;
        }
        if let Some(c) = model.violation(&raw.0) {
            return err(format!(
                "walk step {}: breaks the constraint {}",
                i + 1,
                c.text
            ));
        }
        for (a, &v) in raw.0.iter().enumerate() {
            if !model.value_allowed(a, v, supplied) {
                let needs: Vec<String> = model
                    .gates
                    .iter()
                    .filter(|g| g.axis == a && g.value == v)
                    .flat_map(|g| g.needs.iter().map(|n| format!("--supply {n}=...")))
                    .collect();
                return err(format!(
                    "walk step {}: {}={} is gated; supply {}",
                    i + 1,
                    model.axes[a].name,
                    model.label(a, v),
                    needs.join(" and ")
                ));
            }
        }
        raws.push(Transition::Apply(raw));
    }
    let steps = super::steps_from_transitions(model, supplied, &baseline, raws);
    Ok(SavedWalk { baseline, steps })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> Model {
        crate::run::test_pithead()
    }

    #[test]
    fn reads_configs_by_json_or_label_and_recomputes_predictions() {
        let m = model();
        let s = Supplied::default();
        let plan = json!({
            "model_hash": m.hash,
            "baseline": m.labels(&m.default_config()),
            "walk": [
                {"step": 1, "config": {"p2pool.pool": "main", "xvb.enabled": false}, "recreated": ["made-up"]},
                {"step": 2, "config": {"p2pool.pool": "mini", "tari.mode": "off"}},
            ],
        });
        let w = walk_from_plan_json(&m, &s, &plan).unwrap();
        assert_eq!(w.steps.len(), 2);
        assert_eq!(w.steps[0].prediction.recreated, ["p2pool", "dashboard"]);
        let tari = m.axis_index("tari.mode").unwrap();
        assert_eq!(m.label(tari, w.steps[1].config.0[tari]), "off");
    }

    #[test]
    fn refuses_other_models_unknown_values_and_gated_values() {
        let m = model();
        let s = Supplied::default();
        let e = walk_from_plan_json(&m, &s, &json!({"model_hash": "ab".repeat(32), "walk": []}))
            .unwrap_err();
        assert!(e.0.contains("another model"), "{e}");
        let e = walk_from_plan_json(
            &m,
            &s,
            &json!({"walk": [{"config": {"p2pool.pool": "huge"}}]}),
        )
        .unwrap_err();
        assert!(e.0.contains("step 1") && e.0.contains("p2pool.pool"), "{e}");
        let e = walk_from_plan_json(
            &m,
            &s,
            &json!({"walk": [{"config": {"monero.mode": "remote"}}]}),
        )
        .unwrap_err();
        assert!(e.0.contains("--supply remote_monero_host"), "{e}");
        let e = walk_from_plan_json(&m, &s, &json!({"steps": []})).unwrap_err();
        assert!(e.0.contains("no `walk`"), "{e}");
    }
}
