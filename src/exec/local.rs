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
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
            program: program.clone(),
            message: e.to_string(),
        })?;
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
        match tokio::time::timeout(inv.timeout, work).await {
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
