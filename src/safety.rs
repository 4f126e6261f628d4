//! The live-box safety net. Before the first step canary takes a [`Snapshot`] of the box:
//! config.json (raw bytes), its sha256, the secret fingerprint, and the set of running
//! containers. After the last step, on a failed step (when the caller asks), on Ctrl-C or
//! SIGTERM, and after a dropped connection, [`restore`] writes the snapshot back, re-applies,
//! waits until the box is healthy and verifies that config hash, container set and fingerprint
//! are back, reporting every difference loudly. `--keep` skips the restore.
//!
//! canary writes nothing on the box but config.json and the 0600 copy of .env beside it, and
//! deletes nothing but that copy.
//!
//! ## Where the snapshot lives
//!
//! The snapshot must be able to restore the real config, so it holds the secrets in clear.
//! It is kept in memory and, for `canary run --resume`, saved as `.canary-snapshot` in the run
//! directory with mode 0600 (see [`Snapshot::save`]), beside a plain 0600 copy of config.json
//! that a restore by hand can use as it is ([`advice`]); the plain copy is removed after a
//! verified restore. The original .env never leaves the box: a 0600 copy is kept beside it
//! ([`ENV_ORIG`]) for the same reason and the same time. Report code derives everything from
//! the journal and never copies dot-files of the run directory; only redacted copies of
//! config.json ever appear in reports and artifacts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::OpKind;
use crate::signal::{Interrupt, Signals};
use crate::target::box_target::BoxTarget;
pub use crate::target::box_target::ENV_ORIG;
use crate::target::{RunState, Target, TargetError};

pub mod advice;
pub mod identity;
pub use advice::{CONFIG_ORIG, restore_command};
pub use identity::BoxIdentity;

/// File name of the saved snapshot inside a run directory.
pub const SNAPSHOT_FILE: &str = ".canary-snapshot";

/// File name, inside a run directory, of the path of the safety backup on the box (so
/// `--resume` can still roll back to it).
pub const SAFETY_BACKUP_FILE: &str = ".canary-safety-backup";

/// The box as it was before the first step.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// config.json exactly as it was (hex in the saved file). Holds secrets: never log it.
    #[serde(with = "hex_bytes")]
    pub config: Vec<u8>,
    /// sha256 of `config`, hex.
    pub config_sha256: String,
    /// The secret fingerprint computed on the box.
    pub fingerprint: String,
    /// Names of the containers that were running.
    pub running: BTreeSet<String>,
    /// The box's own zone ([`BoxTarget::tz`]), under which every apply of the run and the
    /// restore run, so DASHBOARD_TZ (rendered from `TZ` on auto) is never changed by canary.
    /// Absent in snapshots of older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Which box this is (absent in snapshots of older versions).
    #[serde(default)]
    pub identity: Option<BoxIdentity>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds secrets: show its hash only.
        f.debug_struct("Snapshot")
            .field("config_sha256", &self.config_sha256)
            .field("fingerprint", &self.fingerprint)
            .field("running", &self.running)
            .field("tz", &self.tz)
            .field("identity", &self.identity)
            .finish()
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// sha256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Snapshot {
    /// Reads the box without changing it.
    pub async fn take(target: &mut BoxTarget) -> Result<Self, TargetError> {
        let config = target.read_config_raw().await?.ok_or_else(|| {
            TargetError::Unusable("config.json is missing: nothing to snapshot or restore".into())
        })?;
        let obs = target.observe().await?;
        Ok(Snapshot {
            config_sha256: sha256_hex(&config),
            config,
            fingerprint: obs.secret_fingerprint,
            running: running_set(&obs.containers),
            tz: Some(target.tz().to_string()),
            identity: Some(BoxIdentity::of(target)),
        })
    }

    /// Saves the snapshot as `<run_dir>/.canary-snapshot`, created with mode 0600 (and the
    /// mode forced to 0600 if the file existed), written to a temp file and renamed; and the
    /// config as it was, plain, as `<run_dir>/.canary-config.json.orig` (0600 too).
    pub fn save(&self, run_dir: &Path) -> std::io::Result<PathBuf> {
        advice::save_config_copy(run_dir, &self.config)?;
        let path = run_dir.join(SNAPSHOT_FILE);
        crate::files::write_private(
            &path,
            &serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        Ok(path)
    }

    /// Loads a saved snapshot; `Ok(None)` when the run directory has none.
    pub fn load(run_dir: &Path) -> std::io::Result<Option<Self>> {
        let path = run_dir.join(SNAPSHOT_FILE);
        match crate::files::read_capped_bytes(&path, crate::files::INPUT_CAP) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn running_set(containers: &[crate::target::ContainerState]) -> BTreeSet<String> {
    containers
        .iter()
        .filter(|c| c.state == RunState::Running)
        .map(|c| c.name.clone())
        .collect()
}

/// How the restore waits.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// How long the box may take to be healthy again after the re-apply.
    pub ready_timeout: Duration,
    /// Time between readiness polls.
    pub poll: Duration,
    /// Deadline of the whole restore (write, re-apply, wait, verify); past it canary stops
    /// waiting and says what is left undone.
    pub deadline: Duration,
    /// The run directory holding the saved snapshot: the advice for a restore by hand names
    /// its plain copy of config.json, removed after a verified restore.
    pub run_dir: Option<PathBuf>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            ready_timeout: Duration::from_secs(240),
            poll: Duration::from_secs(2),
            deadline: Duration::from_secs(900),
            run_dir: None,
        }
    }
}

/// How far a restore got: what is left undone when canary stops waiting for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreProgress {
    /// config.json is as the snapshot has it (written back, or it never changed).
    pub config_back: bool,
    /// The re-apply returned (whatever its exit code).
    pub applied: bool,
    /// The box was seen healthy with its containers back and verified.
    pub verified: bool,
}

impl RestoreProgress {
    /// What is left undone, and the commands that finish it by hand, one line each.
    /// `by_hand` is [`restore_command`], when the run directory is known.
    pub fn left_undone(&self, dir: &str, pithead: &str, by_hand: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        if !self.config_back {
            out.push(match by_hand {
                Some(cmd) => format!("config.json is NOT back: put the box back with `{cmd}`"),
                None => format!(
                    "config.json is NOT back: the original is in the run directory's \
                     {CONFIG_ORIG} (mode 0600); copy it to {dir}/config.json"
                ),
            });
        } else {
            out.push("config.json is back as it was (done)".to_string());
        }
        if !self.applied {
            out.push(format!(
                "the re-apply did not finish: once no `{pithead} apply` of canary's is still \
                 running on the box, run `cd {dir} && {pithead} apply -y` (it renders .env back \
                 from config.json and recreates what changed)"
            ));
        }
        if !self.verified {
            out.push(format!(
                "nothing was verified: check `cd {dir} && {pithead} status` shows every \
                 container of the original config running and healthy"
            ));
        }
        out
    }
}

/// What a restore did and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// Whether config.json had to be written back (it differed from the snapshot).
    pub config_written: bool,
    /// Exit code of the re-apply.
    pub apply_exit: i32,
    /// Time from the start of the restore until the box was healthy (or gave up).
    pub took: Duration,
    /// Everything that is not back as it was; empty when the box is restored.
    pub differences: Vec<String>,
}

impl RestoreReport {
    /// Whether the box is back where it was.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Puts the box back: config.json from the snapshot, `apply -y`, wait until healthy, then
/// verify config hash, running containers and fingerprint. Differences are printed to stderr
/// (loudly, every one) and returned. `Err` only when the box could not be reached at all.
pub async fn restore(
    target: &mut BoxTarget,
    snapshot: &Snapshot,
    opts: &RestoreOptions,
) -> Result<RestoreReport, TargetError> {
    restore_tracked(target, snapshot, opts, &mut RestoreProgress::default()).await
}

/// [`restore`], noting in `progress` how far it got, so a caller that stops waiting (a second
/// Ctrl-C, the restore's deadline) can say what is left undone.
pub async fn restore_tracked(
    target: &mut BoxTarget,
    snapshot: &Snapshot,
    opts: &RestoreOptions,
    progress: &mut RestoreProgress,
) -> Result<RestoreReport, TargetError> {
    *progress = RestoreProgress::default();
    if let Some(tz) = &snapshot.tz {
        // The re-apply renders DASHBOARD_TZ from `TZ`: the zone the box had before the walk.
        target.set_tz(tz);
    }
    let start = std::time::Instant::now();
    let mut differences = Vec::new();
    let current = target.read_config_raw().await?;
    let config_written = current.as_deref() != Some(snapshot.config.as_slice());
    if config_written {
        target.write_config_raw(&snapshot.config).await?;
    }
    progress.config_back = true;
    // Without .env an apply can only fail (or mint new secrets): say how to put it back.
    let missing = target.missing_stack_files().await?;
    if !missing.is_empty() {
        differences.push(format!(
            "{} gone from the stack directory: not re-applied",
            missing.join(" and ")
        ));
        return Ok(report_restore(
            target,
            opts,
            RestoreReport {
                config_written,
                apply_exit: -1,
                took: start.elapsed(),
                differences,
            },
        )
        .await);
    }
    let applied = target.apply().await?;
    progress.applied = true;
    if applied.exit_code != 0 {
        differences.push(format!(
            "the re-apply of the original config exited {}: {}",
            applied.exit_code,
            last_lines(&applied.output, 5)
        ));
    }
    // Healthy, and the same containers running as before the walk.
    let same_set = |obs: &crate::target::Observation| {
        let mut left = crate::oracle::settle::not_healthy(obs);
        left.extend(set_differences(
            &snapshot.running,
            &running_set(&obs.containers),
        ));
        left
    };
    let obs = match target
        .wait_until(opts.ready_timeout, opts.poll, same_set)
        .await
    {
        Ok((_, obs)) => obs,
        Err(e) => {
            differences.push(e.to_string());
            target.observe().await?
        }
    };
    let after = target.read_config_raw().await?.unwrap_or_default();
    let after_hash = sha256_hex(&after);
    if after_hash != snapshot.config_sha256 {
        differences.push(format!(
            "config.json differs from the snapshot (sha256 {} now, {} before)",
            short(&after_hash),
            short(&snapshot.config_sha256)
        ));
    }
    differences.extend(set_differences(
        &snapshot.running,
        &running_set(&obs.containers),
    ));
    if obs.secret_fingerprint != snapshot.fingerprint {
        differences.push(format!(
            "the secret fingerprint changed ({} now, {} before): a token or onion address was \
             regenerated",
            short(&obs.secret_fingerprint),
            short(&snapshot.fingerprint)
        ));
    }
    let report = RestoreReport {
        config_written,
        apply_exit: applied.exit_code,
        took: start.elapsed(),
        differences,
    };
    progress.verified = report.is_clean();
    Ok(report_restore(target, opts, report).await)
}

/// The restore command of [`advice`], when the run directory is known.
fn by_hand(target: &BoxTarget, opts: &RestoreOptions) -> Option<String> {
    opts.run_dir.as_deref().map(|d| restore_command(target, d))
}

/// Says how a restore ended; after a verified one, removes the copies kept for a restore by
/// hand (the box holds the originals again), else prints the command that restores by hand.
async fn report_restore(
    target: &BoxTarget,
    opts: &RestoreOptions,
    report: RestoreReport,
) -> RestoreReport {
    if report.is_clean() {
        eprintln!("canary: box restored and verified in {:.1?}", report.took);
        if let Some(dir) = &opts.run_dir {
            advice::remove_config_copy(dir);
            if let Err(e) = target.drop_env_copy().await {
                eprintln!("canary: could not remove {ENV_ORIG} from the stack directory: {e}");
            }
        }
    } else {
        eprintln!("canary: !!! THE BOX IS NOT BACK WHERE IT WAS !!!");
        for d in &report.differences {
            eprintln!("canary: !!!   {d}");
        }
        if let Some(cmd) = by_hand(target, opts) {
            eprintln!("canary: !!! to put it back by hand: {cmd}");
        }
    }
    report
}

fn set_differences(before: &BTreeSet<String>, now: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    let missing: Vec<_> = before.difference(now).cloned().collect();
    let extra: Vec<_> = now.difference(before).cloned().collect();
    if !missing.is_empty() {
        out.push(format!(
            "containers no longer running: {}",
            missing.join(", ")
        ));
    }
    if !extra.is_empty() {
        out.push(format!(
            "containers running that were not before: {}",
            extra.join(", ")
        ));
    }
    out
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

/// Whether an operation removes or rewrites something of the box's (containers, .env, the
/// data a restore overwrites), so the safety backup must exist before it runs. Restarts,
/// stops, freezes and backups only pause what they touch.
pub fn is_destructive(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::DownUp | OpKind::Restore | OpKind::RemoveUp | OpKind::EmptyTokenUp
    )
}

/// Takes the safety backup (`pithead backup -y --no-encrypt`) and records its archive on the
/// target and, when given, in `run_dir` for `--resume`. Fails when the backup fails or names
/// no archive: no destructive operation runs without one.
pub async fn take_backup(
    target: &mut BoxTarget,
    run_dir: Option<&Path>,
) -> Result<String, TargetError> {
    let (result, archive) = target.backup().await?;
    let Some(archive) = archive else {
        return Err(TargetError::Other(format!(
            "the safety backup before the first destructive operation failed (exit {}): {}; \
             no destructive operation runs without one",
            result.exit_code,
            last_lines(&result.output, 5)
        )));
    };
    target.set_safety_archive(Some(archive.clone()));
    if let Some(dir) = run_dir {
        std::fs::write(dir.join(SAFETY_BACKUP_FILE), format!("{archive}\n")).map_err(|e| {
            TargetError::Other(format!(
                "cannot record the safety backup in {}: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(archive)
}

/// The safety backup a run recorded in `run_dir`, if any.
pub fn load_backup(run_dir: &Path) -> Option<String> {
    crate::files::read_capped(&run_dir.join(SAFETY_BACKUP_FILE), crate::files::INPUT_CAP)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Finishes what a dropped walk left half-done: puts back an emptied proxy token from the
/// box's side file, then runs the recovery actions the fault actions still owe. Returns one
/// line per thing done, each also printed to stderr.
pub async fn settle(target: &mut BoxTarget) -> Vec<String> {
    let mut done = Vec::new();
    match target.restore_kept_env().await {
        Ok(true) => done.push("put back .env with its proxy token".to_string()),
        Ok(false) => {}
        Err(e) => done.push(format!("could not put back the kept .env: {e}")),
    }
    for (action, result) in target.settle_owed().await {
        done.push(match result {
            Ok(r) => format!("{} (exit {})", action.command(), r.exit_code),
            Err(e) => format!("{} failed: {e}", action.command()),
        });
    }
    for line in &done {
        eprintln!("canary: finishing an interrupted operation: {line}");
    }
    done
}

/// What a rollback to the safety backup did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackReport {
    pub archive: String,
    /// Each command with its exit code: `pithead down`, `restore -y <archive>`, `up`.
    pub commands: Vec<(String, i32)>,
    pub took: Duration,
}

impl RollbackReport {
    /// Whether every command succeeded.
    pub fn is_clean(&self) -> bool {
        self.commands.iter().all(|(_, code)| *code == 0)
    }
}

/// Rolls the box back to the safety backup: `pithead down`, `restore -y <archive>`, `up`
/// (each attempted even when one before it failed, so the stack ends up again). `Err` when
/// there is no safety backup or the box cannot be reached.
pub async fn rollback(target: &mut BoxTarget) -> Result<RollbackReport, TargetError> {
    let start = std::time::Instant::now();
    let archive = target
        .safety_archive()
        .ok_or_else(|| TargetError::Other("no safety backup to roll back to".into()))?
        .to_string();
    eprintln!("canary: rolling the box back to the safety backup {archive}");
    let timeout = target.apply_timeout();
    let mut commands = Vec::new();
    for args in [
        vec!["down"],
        vec!["restore", "-y", archive.as_str()],
        vec!["up"],
    ] {
        let r = target.pithead(&args, timeout).await?;
        let line = format!("pithead {}", args.join(" "));
        if r.exit_code != 0 {
            eprintln!(
                "canary: !!! `{line}` exited {}: {}",
                r.exit_code,
                last_lines(&r.output, 3)
            );
        }
        commands.push((line, r.exit_code));
    }
    Ok(RollbackReport {
        archive,
        commands,
        took: start.elapsed(),
    })
}

/// How a guarded walk ended.
#[derive(Debug)]
pub enum WalkEnd<T> {
    /// The walk returned this.
    Finished(T),
    /// A signal stopped it; the walk was dropped at its next await point.
    Interrupted(Interrupt),
}

/// A guarded walk's outcome: how it ended and what the restore found (`None` with `keep`).
#[derive(Debug)]
pub struct Guarded<T> {
    pub end: WalkEnd<T>,
    pub restore: Option<Result<RestoreReport, TargetError>>,
    /// What [`settle`] finished of a dropped operation.
    pub settled: Vec<String>,
    /// The rollback to the safety backup, when there was one and it was needed.
    pub rollback: Option<Result<RollbackReport, TargetError>>,
}

/// Runs `walk` on the box, then restores the snapshot whatever happened: normal end, a signal
/// (the walk is dropped), or a dropped connection (the restore reconnects first). With `keep`
/// the box is left as the walk left it. To restore on a failed step, the walk returns at that
/// step (with whatever it wants to report); to go on after a failure, it just continues.
/// Save the snapshot ([`Snapshot::save`]) before calling this, so a killed canary can still be
/// restored by `--resume`.
pub async fn guard<T>(
    target: &mut BoxTarget,
    snapshot: &Snapshot,
    signals: &mut Signals,
    keep: bool,
    opts: &RestoreOptions,
    walk: impl AsyncFnOnce(&mut BoxTarget) -> T,
) -> Guarded<T> {
    guard_judged(target, snapshot, signals, keep, opts, |_| false, walk).await
}

/// [`guard`], with `failed` telling a walk that finished but failed: with a safety backup
/// taken, such a walk (like an interrupted one) is rolled back to it before the restore.
pub async fn guard_judged<T>(
    target: &mut BoxTarget,
    snapshot: &Snapshot,
    signals: &mut Signals,
    keep: bool,
    opts: &RestoreOptions,
    failed: impl Fn(&T) -> bool,
    walk: impl AsyncFnOnce(&mut BoxTarget) -> T,
) -> Guarded<T> {
    let end = {
        let walk = walk(target);
        tokio::select! {
            out = walk => WalkEnd::Finished(out),
            sig = signals.recv() => WalkEnd::Interrupted(sig),
        }
    };
    // Everything after the walk waits on the box; a second signal stops the waiting.
    let mut progress = RestoreProgress::default();
    let finished = {
        let work = finish(
            target,
            snapshot,
            keep,
            opts,
            walk_failed(&end, &failed),
            &mut progress,
        );
        tokio::select! {
            done = work => Some(done),
            _ = signals.recv_count(2) => None,
        }
    };
    let (settled, restore, rollback) = match finished {
        Some(done) => done,
        None => {
            let cmd = by_hand(target, opts);
            let left =
                progress.left_undone(target.dir(), &target.pithead_command(), cmd.as_deref());
            eprintln!(
                "canary: !!! stopped waiting for the restore at the second signal; the box is NOT verified restored"
            );
            for l in &left {
                eprintln!("canary: !!!   {l}");
            }
            let why = TargetError::Other(format!(
                "the restore was abandoned at the second signal: {}",
                left.join("; ")
            ));
            (Vec::new(), Some(Err(why)), None)
        }
    };
    Guarded {
        end,
        restore,
        settled,
        rollback,
    }
}

fn walk_failed<T>(end: &WalkEnd<T>, failed: &impl Fn(&T) -> bool) -> bool {
    match end {
        WalkEnd::Finished(out) => failed(out),
        WalkEnd::Interrupted(_) => true,
    }
}

type Finished = (
    Vec<String>,
    Option<Result<RestoreReport, TargetError>>,
    Option<Result<RollbackReport, TargetError>>,
);

/// What follows the walk: owed recoveries, the rollback to the safety backup when the walk
/// failed, the snapshot restore within its deadline.
async fn finish(
    target: &mut BoxTarget,
    snapshot: &Snapshot,
    keep: bool,
    opts: &RestoreOptions,
    walk_failed: bool,
    progress: &mut RestoreProgress,
) -> Finished {
    // A node is never left stopped, nor a token empty, whatever --keep says.
    let settled = settle(target).await;
    if keep {
        eprintln!("canary: --keep: the box is left as the walk left it (not restored)");
        if let Some(cmd) = by_hand(target, opts) {
            eprintln!("canary: to put it back later: {cmd}");
        }
        return (settled, None, None);
    }
    let mut rolled_back = None;
    if walk_failed && target.safety_archive().is_some() {
        rolled_back = Some(rollback(target).await);
    }
    let mut restored = restore_within(target, snapshot, opts, progress).await;
    let unclean = !matches!(&restored, Ok(r) if r.is_clean());
    if unclean && rolled_back.is_none() && target.safety_archive().is_some() {
        eprintln!("canary: the snapshot restore did not bring the box back; rolling back too");
        rolled_back = Some(rollback(target).await);
        restored = restore_within(target, snapshot, opts, progress).await;
    }
    if let Err(e) = &restored {
        match by_hand(target, opts) {
            Some(cmd) => {
                eprintln!("canary: !!! could not restore the box: {e}. Put it back by hand: {cmd}")
            }
            None => eprintln!(
                "canary: !!! could not restore the box: {e}. Write the snapshot's config.json \
                 back and run pithead apply -y"
            ),
        }
    }
    (settled, Some(restored), rolled_back)
}

/// [`restore_tracked`] within `opts.deadline`; past it, says what is left undone.
async fn restore_within(
    target: &mut BoxTarget,
    snapshot: &Snapshot,
    opts: &RestoreOptions,
    progress: &mut RestoreProgress,
) -> Result<RestoreReport, TargetError> {
    let r = tokio::time::timeout(
        opts.deadline,
        restore_tracked(target, snapshot, opts, progress),
    )
    .await;
    match r {
        Ok(r) => r,
        Err(_) => {
            let cmd = by_hand(target, opts);
            let left =
                progress.left_undone(target.dir(), &target.pithead_command(), cmd.as_deref());
            eprintln!(
                "canary: !!! the restore did not finish within {:?} (--restore-timeout)",
                opts.deadline
            );
            for l in &left {
                eprintln!("canary: !!!   {l}");
            }
            Err(TargetError::Timeout {
                check: "deadline.restore",
                command: format!("the restore: {}", left.join("; ")),
                after: opts.deadline,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_removes_or_rewrites_needs_the_safety_backup() {
        let destructive: Vec<OpKind> = OpKind::ALL
            .into_iter()
            .filter(|k| is_destructive(*k))
            .collect();
        assert_eq!(
            destructive,
            [
                OpKind::DownUp,
                OpKind::Restore,
                OpKind::RemoveUp,
                OpKind::EmptyTokenUp
            ]
        );
    }

    #[test]
    fn snapshot_round_trips_through_a_0600_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let snap = Snapshot {
            config: b"{\"a\": \"s3cret\"}\n".to_vec(),
            config_sha256: sha256_hex(b"{\"a\": \"s3cret\"}\n"),
            fingerprint: "f".repeat(64),
            running: ["tor".to_string()].into_iter().collect(),
            tz: Some("Europe/Berlin".to_string()),
            identity: None,
        };
        let path = snap.save(dir.path()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Snapshot::load(dir.path()).unwrap(), Some(snap.clone()));
        // The plain copy a restore by hand uses as it is: the config's exact bytes, 0600.
        let copy = dir.path().join(CONFIG_ORIG);
        assert_eq!(std::fs::read(&copy).unwrap(), snap.config);
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            !format!("{snap:?}").contains("s3cret"),
            "Debug must not print the config"
        );
        assert_eq!(
            Snapshot::load(tempfile::tempdir().unwrap().path()).unwrap(),
            None
        );
    }
}
