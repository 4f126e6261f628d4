//! The canary binary as a user runs it: the command to its end, its output as one text, and
//! the files it leaves under a directory.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Runs `canary ARGS` in `cwd` to its end.
pub fn canary(args: impl IntoIterator<Item = impl AsRef<OsStr>>, cwd: &Path) -> Output {
    spawn(args, cwd)
        .wait_with_output()
        .expect("the canary binary runs")
}

/// Starts `canary ARGS` in `cwd`, no stdin, its stdout and stderr piped (to be signalled
/// mid-run, or waited for).
pub fn spawn(args: impl IntoIterator<Item = impl AsRef<OsStr>>, cwd: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the canary binary starts")
}

/// Sends Ctrl-C (SIGINT) to `child`, as a user at its terminal does.
pub fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// stdout then stderr, as one text for assertions and their messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `canary ARGS` in `cwd`: its exit code and its output as one text.
pub fn outcome(
    args: impl IntoIterator<Item = impl AsRef<OsStr>>,
    cwd: &Path,
) -> (Option<i32>, String) {
    let o = canary(args, cwd);
    (o.status.code(), text(&o))
}

/// `canary ARGS` in the test's own working directory: the exit code (-1 when killed by a
/// signal), stdout and stderr.
pub fn streams(args: &[&str]) -> (i32, String, String) {
    let o = canary(args, Path::new("."));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
