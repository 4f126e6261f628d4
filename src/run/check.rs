//! `canary run --check`: the box's current state judged against what the model expects of its
//! current config.json, changing nothing. Every rule is the oracle's: its health rule for a
//! box ([`crate::oracle::settle::not_sound`]) and the state checks every step is judged by
//! ([`oracle::judge_state`]).

use std::collections::BTreeMap;

use crate::model::{Model, Supplied};
use crate::oracle::{self, Expected, Verdicts};
use crate::target::Target;
use crate::target::box_target::BoxTarget;

use super::config_of_json;

/// What `--check` found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// The model config the box's config.json holds, as labels.
    pub labels: BTreeMap<String, String>,
    /// Every problem, redacted; empty when the box is as the model expects.
    pub problems: Vec<String>,
}

/// Observes the box once and judges it.
pub async fn check_box(
    t: &mut BoxTarget,
    model: &Model,
    supplied: &Supplied,
) -> anyhow::Result<CheckReport> {
    let doc = t.read_config().await?;
    let (obs, mut problems) = t.check_only().await?;
    let raw = config_of_json(model, supplied, &doc);
    let effective = model.effective(&raw);
    let expected = Expected::new(model, supplied, &effective);
    let mut verdicts = Verdicts::new(false);
    oracle::judge_state(&expected, &obs, &mut verdicts);
    problems.extend(
        verdicts
            .failures()
            .map(|v| format!("{}: {}", v.check, v.message)),
    );
    let redactor = t.redactor();
    Ok(CheckReport {
        labels: model.labels(&raw),
        problems: problems.iter().map(|p| redactor.redact(p)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config_json;
    use serde_json::json;

    #[test]
    fn config_json_reads_back_as_the_config_that_wrote_it() {
        let (m, s, d) = crate::run::test_start();
        let raw = m
            .config_from_labels(&d, [("p2pool.pool", "nano"), ("tari.mode", "off")])
            .unwrap();
        assert_ne!(raw, d);
        let doc = config_json(&json!({"config_version": "2.0.0"}), &m, &s, &raw);
        assert_eq!(config_of_json(&m, &s, &doc), raw);
        // Keys the file lacks are the model's defaults.
        assert_eq!(config_of_json(&m, &s, &json!({})), d);
    }
}
