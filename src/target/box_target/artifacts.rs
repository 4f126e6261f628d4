//! The failure artifacts of a step: what the box looked like, all redacted.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::protocol::alternation;
use super::scripts::{LOGS, READ_ENV_MASKED};
use super::{BoxTarget, ContainerList};
use crate::redact::SECRET_ENV_KEYS;
use crate::target::TargetError;

impl BoxTarget {
    /// Writes the failure artifacts of step `step` under `<run_dir>/artifacts/step-<step>/`:
    /// container list, status, doctor, config.json (masked), .env (redacted), /api/state and
    /// recent logs, all redacted. Best effort per file: a file that cannot be read says why.
    pub async fn capture_artifacts(
        &mut self,
        step: u64,
        run_dir: &Path,
    ) -> Result<PathBuf, TargetError> {
        let dir = run_dir.join("artifacts").join(format!("step-{step}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| TargetError::Other(format!("cannot create {}: {e}", dir.display())))?;
        let mut files: Vec<(&str, String)> = Vec::new();
        match self.observe_full().await {
            Ok((obs, text)) => {
                files.push((
                    "status.txt",
                    format!("{}\n[exit {}]\n", text.status, obs.status_exit),
                ));
                files.push(("containers.txt", text.containers));
                files.push((
                    "containers.json",
                    serde_json::to_string_pretty(&obs.containers).unwrap_or_default(),
                ));
                files.push((
                    "api-state.json",
                    serde_json::to_string_pretty(&obs.api).unwrap_or_default(),
                ));
                files.push(("fingerprint.txt", obs.secret_fingerprint));
            }
            Err(e) => files.push(("observe-error.txt", e.to_string())),
        }
        let doctor = self
            .run_pithead(&["doctor"], self.command_timeout, true)
            .await;
        files.push((
            "doctor.txt",
            match doctor {
                Ok(o) => format!("{}\n[exit {}]\n", o.combined_text(), o.code),
                Err(e) => e.to_string(),
            },
        ));
        files.push((
            "config.json",
            match self.read_config_raw().await {
                Ok(Some(raw)) => match serde_json::from_slice::<Value>(&raw) {
                    Ok(v) => serde_json::to_string_pretty(&self.redactor.redact_json(&v))
                        .unwrap_or_default(),
                    Err(e) => format!("config.json is not JSON ({e}); not copied"),
                },
                Ok(None) => "config.json is missing".into(),
                Err(e) => e.to_string(),
            },
        ));
        let re = alternation(SECRET_ENV_KEYS);
        files.push((
            "env.txt",
            self.script_text(READ_ENV_MASKED, &[&self.dir, &re]).await,
        ));
        let mode = if self.containers == ContainerList::DockerCompose {
            "docker"
        } else {
            "pithead"
        };
        let mut args: Vec<&str> = vec![&self.dir, mode, &self.tz];
        args.extend(self.pithead.iter().map(String::as_str));
        files.push(("logs.txt", self.script_text(LOGS, &args).await));
        for (name, content) in files {
            // Everything is redacted here, whatever was done upstream: the last net.
            let content = self.redactor.redact(&content);
            std::fs::write(dir.join(name), content).map_err(|e| {
                TargetError::Other(format!("cannot write {}: {e}", dir.join(name).display()))
            })?;
        }
        Ok(dir)
    }

    /// A script's output for an artifact, or why it could not be run.
    async fn script_text(&self, script: &str, args: &[&str]) -> String {
        match self.run_read(script, args).await {
            Ok(o) => o.stdout_text(),
            Err(e) => e.to_string(),
        }
    }
}
