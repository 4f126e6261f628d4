//! canary's fixed shell scripts, run on the box with `sh -c SCRIPT canary ARGS...`: each one a
//! `.sh` file under `scripts/`, so it can be read and linted as shell. Trailing whitespace is
//! trimmed so the bytes sent are those of the script alone.

/// Script arguments: `$1` dir, `$2` the zone for `TZ`, then the pithead words and its
/// arguments.
pub(super) const RUN_PITHEAD: &str = include_str!("scripts/run-pithead.sh").trim_ascii_end();

/// `$1` dir. The box's zone as an apply would see it: DASHBOARD_TZ as last rendered in .env
/// (`env_tz=`), and the host's own zone the way Pithead's `detect_host_timezone` finds it
/// (`host_tz=`: `TZ`, timedatectl, /etc/timezone, the /etc/localtime link).
pub(super) const READ_ZONE: &str = include_str!("scripts/read-zone.sh").trim_ascii_end();

/// `$1` dir, `$2` the pithead command (first word). Prints `key=value` facts.
pub(super) const PROBE: &str = include_str!("scripts/probe.sh").trim_ascii_end();

/// Runs the CLI once, harmlessly (`--help`), to learn whether it can be run at all: the
/// probe's `-x` sees only the last word of `--pithead`, not a wrapper or a privilege prefix.
/// `$1` dir, `$2` the zone for `TZ`, then the pithead words. Prints the exit code, then the
/// shell's first words.
pub(super) const RUNS: &str = include_str!("scripts/runs.sh").trim_ascii_end();

/// One observation in one round trip. `$1` dir, `$2` container mode, `$3` shell snippet,
/// `$4` API URL, `$5` fetcher, `$6` inspect template, `$7` secret-key regex, `$8`
/// fingerprint-key regex, `$9` the zone for `TZ`, then the pithead words.
pub(super) const OBSERVE: &str = include_str!("scripts/observe.sh").trim_ascii_end();

/// `$1` dir, `$2` secret-key regex: the secret lines of .env, read only to build the redactor.
pub(super) const READ_SECRETS: &str = include_str!("scripts/read-secrets.sh").trim_ascii_end();

/// `$1` dir, `$2` secret-key regex: .env with secret values masked before they leave the box.
pub(super) const READ_ENV_MASKED: &str =
    include_str!("scripts/read-env-masked.sh").trim_ascii_end();

/// `$1` dir, `$2` container mode, `$3` the zone for `TZ`, then the pithead words: recent
/// logs, best effort.
pub(super) const LOGS: &str = include_str!("scripts/logs.sh").trim_ascii_end();

/// `$1` dir, `$2` the side file: keeps the exact .env in the side file (0600), then empties
/// the PROXY_AUTH_TOKEN value in .env in place of a copy that keeps its mode and owner.
/// Refuses (exit 3) while a side file exists: an earlier emptying was never put back.
pub(super) const EMPTY_TOKEN: &str = include_str!("scripts/empty-token.sh").trim_ascii_end();

/// `$1` dir, `$2` the side file: puts the exact .env back (content from the side file, mode
/// and owner of the .env in place), then removes the side file. Exit 3 when there is none.
pub(super) const RESTORE_TOKEN: &str = include_str!("scripts/restore-token.sh").trim_ascii_end();

/// `$1` dir, `$2` the copy: copies .env to it with mode 0600 (never read by canary).
pub(super) const KEEP_ENV: &str = include_str!("scripts/keep-env.sh").trim_ascii_end();

/// `$1` dir, `$2` the copy: removes it.
pub(super) const DROP_ENV: &str = include_str!("scripts/drop-env.sh").trim_ascii_end();

/// `$1` dir: names the stack files that are missing, one a line.
pub(super) const MISSING: &str = include_str!("scripts/missing.sh").trim_ascii_end();

/// `$1` dir, `$2` fingerprint-key regex, `$3` the kept .env: its fingerprint, or nothing
/// when there is none (the same computation as the observation's).
pub(super) const KEPT_FINGERPRINT: &str =
    include_str!("scripts/kept-fingerprint.sh").trim_ascii_end();
