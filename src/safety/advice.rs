//! Putting a box back by hand, when the safety net could not: a plain copy of the original
//! config.json in the run directory (mode 0600; `.canary-snapshot` is a JSON wrapper that
//! `apply` cannot read) and the one command line that restores the box from it and from the
//! 0600 copy of .env kept on the box ([`ENV_ORIG`]). The line holds paths only, never a secret.

use std::path::{Path, PathBuf};

use crate::exec::split_words;
use crate::target::box_target::{BoxTarget, ENV_ORIG};

/// File name, inside a run directory, of the plain copy of the box's original config.json.
pub const CONFIG_ORIG: &str = ".canary-config.json.orig";

/// Writes `config` as `<run_dir>/.canary-config.json.orig`, mode 0600 from its creation,
/// through a temp file renamed into place.
pub fn save_config_copy(run_dir: &Path, config: &[u8]) -> std::io::Result<PathBuf> {
    let path = run_dir.join(CONFIG_ORIG);
    crate::files::write_private(&path, config)?;
    Ok(path)
}

/// Removes the plain copy (after a verified restore: the box holds the original again).
pub fn remove_config_copy(run_dir: &Path) {
    let _ = std::fs::remove_file(run_dir.join(CONFIG_ORIG));
}

use crate::exec::shell_quote as quote;

fn line(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// The command line that puts the box back as the snapshot had it: .env from its kept copy
/// only when .env is gone (a present .env is re-rendered by the apply), config.json from the
/// run directory's plain copy, `apply -y`, then `up` (a .env put back is already the original,
/// so the apply sees no change: `up` recreates what still runs from the walk's .env).
/// Runnable by `sh` as printed. The CLI runs under the box's zone (`TZ`, as every call canary
/// makes does) and `LC_ALL=C`: Pithead renders DASHBOARD_TZ from `TZ`, so a login shell's other
/// zone would change the box the restore puts back.
pub fn restore_command(t: &BoxTarget, run_dir: &Path) -> String {
    let dir = match t.executor().kind() {
        // A local box: the directory as the box resolved it, so the line works from anywhere.
        "local" => t
            .fact("realdir")
            .filter(|d| !d.is_empty())
            .unwrap_or(t.dir()),
        _ => t.dir(),
    };
    command_line(
        t.executor().kind(),
        &t.executor().host(),
        dir,
        &t.pithead_command(),
        t.tz(),
        run_dir,
    )
}

/// [`restore_command`] from its parts: `kind` `local` or `ssh`, the SSH destination, the
/// stack directory, how the CLI is invoked (`sudo ./pithead`: `sudo` goes before the copies),
/// the box's zone.
pub fn command_line(
    kind: &str,
    host: &str,
    dir: &str,
    pithead: &str,
    tz: &str,
    run_dir: &Path,
) -> String {
    let run_dir = std::path::absolute(run_dir).unwrap_or_else(|_| run_dir.to_path_buf());
    let copy = run_dir.join(CONFIG_ORIG).display().to_string();
    let pithead = split_words(pithead);
    let privilege = &pithead[..pithead.len().saturating_sub(1)];
    let with_privilege = |words: &[&str]| {
        let mut w = privilege.to_vec();
        w.extend(words.iter().map(|s| s.to_string()));
        line(&w)
    };
    let mut apply = pithead.clone();
    apply.extend(["apply".to_string(), "-y".to_string()]);
    let mut up = pithead.clone();
    up.push("up".to_string());
    // Assignments before the words, as the target's scripts export them before the CLI.
    let env = format!("TZ={} LC_ALL=C", quote(tz));
    let apply = format!("{env} {} && {env} {}", line(&apply), line(&up));
    let env_back = format!(
        "{{ [ -f .env ] || {}; }}",
        with_privilege(&["cp", ENV_ORIG, ".env"])
    );
    if kind == "ssh" {
        let write = with_privilege(&["tee", &format!("{dir}/config.json")]);
        let remote = format!("cd {} && {env_back} && {apply}", quote(dir));
        format!(
            "ssh {h} {} < {} && ssh {h} {}",
            quote(&format!("{write} >/dev/null")),
            quote(&copy),
            quote(&remote),
            h = quote(host),
        )
    } else {
        format!(
            "cd {} && {env_back} && {} && {apply}",
            quote(dir),
            with_privilege(&["cp", &copy, "config.json"]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssh_line_writes_config_through_the_privilege_and_applies_on_the_box() {
        let cmd = command_line(
            "ssh",
            "admin@rig",
            "/opt/pit head",
            "sudo ./pithead",
            "Europe/Paris",
            Path::new("/runs/r 1"),
        );
        assert_eq!(
            cmd,
            "ssh admin@rig 'sudo tee '\\''/opt/pit head/config.json'\\'' >/dev/null' \
             < '/runs/r 1/.canary-config.json.orig' && ssh admin@rig 'cd '\\''/opt/pit \
             head'\\'' && { [ -f .env ] || sudo cp .env.canary-orig .env; } && TZ=Europe/Paris \
             LC_ALL=C sudo ./pithead apply -y && TZ=Europe/Paris LC_ALL=C sudo ./pithead up'"
        );
    }

    #[test]
    fn the_local_line_names_absolute_paths_only() {
        let cmd = command_line(
            "local",
            "localhost",
            "/opt/pithead",
            "./pithead",
            "America/New_York",
            Path::new("run"),
        );
        let here = std::env::current_dir()
            .unwrap()
            .join("run/.canary-config.json.orig");
        assert_eq!(
            cmd,
            format!(
                "cd /opt/pithead && {{ [ -f .env ] || cp .env.canary-orig .env; }} && cp {} \
                 config.json && TZ=America/New_York LC_ALL=C ./pithead apply -y && \
                 TZ=America/New_York LC_ALL=C ./pithead up",
                here.display()
            )
        );
    }
}
