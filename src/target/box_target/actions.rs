//! Operations on the box ([`crate::target::Target::act`]) and the recoveries they owe: a
//! stopped service owes its start, an emptied token its restore, remembered until done so the
//! safety net can finish them after a dropped walk.

use super::protocol::{backup_archive, deadline};
use super::scripts::{EMPTY_TOKEN, RESTORE_TOKEN};
use super::{BoxTarget, KEPT_ENV};
use crate::model::Action;
use crate::target::{CommandResult, Target, TargetError};

/// What a fault action leaves owed: the recovery that undoes it, in order.
fn owed_by(action: &Action) -> Vec<Action> {
    match action {
        Action::Stop(s) => vec![Action::Start(s.clone())],
        Action::Freeze(s) => vec![Action::Thaw(s.clone())],
        Action::Remove(s) => vec![Action::UpService(s.clone())],
        Action::Down => vec![Action::Up],
        Action::EmptyProxyToken => vec![Action::RestoreProxyToken, Action::Up],
        _ => Vec::new(),
    }
}

impl BoxTarget {
    /// Performs one box action of an operation ([`Target::act`]), remembering what it owes.
    pub(super) async fn perform(&mut self, action: &Action) -> Result<CommandResult, TargetError> {
        // Owed before it runs: a command cut short may still have done its part.
        let owed = owed_by(action);
        self.owed.splice(0..0, owed);
        let t = self.action_timeout;
        let result = match action {
            Action::Restart { service } => {
                let mut args = vec!["restart"];
                args.extend(service.as_deref());
                self.pithead(&args, t).await?
            }
            Action::Down => self.pithead(&["down"], t).await?,
            Action::Up => self.pithead(&["up"], t).await?,
            Action::Backup => {
                let (result, archive) = self.backup().await?;
                if result.exit_code == 0 {
                    self.last_backup = Some(archive);
                }
                result
            }
            Action::Restore => match self.last_backup.clone() {
                None => {
                    return Err(TargetError::Unusable(
                        "a restore needs a backup earlier in the walk, and none was taken".into(),
                    ));
                }
                Some(None) => CommandResult {
                    exit_code: 2,
                    output: "canary: the last `pithead backup` printed no archive                              (backups/pithead-backup-*.tar.gz) to restore"
                        .into(),
                },
                Some(Some(archive)) => self.pithead(&["restore", "-y", &archive], t).await?,
            },
            Action::Stop(s) => self.compose(&["stop", s]).await?,
            Action::Start(s) => self.compose(&["start", s]).await?,
            Action::Freeze(s) => self.compose(&["kill", "-s", "SIGSTOP", s]).await?,
            Action::Thaw(s) => self.compose(&["kill", "-s", "SIGCONT", s]).await?,
            Action::Remove(s) => self.compose(&["rm", "-sf", s]).await?,
            Action::UpService(s) => self.compose(&["up", "-d", s]).await?,
            Action::EmptyProxyToken => self.token_script(EMPTY_TOKEN).await?,
            Action::RestoreProxyToken => self.token_script(RESTORE_TOKEN).await?,
        };
        // A recovery pays what is owed only in order: the `up` after an emptied token counts
        // once the token is back, not the refused `up` in between.
        if result.exit_code == 0 && self.owed.first() == Some(action) {
            self.owed.remove(0);
        }
        Ok(result)
    }

    /// `<compose> args...` in the stack directory.
    async fn compose(&self, args: &[&str]) -> Result<CommandResult, TargetError> {
        let mut argv = self.compose.clone();
        argv.extend(args.iter().map(|a| a.to_string()));
        // Stopping, starting and signalling a service again is harmless: retried after a
        // dropped connection, so a recovery is not lost to one.
        self.run_in_dir(&argv, self.action_timeout, true).await
    }

    /// One of canary's fixed scripts on the proxy token, with the side file's name.
    async fn token_script(&self, script: &str) -> Result<CommandResult, TargetError> {
        let out = self
            .exec
            .run_script(
                &self.privilege,
                script,
                &[&self.dir, KEPT_ENV],
                None,
                self.action_timeout,
                script == RESTORE_TOKEN,
            )
            .await
            .map_err(deadline("deadline.action", || {
                "canary's proxy token script".into()
            }))?;
        Ok(CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        })
    }

    /// `pithead backup -y --no-encrypt` (never `--with-chains`: the chains stay out of every
    /// backup canary takes); the archive it printed, when it printed one.
    pub async fn backup(&mut self) -> Result<(CommandResult, Option<String>), TargetError> {
        let out = self
            .run_pithead(
                &["backup", "-y", "--no-encrypt"],
                self.action_timeout,
                false,
            )
            .await?;
        let archive = (out.code == 0)
            .then(|| backup_archive(&out.combined_text()))
            .flatten();
        let result = CommandResult {
            exit_code: out.code,
            output: self.redactor.redact(&out.combined_text()),
        };
        Ok((result, archive))
    }

    /// Recovery actions owed by fault actions that ran (a stopped service's start, an emptied
    /// token's restore), in the order they must run.
    pub fn owed(&self) -> &[Action] {
        &self.owed
    }

    /// Runs every owed recovery action, in order, once each (a failing one is reported, not
    /// retried). For the safety net, after a walk that was dropped half-way.
    pub async fn settle_owed(&mut self) -> Vec<(Action, Result<CommandResult, TargetError>)> {
        let mut done = Vec::new();
        while let Some(action) = self.owed.first().cloned() {
            let result = self.act(&action).await;
            if self.owed.first() == Some(&action) {
                self.owed.remove(0);
            }
            done.push((action, result));
        }
        done
    }

    /// Puts back the .env a token emptying kept ([`KEPT_ENV`]), if one is on the box:
    /// `Ok(true)` when there was one. For the safety net, before anything else.
    pub async fn restore_kept_env(&mut self) -> Result<bool, TargetError> {
        let r = self.token_script(RESTORE_TOKEN).await?;
        match r.exit_code {
            0 => {
                self.owed.retain(|a| *a != Action::RestoreProxyToken);
                Ok(true)
            }
            3 => Ok(false),
            code => Err(TargetError::Other(format!(
                "could not put .env back from {KEPT_ENV} (exit {code}): {}",
                r.output.trim()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_action_owes_its_recovery() {
        let m = || "monerod".to_string();
        assert_eq!(owed_by(&Action::Stop(m())), [Action::Start(m())]);
        assert_eq!(owed_by(&Action::Freeze(m())), [Action::Thaw(m())]);
        assert_eq!(owed_by(&Action::Remove(m())), [Action::UpService(m())]);
        assert_eq!(owed_by(&Action::Down), [Action::Up]);
        assert_eq!(
            owed_by(&Action::EmptyProxyToken),
            [Action::RestoreProxyToken, Action::Up]
        );
        // Recoveries and self-contained actions owe nothing.
        for a in [
            Action::Start(m()),
            Action::Up,
            Action::Backup,
            Action::Restart { service: None },
        ] {
            assert!(owed_by(&a).is_empty(), "{a:?}");
        }
    }
}
