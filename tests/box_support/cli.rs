//! The canary binary as a user runs it against a fake box: the command, its output as one
//! text, and the flags that reach a box locally or over SSH.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use super::{FakeBox, Sshd};

/// Runs `canary ARGS` in `cwd` to its end.
pub fn canary<I, S>(args: I, cwd: &Path) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the canary binary runs")
}

/// stdout then stderr, as one text for assertions and their messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `VERB --target local|ssh ... --dir DIR --api-url URL --ready-timeout 30s` for `fake`:
/// locally, or over SSH through `sshd` (its ssh_config, any host key accepted).
pub fn on_box(fake: &FakeBox, verb: &str, sshd: Option<&Sshd>) -> Vec<String> {
    let mut args: Vec<String> = vec![verb.into()];
    match sshd {
        None => args.extend(["--target", "local"].map(String::from)),
        Some(s) => {
            args.extend(
                ["--target", "ssh", "--host", "canary-test", "--ssh-config"].map(String::from),
            );
            args.push(s.tmp.path().join("ssh_config").display().to_string());
            args.extend(["--known-hosts", "accept"].map(String::from));
        }
    }
    args.extend([
        "--dir".into(),
        fake.dir().display().to_string(),
        "--api-url".into(),
        format!("http://127.0.0.1:{}/api/state", fake.dashboard_port()),
        "--ready-timeout".into(),
        "30s".into(),
    ]);
    args
}
