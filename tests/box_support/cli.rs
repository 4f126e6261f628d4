//! The canary binary as a user runs it against a fake box: the command and its output as one
//! text (`cli_support`), and the flags that reach a box locally or over SSH.

use super::{FakeBox, Sshd};

// Each test binary uses a few of them.
#[allow(unused_imports)]
pub use super::cli_run::*;

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
