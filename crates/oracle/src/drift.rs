//! Drift: the box's CLI is older or newer than the model and refuses a planned value by
//! validation (e.g. builds without `tari.mode: off`: exit 1, `must be "local" or "remote"`)
//! with nothing changed. That is a finding of its own, one `drift` verdict carrying the CLI's
//! message, not a wrong-container failure; `--skip-value` drops such a value.

use serde_json::json;

use super::Verdicts;
use canary_core::target::{CommandResult, Observation};

/// The check name of a drift verdict (counted apart in the reports).
pub const CHECK: &str = "drift";

/// Words of a validation refusal (Pithead's parse_and_validate_config errors).
const REFUSAL: [&str; 4] = ["must be", "is not a valid", "is required", "not supported"];

/// The CLI's refusal line when `apply` is a validation refusal that changed nothing between
/// `before` and `after` (same containers, ids and starts; same .env).
pub fn refusal(apply: &CommandResult, before: &Observation, after: &Observation) -> Option<String> {
    if apply.exit_code != 1 {
        return None;
    }
    let line = apply
        .output
        .lines()
        .find(|l| REFUSAL.iter().any(|w| l.contains(w)))?;
    let same = |a: &Observation, b: &Observation| {
        let key = |o: &Observation| {
            let mut v: Vec<(String, String, String)> = o
                .containers
                .iter()
                .map(|c| (c.name.clone(), c.id.clone(), c.started.clone()))
                .collect();
            v.sort();
            v
        };
        key(a) == key(b) && a.env == b.env
    };
    same(before, after).then(|| line.trim().to_string())
}

/// Records the drift verdict for `message`.
pub fn record(message: &str, out: &mut Verdicts) {
    out.record(
        CHECK,
        false,
        || json!({"apply_exit": 1, "message": message}),
        || json!("the planned value is accepted"),
        || format!("the box's CLI refuses a value the model plans, nothing changed: {message}"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use canary_core::target::ContainerState;

    fn obs(id: &str) -> Observation {
        Observation {
            containers: vec![ContainerState {
                name: "tari".into(),
                id: id.into(),
                started: "t0".into(),
                state: "running".into(),
                health: None,
            }],
            status_exit: 0,
            env: Default::default(),
            api: Default::default(),
            secret_fingerprint: String::new(),
        }
    }

    #[test]
    fn only_a_refusal_that_changed_nothing_is_drift() {
        let refused = CommandResult {
            exit_code: 1,
            output: "Error: tari.mode must be \"local\" or \"remote\"\n".into(),
        };
        assert_eq!(
            refusal(&refused, &obs("a"), &obs("a")).as_deref(),
            Some("Error: tari.mode must be \"local\" or \"remote\"")
        );
        // A container changed: not drift, the ordinary verdicts judge it.
        assert_eq!(refusal(&refused, &obs("a"), &obs("b")), None);
        let crashed = CommandResult {
            exit_code: 1,
            output: "docker compose up failed\n".into(),
        };
        assert_eq!(refusal(&crashed, &obs("a"), &obs("a")), None);
        let ok = CommandResult {
            exit_code: 0,
            output: "must be fine".into(),
        };
        assert_eq!(refusal(&ok, &obs("a"), &obs("a")), None);
    }
}
