//! Sink adapters for box runs: [`Redacting`] passes every journal event through a
//! [`Redactor`] before the inner sink sees it, and [`Shifted`] renumbers the steps of a
//! sub-walk (one step at a time, or the rest of a resumed walk) to their place in the whole
//! walk and drops the sub-walk's own `Baseline` and `RunEnd` lines, which the caller writes
//! once for the whole run.

use crate::journal::Event;
use crate::model::{Model, Supplied};
use crate::redact::Redactor;

use super::{Sink, StepReport};

/// Redacts every event (config values, command outputs, observations, verdict messages)
/// before handing it on. An event that cannot be turned back into an [`Event`] after
/// redaction is an error, never written in clear.
pub struct Redacting<'a, S> {
    inner: &'a mut S,
    redactor: &'a Redactor,
}

impl<'a, S: Sink> Redacting<'a, S> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut S, redactor: &'a Redactor) -> Self {
        Redacting { inner, redactor }
    }
}

/// The event with every string passed through `redactor` (JSON keys included, config.json
/// secret leaves masked by path).
pub fn redact_event(redactor: &Redactor, event: &Event) -> std::io::Result<Event> {
    let value = serde_json::to_value(event).map_err(std::io::Error::other)?;
    let clean = redactor.redact_json(&value);
    serde_json::from_value(clean).map_err(|e| {
        std::io::Error::other(format!(
            "a journal event no longer parses once redacted ({e}); it was not written"
        ))
    })
}

impl<S: Sink> Sink for Redacting<'_, S> {
    fn journaling(&self) -> bool {
        self.inner.journaling()
    }

    fn keep_passed(&self) -> bool {
        self.inner.keep_passed()
    }

    fn event(&mut self, event: Event) -> std::io::Result<()> {
        let clean = redact_event(self.redactor, &event)?;
        self.inner.event(clean)
    }

    fn step_done(&mut self, report: &StepReport<'_>) {
        self.inner.step_done(report)
    }
}

/// Adds the secret prerequisites supplied with `--supply` to a redactor: they are written
/// into config.json by the walk and must never reach a journal line.
pub fn add_supplied_secrets(redactor: &mut Redactor, model: &Model, supplied: &Supplied) {
    for p in model.prerequisites.iter().filter(|p| p.secret) {
        if let Some(v) = supplied.0.get(&p.name) {
            redactor.add(&p.name, v);
        }
    }
}

/// Renumbers the steps of a sub-walk starting at `offset` and drops its `Baseline`,
/// `Stopped` and `RunEnd` events.
pub struct Shifted<'a, S> {
    inner: &'a mut S,
    offset: usize,
}

impl<'a, S: Sink> Shifted<'a, S> {
    /// Wraps `inner`; step 0 of the sub-walk is step `offset` of the walk.
    pub fn new(inner: &'a mut S, offset: usize) -> Self {
        Shifted { inner, offset }
    }
}

/// The event with its step number moved by `offset`.
pub fn shift_event(event: Event, offset: usize) -> Event {
    match event {
        Event::StepStart {
            step,
            config,
            effective,
            changed,
            predicted,
            operation,
        } => Event::StepStart {
            step: step + offset,
            config,
            effective,
            changed,
            predicted,
            operation,
        },
        Event::Action {
            step,
            command,
            result,
            seconds,
        } => Event::Action {
            step: step + offset,
            command,
            result,
            seconds,
        },
        Event::Fault {
            step,
            reached,
            seconds,
            polls,
        } => Event::Fault {
            step: step + offset,
            reached,
            seconds,
            polls,
        },
        Event::Apply {
            step,
            result,
            seconds,
        } => Event::Apply {
            step: step + offset,
            result,
            seconds,
        },
        Event::Ready {
            step,
            reached,
            ended,
            seconds,
            polls,
        } => Event::Ready {
            step: step + offset,
            reached,
            ended,
            seconds,
            polls,
        },
        Event::Observed { step, observation } => Event::Observed {
            step: step + offset,
            observation,
        },
        Event::SecondApply { step, result } => Event::SecondApply {
            step: step + offset,
            result,
        },
        Event::Verdict { step, verdict } => Event::Verdict {
            step: step + offset,
            verdict,
        },
        Event::StepEnd {
            step,
            passed,
            seconds,
        } => Event::StepEnd {
            step: step + offset,
            passed,
            seconds,
        },
        Event::TargetFailed { step, error } => Event::TargetFailed {
            step: step.map(|s| s + offset),
            error,
        },
        other => other,
    }
}

impl<S: Sink> Sink for Shifted<'_, S> {
    fn journaling(&self) -> bool {
        self.inner.journaling()
    }

    fn keep_passed(&self) -> bool {
        self.inner.keep_passed()
    }

    fn event(&mut self, event: Event) -> std::io::Result<()> {
        match event {
            Event::Baseline { .. } | Event::RunEnd { .. } | Event::Stopped { .. } => Ok(()),
            other => self.inner.event(shift_event(other, self.offset)),
        }
    }

    fn step_done(&mut self, report: &StepReport<'_>) {
        self.inner.step_done(&StepReport {
            index: report.index + self.offset,
            step: report.step,
            verdicts: report.verdicts,
            ready: report.ready,
            seconds: report.seconds,
            wall: report.wall,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{CommandResult, Observation};

    #[test]
    fn every_string_of_an_event_is_redacted() {
        let mut r = Redactor::new();
        r.add("PROXY_AUTH_TOKEN", "tok-9f8e7d6c5b4a");
        let obs = Observation {
            status_exit: 0,
            containers: vec![],
            env: std::sync::Arc::new(
                [(
                    "NOTE".to_string(),
                    "has tok-9f8e7d6c5b4a inside".to_string(),
                )]
                .into(),
            ),
            api: std::sync::Arc::new(serde_json::json!({"token": "tok-9f8e7d6c5b4a"})),
            secret_fingerprint: "ab".repeat(32),
        };
        let e = Event::Observed {
            step: 3,
            observation: obs,
        };
        let clean = redact_event(&r, &e).unwrap();
        let text = serde_json::to_string(&clean).unwrap();
        assert!(!text.contains("tok-9f8e7d6c5b4a"), "{text}");
        assert!(text.contains("<redacted:PROXY_AUTH_TOKEN>"), "{text}");
        let a = Event::Apply {
            step: 0,
            result: CommandResult {
                exit_code: 0,
                output: "token=tok-9f8e7d6c5b4a".into(),
            },
            seconds: 1.0,
        };
        let text = serde_json::to_string(&redact_event(&r, &a).unwrap()).unwrap();
        assert!(!text.contains("tok-9f8e7d6c5b4a"), "{text}");
    }

    #[test]
    fn shifting_moves_step_numbers_only() {
        let e = shift_event(
            Event::StepEnd {
                step: 1,
                passed: true,
                seconds: 2.0,
            },
            5,
        );
        assert_eq!(
            e,
            Event::StepEnd {
                step: 6,
                passed: true,
                seconds: 2.0
            }
        );
        let f = shift_event(
            Event::TargetFailed {
                step: None,
                error: "x".into(),
            },
            5,
        );
        assert_eq!(
            f,
            Event::TargetFailed {
                step: None,
                error: "x".into()
            }
        );
    }
}
