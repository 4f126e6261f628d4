//! Waiting for the box to be ready, and `--check`'s judgement of it without changing it.

use std::time::Duration;

use super::BoxTarget;
use crate::oracle::settle::not_healthy;
use crate::target::{Observation, TargetError};

impl BoxTarget {
    /// Polls until `pithead status` exits 0 and no running container is restarting, unhealthy
    /// or starting (the oracle's [`not_healthy`]), or `timeout` passes. Returns the time it took (the step's
    /// time-to-ready) and the last observation; `Err` on timeout says what was still not ready.
    pub async fn wait_ready(
        &mut self,
        timeout: Duration,
        poll: Duration,
    ) -> Result<(Duration, Observation), TargetError> {
        self.wait_until(timeout, poll, not_healthy).await
    }

    /// Polls observations until `pending` finds nothing left to wait for, or `timeout` passes,
    /// every `poll`, through canary's one polling loop ([`super::poll_until`]).
    pub async fn wait_until(
        &mut self,
        timeout: Duration,
        poll: Duration,
        pending: impl Fn(&Observation) -> Vec<String>,
    ) -> Result<(Duration, Observation), TargetError> {
        let (obs, held, waited, _) =
            crate::target::poll_until(self, timeout, poll, poll, |o, _, _| pending(o).is_empty())
                .await?;
        if held {
            return Ok((waited, obs));
        }
        Err(TargetError::Other(format!(
            "the box was not ready after {timeout:?}: {}",
            pending(&obs).join("; ")
        )))
    }

    /// Asserts the box's current state without changing anything (`--check`): status exits 0,
    /// every container runs and is not unhealthy, /api/state answers, the fingerprint can be
    /// computed. Returns the observation and the problems found (empty when healthy).
    pub async fn check_only(&mut self) -> Result<(Observation, Vec<String>), TargetError> {
        let (obs, _) = self.observe_full().await?;
        let problems = crate::oracle::settle::not_sound(&obs, &self.api_url);
        Ok((obs, problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::box_target::parse_containers;

    #[test]
    fn not_healthy_names_each_problem() {
        let obs = Observation {
            status_exit: 1,
            containers: parse_containers(
                r#"{"name":"a","id":"1","state":"running","health":"starting"}
{"name":"b","id":"2","state":"running","health":"healthy"}
{"name":"c","id":"3","state":"exited"}
{"name":"d","id":"4","state":"restarting"}"#,
            ),
            env: Default::default(),
            api: Default::default(),
            secret_fingerprint: String::new(),
        };
        // An exited container is the oracle's business, not readiness's.
        assert_eq!(
            not_healthy(&obs),
            vec![
                "pithead status exited 1",
                "a is starting",
                "d is restarting"
            ]
        );
    }
}
