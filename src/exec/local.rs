//! The local executor: spawns processes on this machine, no shell in between.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{ExecError, Invocation, Output};

/// Runs commands on this machine.
#[derive(Debug, Default, Clone)]
pub struct Local;

impl Local {
    pub(super) async fn run(&self, inv: &Invocation) -> Result<Output, ExecError> {
        let program = inv.argv[0].clone();
        let mut cmd = Command::new(&inv.argv[0]);
        cmd.args(&inv.argv[1..])
            .stdin(if inv.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A timed-out command must not outlive canary.
            .kill_on_drop(true)
            // Its own process group, so a timeout (or canary stopping) takes down what it
            // started too (a `pithead` script's `docker compose`, a `sleep`), not only itself.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
            program: program.clone(),
            message: e.to_string(),
        })?;
        let mut group = GroupKill(child.id());
        let stdin = child.stdin.take();
        let input = inv.stdin.clone();
        let feed = async move {
            if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
                // A command that exits without reading its stdin is not an error of ours.
                let _ = pipe.write_all(&bytes).await;
                drop(pipe);
            }
        };
        // Feed stdin while draining stdout, so neither side can block the other.
        let work = async move { tokio::join!(feed, child.wait_with_output()).1 };
        let result = tokio::time::timeout(inv.timeout, work).await;
        if matches!(result, Ok(Ok(_))) {
            // The command ended by itself: whatever it left in the background is its own.
            group.0 = None;
        }
        drop(group);
        match result {
            Err(_) => Err(ExecError::Timeout {
                program,
                timeout: inv.timeout,
            }),
            Ok(Err(e)) => Err(ExecError::Spawn {
                program,
                message: e.to_string(),
            }),
            Ok(Ok(out)) => Ok(Output {
                code: out.status.code().unwrap_or(-1),
                stdout: out.stdout,
                stderr: out.stderr,
            }),
        }
    }
}

/// Kills a command's process group when dropped armed: after a timeout, or when the walk
/// awaiting the command is dropped (Ctrl-C).
struct GroupKill(Option<u32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; it touches no
            // memory of ours. The group is the child's own (process_group(0) at spawn).
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A hung command that started a child of its own: the timeout takes both down.
    #[tokio::test]
    async fn a_timeout_kills_the_command_and_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
        let inv = Invocation::new(vec!["sh".into(), "-c".into(), script])
            .timeout(Duration::from_millis(500));
        let err = Local.run(&inv).await.unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The orphaned sleep is reaped by init once killed; give it a moment.
        let gone = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")
        });
        assert!(gone, "the command's child {pid} outlived the timeout");
    }
}
