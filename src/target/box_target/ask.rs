//! Read-only questions to the box's own CLI (`--help`, `--version`): how a box run tells which
//! variant of the model the box is (see [`crate::model::variant`]) without changing anything.

use super::scripts::ASK;
use super::{BoxTarget, TargetError, deadline};
use crate::model::variant::{Detected, detect};

impl BoxTarget {
    /// The CLI's answer to `question`, one of [`crate::model::variant::ASKS`] (anything else
    /// is refused here, so no model can make canary run a changing verb), secrets redacted.
    pub async fn ask(&self, question: &str) -> Result<String, TargetError> {
        if !crate::model::variant::ASKS.contains(&question) {
            return Err(TargetError::Other(format!(
                "canary asks a box's CLI only {}, not `{question}`",
                crate::model::variant::ASKS.join(", ")
            )));
        }
        let mut args: Vec<&str> = vec![&self.dir, &self.tz, question];
        args.extend(self.pithead.iter().map(String::as_str));
        let out = self
            .run_read(ASK, &args)
            .await
            .map_err(deadline("deadline.observe", || {
                format!("`pithead {question}`")
            }))?;
        Ok(self.redactor.redact(&out.stdout_text()))
    }
}

impl BoxTarget {
    /// Which of `model`'s variants this box answers like: each variant's `detect` question is
    /// asked once; one that cannot be asked counts as no answer.
    pub async fn variant_of(&self, model: &crate::model::Model) -> Detected {
        let Some(variants) = &model.variants else {
            return Detected::Unknown;
        };
        let mut answers: Vec<(String, Option<String>)> = Vec::new();
        for d in variants.list.iter().filter_map(|v| v.detect.as_ref()) {
            if !answers.iter().any(|(q, _)| *q == d.ask) {
                answers.push((d.ask.clone(), self.ask(&d.ask).await.ok()));
            }
        }
        detect(&variants.list, |q| {
            answers
                .iter()
                .find(|(a, _)| a == q)
                .and_then(|(_, s)| s.clone())
        })
    }
}
