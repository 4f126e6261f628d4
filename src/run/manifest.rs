//! The run options the manifest records, typed: written as the manifest's `options` map and
//! read back from it when a dropped run is resumed (by the same names, in one place).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::RunOptions;

/// The options of a run as its manifest records them.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestOptions {
    pub strength: usize,
    pub transitions: Option<bool>,
    /// The operation groups walked, as `--operations` names them.
    pub operations: String,
    pub max_steps: Option<usize>,
    pub fail_fast: bool,
    pub ready_timeout_s: f64,
    /// Operation windows scaled for a box with faster timers; absent from the map when unset.
    pub op_timescale: Option<f64>,
    /// The saved plan run, when one was.
    pub plan_file: Option<String>,
}

impl ManifestOptions {
    /// The manifest's `options` map.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        let mut m = BTreeMap::new();
        m.insert("strength".into(), json!(self.strength));
        m.insert("transitions".into(), json!(self.transitions));
        m.insert("operations".into(), json!(self.operations));
        m.insert("max_steps".into(), json!(self.max_steps));
        m.insert("fail_fast".into(), json!(self.fail_fast));
        m.insert("ready_timeout_s".into(), json!(self.ready_timeout_s));
        if let Some(f) = self.op_timescale {
            m.insert("op_timescale".into(), json!(f));
        }
        m.insert("plan_file".into(), json!(self.plan_file));
        m
    }

    /// Takes what a resumed run keeps from its manifest: the step limit and the stop rule
    /// when recorded, the readiness timeout, and the operation windows (unscaled when the
    /// manifest has none).
    pub fn resume_from(&mut self, map: &BTreeMap<String, Value>) {
        if let Some(n) = map.get("max_steps").and_then(Value::as_u64) {
            self.max_steps = Some(n as usize);
        }
        if let Some(b) = map.get("fail_fast").and_then(Value::as_bool) {
            self.fail_fast = b;
        }
        if let Some(t) = map.get("ready_timeout_s").and_then(Value::as_f64) {
            self.ready_timeout_s = t.max(0.0);
        }
        self.op_timescale = map.get("op_timescale").and_then(Value::as_f64);
    }

    /// Puts the step loop's part of these options into `options`.
    pub fn restore_into(&self, options: &mut RunOptions) {
        options.max_steps = self.max_steps;
        options.fail_fast = self.fail_fast;
        options.readiness.timeout = std::time::Duration::from_secs_f64(self.ready_timeout_s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ManifestOptions {
        ManifestOptions {
            strength: 2,
            transitions: None,
            operations: "none".into(),
            max_steps: Some(4),
            fail_fast: true,
            ready_timeout_s: 90.0,
            op_timescale: Some(0.5),
            plan_file: None,
        }
    }

    #[test]
    fn a_resumed_run_reads_back_what_its_manifest_wrote() {
        let written = sample();
        let mut again = ManifestOptions {
            max_steps: None,
            fail_fast: false,
            ready_timeout_s: 1.0,
            op_timescale: None,
            ..sample()
        };
        again.resume_from(&written.to_map());
        assert_eq!(again, written);
        let mut options = RunOptions::default();
        again.restore_into(&mut options);
        assert_eq!(options.max_steps, Some(4));
        assert!(options.fail_fast);
        assert_eq!(options.readiness.timeout.as_secs(), 90);
    }

    #[test]
    fn the_map_has_the_manifests_names_and_no_timescale_when_unset() {
        let m = ManifestOptions {
            op_timescale: None,
            ..sample()
        }
        .to_map();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "fail_fast",
                "max_steps",
                "operations",
                "plan_file",
                "ready_timeout_s",
                "strength",
                "transitions"
            ]
        );
        // A manifest without a timescale resumes unscaled, whatever the new command line says.
        let mut resumed = sample();
        resumed.resume_from(&m);
        assert_eq!(resumed.op_timescale, None);
    }
}
