//! The SSH executor: one multiplexed connection (the system `ssh` with a ControlMaster, through
//! the `openssh` crate), so the user's `~/.ssh/config`, keys, agents and jump hosts apply as
//! they do for `ssh` itself. A dropped connection is re-established with backoff; commands that
//! are safe to repeat are retried once on the new connection.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{ExecError, Invocation, Output};

/// How to connect.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// `user@host`, `host`, or a `Host` alias from the ssh config.
    pub destination: String,
    /// An ssh config file to use instead of `~/.ssh/config` (`ssh -F`).
    pub config_file: Option<PathBuf>,
    /// Host key policy. `Strict` by default: the box must already be in known_hosts.
    pub known_hosts: KnownHostsPolicy,
    /// Time allowed to establish the connection.
    pub connect_timeout: Duration,
    /// Reconnect attempts after a dropped connection; the wait doubles from
    /// `reconnect_backoff` after each failed attempt.
    pub reconnect_attempts: u32,
    pub reconnect_backoff: Duration,
    /// Where the control socket lives (a temp dir in `$HOME`-less setups); `None` uses the
    /// crate's default (`./` → the current directory is avoided by passing the system temp dir).
    pub control_directory: Option<PathBuf>,
}

/// Host key checking, as `ssh -o StrictHostKeyChecking=` would take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownHostsPolicy {
    /// Refuse unknown and changed host keys.
    Strict,
    /// Accept and remember unknown host keys, refuse changed ones.
    Add,
    /// Accept anything (throwaway test boxes only).
    Accept,
}

impl SshOptions {
    /// Defaults for `destination`: strict host keys, 10 s to connect, 6 reconnect attempts
    /// starting at 250 ms (about 16 s in all).
    pub fn new(destination: impl Into<String>) -> Self {
        SshOptions {
            destination: destination.into(),
            config_file: None,
            known_hosts: KnownHostsPolicy::Strict,
            connect_timeout: Duration::from_secs(10),
            reconnect_attempts: 6,
            reconnect_backoff: Duration::from_millis(250),
            control_directory: None,
        }
    }

    fn builder(&self) -> SessionBuilder {
        let mut b = SessionBuilder::default();
        b.known_hosts_check(match self.known_hosts {
            KnownHostsPolicy::Strict => KnownHosts::Strict,
            KnownHostsPolicy::Add => KnownHosts::Add,
            KnownHostsPolicy::Accept => KnownHosts::Accept,
        });
        b.connect_timeout(self.connect_timeout);
        b.server_alive_interval(Duration::from_secs(15));
        if let Some(f) = &self.config_file {
            b.config_file(f);
        }
        let dir = self
            .control_directory
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        b.control_directory(dir);
        b
    }
}

/// Runs commands on a remote box over one multiplexed SSH connection.
#[derive(Debug)]
pub struct Ssh {
    opts: SshOptions,
    session: Mutex<Arc<Session>>,
    reconnects: std::sync::atomic::AtomicU32,
}

impl Ssh {
    /// Opens the master connection.
    pub async fn connect(opts: SshOptions) -> Result<Self, ExecError> {
        let session = connect_once(&opts).await?;
        Ok(Ssh {
            opts,
            session: Mutex::new(Arc::new(session)),
            reconnects: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// The destination as given.
    pub fn host(&self) -> &str {
        &self.opts.destination
    }

    /// The current master's control socket (`ssh -S <socket> x cmd` reuses the connection,
    /// for debugging and for measuring the bare transport).
    pub async fn control_socket(&self) -> PathBuf {
        self.session.lock().await.control_socket().to_path_buf()
    }

    /// How many times the connection was re-established.
    pub fn reconnects(&self) -> u32 {
        self.reconnects.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) async fn run(&self, inv: &Invocation) -> Result<Output, ExecError> {
        let session = self.session.lock().await.clone();
        match run_on(&session, inv).await {
            Ok(out) => Ok(out),
            Err(Failure::Timeout) => Err(timed_out(inv)),
            Err(Failure::Ssh(e)) => {
                // The multiplex protocol cannot tell a dropped master from a remote process
                // killed by a signal; ask the master.
                if session.check().await.is_ok() {
                    return Err(ExecError::Spawn {
                        program: inv.argv[0].clone(),
                        message: e.to_string(),
                    });
                }
                self.reconnect(&session).await?;
                if !inv.idempotent {
                    return Err(ExecError::Disconnected {
                        host: self.opts.destination.clone(),
                        message: format!(
                            "{e} while `{}` ran; it was not repeated because it may have \
                             taken effect",
                            inv.argv[0]
                        ),
                    });
                }
                let session = self.session.lock().await.clone();
                match run_on(&session, inv).await {
                    Ok(out) => Ok(out),
                    Err(Failure::Timeout) => Err(timed_out(inv)),
                    Err(Failure::Ssh(e)) => Err(ExecError::Disconnected {
                        host: self.opts.destination.clone(),
                        message: e.to_string(),
                    }),
                }
            }
        }
    }

    /// Replaces a dead master with a new one, waiting between attempts. Another caller may
    /// have reconnected already; then the new session is kept.
    async fn reconnect(&self, dead: &Arc<Session>) -> Result<(), ExecError> {
        let mut guard = self.session.lock().await;
        if !Arc::ptr_eq(&guard, dead) {
            return Ok(());
        }
        let mut wait = self.opts.reconnect_backoff;
        let mut last = String::new();
        for attempt in 0..self.opts.reconnect_attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            match connect_once(&self.opts).await {
                Ok(s) => {
                    *guard = Arc::new(s);
                    self.reconnects
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(host = %self.opts.destination, "ssh connection re-established");
                    return Ok(());
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(ExecError::Disconnected {
            host: self.opts.destination.clone(),
            message: format!(
                "reconnecting failed after {} attempts: {last}",
                self.opts.reconnect_attempts
            ),
        })
    }
}

async fn connect_once(opts: &SshOptions) -> Result<Session, ExecError> {
    opts.builder()
        .connect(&opts.destination)
        .await
        .map_err(|e| ExecError::Disconnected {
            host: opts.destination.clone(),
            message: format!("{e}{}", source_chain(&e)),
        })
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = String::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The error of an invocation that ran out of its time.
fn timed_out(inv: &Invocation) -> ExecError {
    ExecError::Timeout {
        program: inv.argv[0].clone(),
        timeout: inv.timeout,
    }
}

enum Failure {
    Timeout,
    Ssh(openssh::Error),
}

async fn run_on(session: &Arc<Session>, inv: &Invocation) -> Result<Output, Failure> {
    let work = async {
        let mut cmd = Session::to_command(session.clone(), inv.argv[0].as_str());
        // `arg` quotes each argument for the remote shell: values stay data.
        cmd.args(inv.argv[1..].iter().map(String::as_str))
            .stdin(if inv.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().await?;
        let stdin = child.stdin().take();
        let input = inv.stdin.clone();
        let feed = async move {
            if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
                let _ = pipe.write_all(&bytes).await;
                let _ = pipe.shutdown().await;
                drop(pipe);
            }
        };
        let (_, out) = tokio::join!(feed, child.wait_with_output());
        out
    };
    match tokio::time::timeout(inv.timeout, work).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(Failure::Ssh(e)),
        Ok(Ok(out)) => Ok(Output {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }),
    }
}
