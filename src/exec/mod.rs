//! Executors: how canary reaches a box. A [`Local`] executor spawns processes on this machine,
//! an [`Ssh`] executor runs them over one multiplexed SSH connection. Both take a command as an
//! argument vector ([`Invocation`]): arguments are data, never spliced into a shell line. Over
//! SSH the remote side always goes through a shell, so each argument is quoted by the `openssh`
//! crate; locally no shell is involved at all. The box target builds every step out of
//! [`Executor::run`] plus the small fixed scripts in this module, so the local shell, the fake
//! box and the live box share one code path.

mod local;
mod ssh;

use std::time::Duration;

pub use local::Local;
pub use ssh::{KnownHostsPolicy, Ssh, SshOptions};

/// One command to run on the box: a program and its arguments, passed as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The argument vector; `argv[0]` is the program.
    pub argv: Vec<String>,
    /// Bytes written to the command's stdin (then closed). `None` gives it an empty stdin.
    pub stdin: Option<Vec<u8>>,
    /// How long the command may run before it is abandoned.
    pub timeout: Duration,
    /// Whether the command may be run again after a dropped connection (reads and
    /// observations are; `apply` is not, because the box may already have run it).
    pub idempotent: bool,
}

impl Invocation {
    /// A command with no stdin, the default timeout of 60 s, and not retried.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Invocation {
            argv: argv.into_iter().map(Into::into).collect(),
            stdin: None,
            timeout: Duration::from_secs(60),
            idempotent: false,
        }
    }

    /// Feeds `bytes` to stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Marks the command as safe to run again after a reconnect.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// What a finished command gave back. Not redacted: the box target redacts before anything
/// leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `-1` when the process was killed by a signal.
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stdout followed by stderr, as text (lossy).
    pub fn combined_text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.stdout).into_owned();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&String::from_utf8_lossy(&self.stderr));
        }
        s
    }
}

/// Why a command could not be run (as opposed to a command that ran and failed, which is an
/// [`Output`] with a non-zero code).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "`{program}` did not finish within {timeout:?}; the box may be overloaded or the command hung"
    )]
    Timeout { program: String, timeout: Duration },
    #[error("could not start `{program}`: {message}")]
    Spawn { program: String, message: String },
    #[error(
        "the SSH connection to {host} was lost: {message}; canary reconnected (or tried to) — \
         check the network and that sshd runs on the box"
    )]
    Disconnected { host: String, message: String },
    #[error("an empty command was given to the executor")]
    Empty,
}

/// A way to reach a box: a local shell or one SSH connection.
#[derive(Debug)]
pub enum Executor {
    Local(Local),
    Ssh(Ssh),
}

impl Executor {
    /// Runs one command to completion.
    pub async fn run(&self, inv: &Invocation) -> Result<Output, ExecError> {
        if inv.argv.is_empty() {
            return Err(ExecError::Empty);
        }
        let started = std::time::Instant::now();
        let result = match self {
            Executor::Local(l) => l.run(inv).await,
            Executor::Ssh(s) => s.run(inv).await,
        };
        // The program only: arguments may carry scripts or paths a log has no use for.
        match &result {
            Ok(out) => tracing::debug!(
                executor = self.kind(),
                program = %inv.argv[0],
                code = out.code,
                ms = started.elapsed().as_millis() as u64,
                "command finished"
            ),
            Err(e) => {
                tracing::debug!(executor = self.kind(), program = %inv.argv[0], error = %e, "command failed")
            }
        }
        result
    }

    /// `local` or `ssh`.
    pub fn kind(&self) -> &'static str {
        match self {
            Executor::Local(_) => "local",
            Executor::Ssh(_) => "ssh",
        }
    }

    /// Where commands run, for reports (`localhost` or the SSH destination).
    pub fn host(&self) -> String {
        match self {
            Executor::Local(_) => "localhost".to_string(),
            Executor::Ssh(s) => s.host().to_string(),
        }
    }

    /// Runs `script` with `sh -c`, `args` as its positional parameters (`$1`, `$2`, ...).
    /// `prefix` goes in front (for example `["sudo"]`). The script is a constant of canary's;
    /// everything that varies travels in `args`, so no value is ever parsed by a shell.
    pub async fn run_script(
        &self,
        prefix: &[String],
        script: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
        timeout: Duration,
        idempotent: bool,
    ) -> Result<Output, ExecError> {
        let mut argv: Vec<String> = prefix.to_vec();
        argv.extend([
            "sh".to_string(),
            "-c".to_string(),
            script.to_string(),
            "canary".to_string(),
        ]);
        argv.extend(args.iter().map(|a| a.to_string()));
        let inv = Invocation {
            argv,
            stdin,
            timeout,
            idempotent,
        };
        self.run(&inv).await
    }

    /// Reads `file` inside `dir`. `Ok(None)` when it does not exist.
    pub async fn read_file(
        &self,
        prefix: &[String],
        dir: &str,
        file: &str,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, ExecError> {
        let out = self
            .run_script(prefix, READ_FILE, &[dir, file], None, timeout, true)
            .await?;
        match out.code {
            0 => Ok(Some(out.stdout)),
            3 => Ok(None),
            _ => Err(ExecError::Spawn {
                program: format!("read {file}"),
                message: out.combined_text().trim().to_string(),
            }),
        }
    }

    /// Replaces `file` inside `dir` atomically: the content goes on stdin into a temp file in
    /// the same directory, which keeps the old file's mode and is then renamed over it.
    pub async fn write_file(
        &self,
        prefix: &[String],
        dir: &str,
        file: &str,
        content: &[u8],
        timeout: Duration,
    ) -> Result<(), ExecError> {
        let out = self
            .run_script(
                prefix,
                WRITE_FILE,
                &[dir, file],
                Some(content.to_vec()),
                timeout,
                true,
            )
            .await?;
        if out.code == 0 {
            Ok(())
        } else {
            Err(ExecError::Spawn {
                program: format!("write {file}"),
                message: out.combined_text().trim().to_string(),
            })
        }
    }
}

/// `$1` dir, `$2` file. Exit 3 when the file is missing.
const READ_FILE: &str = r#"cd "$1" || exit 2
[ -e "$2" ] || exit 3
exec cat -- "$2""#;

/// The start of [`WRITE_FILE`] and [`WRITE_FILE_THEN_RUN`] (`$1` dir, `$2` file, content on
/// stdin): the content in a temp file beside the target, so the rename is atomic, with the
/// old file's mode (or 0600 for a new file). A macro so that both stay `&'static str`.
macro_rules! write_temp_script {
    () => {
        r#"cd "$1" || exit 2
umask 077
tmp=$(mktemp "./.$2.canary.XXXXXX") || exit 2
trap 'rm -f "$tmp"' EXIT
cat > "$tmp" || exit 2
if [ -e "$2" ]; then
  mode=$(stat -c %a -- "$2" 2>/dev/null) && chmod "$mode" "$tmp"
fi
"#
    };
}

/// `$1` dir, `$2` file, content on stdin: the temp file renamed over the file.
const WRITE_FILE: &str = concat!(
    write_temp_script!(),
    r#"mv -f -- "$tmp" "$2" || exit 2
trap - EXIT"#
);

/// `$1` dir, `$2` file, content on stdin, `$3` the zone for `TZ`, then a command:
/// [`WRITE_FILE`] followed by the command under the pinned environment (that `TZ`,
/// `LC_ALL=C`), in one round trip.
pub const WRITE_FILE_THEN_RUN: &str = concat!(
    write_temp_script!(),
    r#"mv -f -- "$tmp" "$2" || { echo "canary: could not replace $2" >&2; exit 2; }
trap - EXIT
export TZ="$3" LC_ALL=C
shift 3
umask 022
exec "$@" </dev/null"#
);

/// Shell-quotes one word of a command line, only when needed (the inverse of a POSIX
/// shell's word splitting, for the lines canary prints for people to run).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/=:,+@%-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Splits a user-given command line such as `sudo ./pithead` into words. Only whitespace
/// separates words; quotes are not interpreted (a path with spaces is not supported here,
/// and saying so is better than a half-done shell parser).
pub fn split_words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_keeps_paths() {
        assert_eq!(split_words("sudo  ./pithead"), vec!["sudo", "./pithead"]);
        assert_eq!(split_words("./pithead"), vec!["./pithead"]);
        assert!(split_words("  ").is_empty());
    }

    #[test]
    fn combined_text_joins_streams() {
        let o = Output {
            code: 1,
            stdout: b"out".to_vec(),
            stderr: b"err\n".to_vec(),
        };
        assert_eq!(o.combined_text(), "out\nerr\n");
    }
}
