//! What the safety net keeps and checks on the box itself: a 0600 copy of the original .env
//! (so a .env lost mid-walk can be put back without its secrets ever crossing the wire), the
//! stack files that must exist for a walk to mean anything, and the fingerprint of a .env kept
//! aside by a token emptying (what the box's secrets really are while the token is out).

use super::protocol::deadline;
use super::scripts::{DROP_ENV, KEEP_ENV, KEPT_FINGERPRINT, MISSING};
use super::{BoxTarget, KEPT_ENV, TargetError};
use crate::redact::FINGERPRINT_KEYS;

/// The 0600 copy of the box's original .env, in the stack directory, taken with the snapshot
/// and removed after a verified restore.
pub const ENV_ORIG: &str = ".env.canary-orig";

impl BoxTarget {
    async fn keep_script(&self, script: &str, args: &[&str]) -> Result<(i32, String), TargetError> {
        let mut all = vec![self.dir.as_str()];
        all.extend(args);
        let out = self
            .run_read(script, &all)
            .await
            .map_err(deadline("deadline.observe", || {
                "canary's stack file check".into()
            }))?;
        Ok((out.code, self.redactor.redact(&out.combined_text())))
    }

    /// Copies .env to [`ENV_ORIG`] (mode 0600) on the box.
    pub async fn keep_env_copy(&self) -> Result<(), TargetError> {
        match self.keep_script(KEEP_ENV, &[ENV_ORIG]).await? {
            (0, _) => Ok(()),
            (code, out) => Err(TargetError::Other(format!(
                "cannot keep a copy of .env as {ENV_ORIG} in {} (exit {code}): {}",
                self.dir,
                out.trim()
            ))),
        }
    }

    /// Removes the [`ENV_ORIG`] copy (after a verified restore).
    pub async fn drop_env_copy(&self) -> Result<(), TargetError> {
        self.keep_script(DROP_ENV, &[ENV_ORIG]).await.map(|_| ())
    }

    /// The stack files that are gone (`config.json`, `.env`, or the directory itself): a box
    /// missing one is broken beyond anything a walk does.
    pub async fn missing_stack_files(&self) -> Result<Vec<String>, TargetError> {
        let (_, out) = self.keep_script(MISSING, &[]).await?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// The fingerprint of the .env a token emptying kept aside ([`KEPT_ENV`]), when there is
    /// one: the box's real secrets while its token is out.
    pub async fn kept_env_fingerprint(&self) -> Result<Option<String>, TargetError> {
        let re = FINGERPRINT_KEYS.join("|");
        let (_, out) = self.keep_script(KEPT_FINGERPRINT, &[&re, KEPT_ENV]).await?;
        let fp = out.trim();
        Ok((fp.len() == 64).then(|| fp.to_string()))
    }

    /// A fact the box's probe found when the target was opened (`realdir`, `hostname`, ...).
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts.get(key).map(String::as_str)
    }
}
