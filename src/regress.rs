//! Saved regressions: one JSON file per minimal failure under `regressions/`, replayed forever
//! after by `canary replay` (and by `canary run`/`fuzz` before they start, via
//! [`replay_dir`]).
//!
//! A file holds the explicit minimal step list, so it survives changes to the generators: an
//! apply as axis → value labels (only the axes it changes from the config in force before it,
//! starting from the recorded baseline; after a restore that is the backup's config), an
//! operation as `{"operation": "<name>"}`. The seed that found it is kept too for `--by-seed`,
//! with the operation groups the generator mixed in (files without operations omit them, and
//! read exactly as they did before operations existed).
//!
//! **Expectations.** `expect = "fail"` is written for a failure found with injected faults:
//! the file documents that canary catches that bug class, so replaying it must still fail with
//! the same signature. `expect = "pass"` is for a real bug that was fixed: the sequence must
//! now pass. A replay meets its expectation or not; `canary replay` exits 1 when any file does
//! not (or fails differently), 2 when a file cannot be read or resolved.
//!
//! **Errors.** A file that is not JSON, has another format version, names an unknown axis,
//! value, operation, operation group, fault or target, or another model, or whose steps the
//! model refuses (an operation where it is not allowed, a restore without a backup), is an
//! error naming the file and what is wrong. A model hash that differs while every axis, value
//! and operation still resolves is only a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::faults::{self, Fault};
use crate::fuzz::{FuzzFailure, SimOracle};
use crate::model::{Config, Model, OpGroup, Supplied, Transition};
use crate::rng::Seed;
use crate::shrink::{Oracle, Outcome, Signature, configs_in_force};

/// The file format version this canary writes and reads.
pub const FORMAT: u32 = 1;

/// What replaying a regression must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Still fails the same way (found with injected faults: canary must keep catching it).
    Fail,
    /// Passes (a real bug, since fixed).
    Pass,
}

/// The failing check of a regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailingCheck {
    pub check: String,
    pub kind: String,
    /// 0-based step of the minimal sequence that fails (its last).
    pub step: usize,
    pub observed: serde_json::Value,
    pub expected: serde_json::Value,
    #[serde(default)]
    pub message: String,
}

/// One saved step: an apply, as the labels of the axes it changes from the config in force
/// before it (empty: an unchanged re-apply), or an operation by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SavedStep {
    /// `{"operation": "node-down"}`.
    Operation(SavedOperation),
    /// `{"monero.mode": "remote"}`.
    Apply(BTreeMap<String, String>),
}

/// An operation step as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedOperation {
    pub operation: String,
}

impl SavedStep {
    /// The labels of an apply step.
    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            SavedStep::Apply(l) => Some(l),
            SavedStep::Operation(_) => None,
        }
    }

    /// The operation name of an operation step.
    pub fn operation(&self) -> Option<&str> {
        match self {
            SavedStep::Apply(_) => None,
            SavedStep::Operation(o) => Some(&o.operation),
        }
    }

    /// One line for people: `axis=value ...`, `(re-apply unchanged)` or `operation NAME`.
    pub fn describe(&self) -> String {
        match self {
            SavedStep::Apply(l) if l.is_empty() => "(re-apply unchanged)".into(),
            SavedStep::Apply(l) => l
                .iter()
                .map(|(a, v)| format!("{a}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            SavedStep::Operation(o) => format!("operation {}", o.operation),
        }
    }
}

/// One saved regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    pub format: u32,
    pub canary_version: String,
    pub expect: Expect,
    pub model: String,
    pub model_hash: String,
    /// The model variant it was found under; it replays under it. Absent (files written
    /// before variants, or a model without them): the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The case seed that generated it (64 hex), for `--by-seed`; it also seeds the simulated
    /// box. Absent for a failure found on a box: a walk's prefix, shrunk, has no generating
    /// seed (files written before said `"0"`, read as absent: [`Regression::generating_seed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Length of the generated sequence, for `--by-seed`.
    pub generated_steps: usize,
    /// Where it was found: `sim`, or a box (`local`, `ssh`).
    pub target: String,
    /// For a regression found on a box: what that box ran (absent for the sim, and in files
    /// written before boxes could save regressions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub box_manifest: Option<BoxManifest>,
    pub faults: Vec<String>,
    /// Operation groups the generator mixed in, for `--by-seed` (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// The target kinds it can be replayed on, when not every kind, and why not the others
    /// (absent: every kind). A replay elsewhere prints SKIPPED with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replays_on: Option<ReplaysOn>,
    /// Every axis's label at the start.
    pub baseline: BTreeMap<String, String>,
    /// The steps, in order.
    pub steps: Vec<SavedStep>,
    pub failing: FailingCheck,
}

/// What the box a regression was found on ran, so a replay elsewhere can say what differs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxManifest {
    /// Pithead's version or git rev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pithead: Option<String>,
    /// `docker compose version` on the box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<String>,
}

impl BoxManifest {
    /// What a box target described of itself ([`crate::target::Target::describe`]): the
    /// checkout's git rev, the compose version.
    pub fn from_description(d: &std::collections::BTreeMap<String, String>) -> BoxManifest {
        BoxManifest {
            pithead: d.get("pithead_rev").cloned(),
            compose: d.get("compose_version").cloned(),
        }
    }
}

/// The box targets a regression can have been found on.
pub const BOX_TARGETS: [&str; 2] = ["local", "ssh"];

/// Where a regression can be replayed, when not on every target kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaysOn {
    /// Target kinds: `sim`, `local`, `ssh`.
    pub targets: Vec<String>,
    /// Why not the others (printed with every SKIPPED).
    pub reason: String,
}

impl Regression {
    /// Whether it was found on a box rather than the simulated stack.
    pub fn found_on_box(&self) -> bool {
        BOX_TARGETS.contains(&self.target.as_str())
    }

    /// Why it is not replayed on target kind `kind` (`sim`, `local`, `ssh`), if it is not.
    pub fn not_replayable_on(&self, kind: &str) -> Option<String> {
        let on = self.replays_on.as_ref()?;
        (!on.targets.iter().any(|t| t == kind)).then(|| {
            format!(
                "not replayable on {kind} (only on {}): {}",
                on.targets.join(", "),
                on.reason
            )
        })
    }

    /// The seed that generated its sequence, as written: none for one found on a box (whose
    /// older files hold the placeholder `"0"`).
    pub fn generating_seed(&self) -> Option<&str> {
        match self.seed.as_deref() {
            Some("0") if self.found_on_box() => None,
            other => other,
        }
    }
}

/// Why a regression file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RegressError {
    #[error("{}: cannot read it: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a regression file: {source}; fix it or delete it and fuzz again", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {what}", path.display())]
    Invalid { path: PathBuf, what: String },
}

impl Regression {
    /// The regression for a shrunk fuzz failure found with `faults` and the operation groups
    /// `operations` mixed in; `None` for a flaky one.
    pub fn from_failure(
        model: &Model,
        failure: &FuzzFailure,
        faults: &[Fault],
        operations: &[OpGroup],
        generated_steps: usize,
    ) -> Option<Regression> {
        let crate::fuzz::Found::Shrunk { report, verdict } = &failure.found else {
            return None;
        };
        let base = model.default_config();
        Some(Regression {
            format: FORMAT,
            canary_version: env!("CARGO_PKG_VERSION").to_string(),
            expect: if faults.is_empty() {
                Expect::Pass
            } else {
                Expect::Fail
            },
            model: model.name.clone(),
            model_hash: model.hash.clone(),
            variant: model.variant_name().map(str::to_string),
            seed: Some(failure.case_seed.to_string()),
            generated_steps,
            target: "sim".into(),
            box_manifest: None,
            replays_on: None,
            faults: faults.iter().map(|f| f.name().to_string()).collect(),
            operations: operations.iter().map(|g| g.name().to_string()).collect(),
            baseline: model.labels(&base),
            steps: saved_steps(model, &base, &report.minimal),
            failing: FailingCheck {
                check: failure.signature.check.clone(),
                kind: failure.signature.kind.clone(),
                step: report.minimal.len().saturating_sub(1),
                observed: verdict.observed.clone(),
                expected: verdict.expected.clone(),
                message: verdict.message.clone(),
            },
        })
    }

    /// The regression for a failure found and shrunk on a box (`target`: local or ssh)
    /// whose baseline holds `start`: it fails there today (`expect = "fail"`); replayed on the
    /// sim it says whether the sim reproduces it.
    pub fn from_box_failure(
        model: &Model,
        target: &str,
        start: &Config,
        minimal: &[Transition],
        verdict: &crate::journal::Verdict,
        operations: &[OpGroup],
        manifest: BoxManifest,
    ) -> Regression {
        Regression {
            format: FORMAT,
            canary_version: env!("CARGO_PKG_VERSION").to_string(),
            expect: Expect::Fail,
            model: model.name.clone(),
            model_hash: model.hash.clone(),
            variant: model.variant_name().map(str::to_string),
            seed: None,
            generated_steps: minimal.len(),
            target: target.into(),
            box_manifest: Some(manifest),
            replays_on: None,
            faults: Vec::new(),
            operations: operations.iter().map(|g| g.name().to_string()).collect(),
            baseline: model.labels(start),
            steps: saved_steps(model, start, minimal),
            failing: FailingCheck {
                check: verdict.check.clone(),
                kind: crate::fuzz::signature_of(verdict).kind,
                step: minimal.len().saturating_sub(1),
                observed: verdict.observed.clone(),
                expected: verdict.expected.clone(),
                message: verdict.message.clone(),
            },
        }
    }

    /// The failing signature.
    /// The first of `values` (`(axis, value)`) that the regression's baseline or steps set.
    pub fn uses_any<'v>(&self, values: &'v [(String, String)]) -> Option<&'v (String, String)> {
        values.iter().find(|(axis, value)| {
            self.baseline.get(axis) == Some(value)
                || self
                    .steps
                    .iter()
                    .any(|s| s.labels().is_some_and(|l| l.get(axis) == Some(value)))
        })
    }

    pub fn signature(&self) -> Signature {
        Signature::new(self.failing.check.clone(), self.failing.kind.clone())
    }

    /// A stable file name: the signature and a short hash of the model, faults and steps.
    pub fn file_name(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        h.update(self.faults.join(",").as_bytes());
        h.update(
            serde_json::to_string(&self.steps)
                .unwrap_or_default()
                .as_bytes(),
        );
        let hash = hex::encode(&h.finalize()[..4]);
        let slug: String = format!("{}-{}", self.failing.check, self.failing.kind)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}-{hash}.json", slug.trim_matches('-'))
    }

    /// Writes the file into `dir` (created if missing); returns its path.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(self.file_name());
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }

    /// Reads and checks the format of one file.
    pub fn load(path: &Path) -> Result<Regression, RegressError> {
        let text = crate::files::read_capped(path, crate::files::INPUT_CAP).map_err(|source| {
            RegressError::Read {
                path: path.into(),
                source,
            }
        })?;
        let r: Regression = serde_json::from_str(&text).map_err(|source| RegressError::Parse {
            path: path.into(),
            source,
        })?;
        if r.format != FORMAT {
            return Err(RegressError::Invalid {
                path: path.into(),
                what: format!(
                    "format version {} is not the version {FORMAT} this canary reads; save it again with this canary",
                    r.format
                ),
            });
        }
        Ok(r)
    }
}

/// The steps as saved: per apply, the labels of the axes it changes from the config in force
/// before it; per operation, its name.
pub fn saved_steps(model: &Model, start: &Config, steps: &[Transition]) -> Vec<SavedStep> {
    let in_force = configs_in_force(model, start, steps);
    steps
        .iter()
        .enumerate()
        .map(|(i, t)| match t {
            Transition::Apply(c) => {
                let prev = in_force[i];
                SavedStep::Apply(
                    (0..model.axes.len())
                        .filter(|&a| c.0[a] != prev.0[a])
                        .map(|a| {
                            (
                                model.axes[a].name.clone(),
                                model.label(a, c.0[a]).to_string(),
                            )
                        })
                        .collect(),
                )
            }
            Transition::Operate(o) => SavedStep::Operation(SavedOperation {
                operation: model.operations[*o as usize].name.clone(),
            }),
        })
        .collect()
}

/// A regression resolved against a model: its steps, faults and warnings.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub baseline: Config,
    pub steps: Vec<Transition>,
    pub faults: Vec<Fault>,
    /// The operation groups its seed generates with.
    pub operations: Vec<OpGroup>,
    /// The seed that generated it; none for a failure found on a box.
    pub seed: Option<Seed>,
    /// Things worth saying that do not stop the replay (model hash drift).
    pub warnings: Vec<String>,
}

/// Resolves a regression's labels against `model`.
pub fn resolve(path: &Path, r: &Regression, model: &Model) -> Result<Resolved, RegressError> {
    let bad = |what: String| RegressError::Invalid {
        path: path.into(),
        what,
    };
    if r.model != model.name {
        return Err(bad(format!(
            "it was saved for model '{}', not '{}'; replay it with --model for that model",
            r.model, model.name
        )));
    }
    if r.target != "sim" && !r.found_on_box() {
        return Err(bad(format!(
            "unknown target '{}' (sim, {})",
            r.target,
            BOX_TARGETS.join(", ")
        )));
    }
    // A box's faults are the fake's, switched on in the box: the sim has no counterpart, so a
    // box-found regression replays on the sim fault-free (the sim is bug-free by default).
    let faults = if r.found_on_box() {
        Vec::new()
    } else {
        faults::parse_all(&r.faults).map_err(|e| bad(e.to_string()))?
    };
    let operations = r
        .operations
        .iter()
        .map(|g| {
            OpGroup::from_name(g).ok_or_else(|| {
                bad(format!(
                    "unknown operation group '{g}'; the groups are {}",
                    OpGroup::ALL.map(OpGroup::name).join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let seed: Option<Seed> = r
        .generating_seed()
        .map(|s| s.parse())
        .transpose()
        .map_err(|e: crate::rng::SeedError| bad(e.to_string()))?;
    let resolve_labels = |from: &Config,
                          labels: &BTreeMap<String, String>,
                          what: &str|
     -> Result<Config, RegressError> {
        let mut c = from.clone();
        for (axis, value) in labels {
            let a = model.axis_index(axis).ok_or_else(|| {
                bad(if axis == "operation" {
                    format!("{what}: an operation step holds its operation name and nothing else")
                } else {
                    format!("{what}: unknown axis '{axis}'")
                })
            })?;
            let v = model.axes[a]
                .value_index(value)
                .ok_or_else(|| bad(format!("{what}: axis '{axis}' has no value '{value}'")))?;
            c.0[a] = v;
        }
        Ok(c)
    };
    let baseline = resolve_labels(&model.default_config(), &r.baseline, "baseline")?;
    if baseline != model.default_config() {
        return Err(bad(
            "its baseline is not the model's default config; only default-baseline regressions replay"
                .into(),
        ));
    }
    let mut steps: Vec<Transition> = Vec::with_capacity(r.steps.len());
    for (i, step) in r.steps.iter().enumerate() {
        steps.push(match step {
            SavedStep::Apply(labels) => {
                // Labels are changes from the config in force (after a restore, the backup's).
                let prev = *configs_in_force(model, &baseline, &steps)
                    .last()
                    .expect("one more than the steps");
                Transition::Apply(resolve_labels(prev, labels, &format!("step {i}"))?)
            }
            SavedStep::Operation(o) => {
                let index = model.operation_index(&o.operation).ok_or_else(|| {
                    bad(format!(
                        "step {i}: unknown operation '{}'; the model's operations are {}",
                        o.operation,
                        model.operation_names()
                    ))
                })?;
                Transition::Operate(index as u16)
            }
        });
    }
    if r.failing.step >= steps.len().max(1) && !steps.is_empty() {
        return Err(bad(format!(
            "its failing step {} is past its {} steps",
            r.failing.step,
            steps.len()
        )));
    }
    let mut warnings = Vec::new();
    if r.model_hash != model.hash {
        warnings.push(format!(
            "{}: saved with model hash {}, the model is now {}; every axis and value still resolves",
            path.display(),
            short(&r.model_hash),
            short(&model.hash)
        ));
    }
    Ok(Resolved {
        baseline,
        steps,
        faults,
        operations,
        seed,
        warnings,
    })
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

/// What a replay gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// Failed with the saved signature.
    StillFails { at: usize },
    /// Every step passed.
    Passes,
    /// Failed with another signature.
    FailsDifferently { signature: Signature, at: usize },
    /// Not run: the file says it cannot be replayed on this target kind, and why.
    Skipped { reason: String },
}

/// One file's replay.
#[derive(Debug)]
pub struct ReplayResult {
    pub path: PathBuf,
    pub regression: Option<Regression>,
    /// The replay, or why the file could not be replayed.
    pub result: Result<Replayed, RegressError>,
    pub warnings: Vec<String>,
    /// Whether the steps ran on a box (else on the simulated stack).
    pub on_box: bool,
}

impl ReplayResult {
    /// Whether the replay met the file's expectation. A regression found on a box and replayed
    /// on the sim has no expectation there: the replay only says whether the sim reproduces it
    /// (see [`ReplayResult::sim_reproduces`]), so any completed replay meets it.
    pub fn met(&self) -> bool {
        if !self.on_box
            && self
                .regression
                .as_ref()
                .is_some_and(Regression::found_on_box)
        {
            return self.result.is_ok();
        }
        match (&self.result, &self.regression) {
            // No expectation where it cannot run; shown as SKIPPED, never as met.
            (Ok(Replayed::Skipped { .. }), _) => true,
            (Ok(Replayed::StillFails { .. }), Some(r)) => r.expect == Expect::Fail,
            (Ok(Replayed::Passes), Some(r)) => r.expect == Expect::Pass,
            _ => false,
        }
    }
}

impl ReplayResult {
    /// For a regression found on a box and replayed on the sim: whether the sim failed the same
    /// way (`None` for a sim-found one, or when it could not be replayed).
    pub fn sim_reproduces(&self) -> Option<bool> {
        let r = self.regression.as_ref()?;
        if self.on_box || !r.found_on_box() {
            return None;
        }
        match self.result.as_ref().ok()? {
            Replayed::StillFails { .. } => Some(r.expect == Expect::Fail),
            Replayed::Passes => Some(r.expect == Expect::Pass),
            Replayed::FailsDifferently { .. } => Some(false),
            Replayed::Skipped { .. } => None,
        }
    }

    /// Why it was not run here, when it was skipped.
    pub fn skipped(&self) -> Option<&str> {
        match &self.result {
            Ok(Replayed::Skipped { reason }) => Some(reason),
            _ => None,
        }
    }
}

/// A regression file read, resolved against the model and turned into the steps to replay.
#[derive(Debug)]
pub struct Prepared {
    pub path: PathBuf,
    pub regression: Regression,
    pub resolved: Resolved,
    /// What to run: the saved steps, or (`by_seed`) the sequence regenerated from its seed.
    pub steps: Vec<Transition>,
}

impl Prepared {
    /// Reads `path` and prepares its replay; `Err` is the finished result of a file that cannot
    /// be replayed (unreadable, corrupt, invalid under the model).
    pub fn load(
        path: &Path,
        model: &Model,
        supplied: &Supplied,
        by_seed: bool,
    ) -> Result<Prepared, Box<ReplayResult>> {
        let failed = |regression, e| {
            Box::new(ReplayResult {
                path: path.into(),
                regression,
                result: Err(e),
                warnings: Vec::new(),
                on_box: false,
            })
        };
        let regression = Regression::load(path).map_err(|e| failed(None, e))?;
        let mut resolved = match resolve(path, &regression, model) {
            Ok(r) => r,
            Err(e) => return Err(failed(Some(regression), e)),
        };
        let found_under = regression.variant.as_deref().or(model.default_variant());
        if found_under != model.variant_name() {
            resolved.warnings.push(format!(
                "{}: found under variant {}, replayed under {}",
                path.display(),
                found_under.unwrap_or("(none)"),
                model.variant_name().unwrap_or("(none)")
            ));
        }
        let steps = if by_seed {
            match &resolved.seed {
                Some(seed) => crate::strategy::transitions_from_seed(
                    model,
                    supplied,
                    &resolved.operations,
                    seed,
                    regression.generated_steps,
                )
                .map_err(|e| RegressError::Invalid {
                    path: path.into(),
                    what: e.to_string(),
                }),
                None => Err(RegressError::Invalid {
                    path: path.into(),
                    what: format!(
                        "it was found on a box ({}) and has no generating seed, so --by-seed \
                         cannot regenerate it; replay its saved steps (without --by-seed)",
                        regression.target
                    ),
                }),
            }
        } else {
            // The steps are explicit, so any operation the model has may be replayed; the
            // file's groups only say what its seed generates.
            crate::shrink::validate_from(
                model,
                supplied,
                &OpGroup::ALL,
                &resolved.baseline,
                &resolved.steps,
            )
            .map(|()| resolved.steps.clone())
            .map_err(|e| RegressError::Invalid {
                path: path.into(),
                what: format!("its steps are not valid under the model: {e}"),
            })
        };
        match steps {
            Ok(steps) => Ok(Prepared {
                path: path.into(),
                regression,
                resolved,
                steps,
            }),
            Err(e) => Err(failed(Some(regression), e)),
        }
    }

    /// What a run of the steps that ended in `outcome` means for this regression.
    pub fn replayed(&self, outcome: &Outcome) -> Replayed {
        let want = self.regression.signature();
        match outcome {
            Outcome::Pass { .. } => Replayed::Passes,
            Outcome::Fail {
                signature,
                failed_at,
                ..
            } if *signature == want => Replayed::StillFails { at: *failed_at },
            Outcome::Fail {
                signature,
                failed_at,
                ..
            } => Replayed::FailsDifferently {
                signature: signature.clone(),
                at: *failed_at,
            },
        }
    }

    /// The finished replay: `result` of running the steps, `on_box` when they ran on a box.
    pub fn finish(self, result: Result<Replayed, RegressError>, on_box: bool) -> ReplayResult {
        let mut warnings = self.resolved.warnings;
        if !on_box
            && self.regression.found_on_box()
            && let Ok(replayed) = &result
        {
            let reproduces = match replayed {
                Replayed::StillFails { .. } => self.regression.expect == Expect::Fail,
                Replayed::Passes => self.regression.expect == Expect::Pass,
                Replayed::FailsDifferently { .. } | Replayed::Skipped { .. } => false,
            };
            warnings.push(format!(
                "{}: found on a {} box, replayed on the sim: {}",
                self.path.display(),
                self.regression.target,
                if reproduces {
                    "the sim reproduces it"
                } else {
                    "the sim does not reproduce it (the sim and the box disagree)"
                }
            ));
        }
        ReplayResult {
            path: self.path,
            regression: Some(self.regression),
            result,
            warnings,
            on_box,
        }
    }
}

/// Replays one file on the simulated stack by its steps (or, `by_seed`, by regenerating its
/// sequence from its seed), with the faults it was found with.
pub fn replay_file(path: &Path, model: &Model, supplied: &Supplied, by_seed: bool) -> ReplayResult {
    let under = match under_its_variant(path, model) {
        Ok(m) => m,
        Err(done) => return *done,
    };
    let model = under.as_ref().unwrap_or(model);
    let prepared = match Prepared::load(path, model, supplied, by_seed) {
        Ok(p) => p,
        Err(done) => return *done,
    };
    if let Some(reason) = prepared.regression.not_replayable_on("sim") {
        return prepared.finish(Ok(Replayed::Skipped { reason }), false);
    }
    // A box-found regression has no seed of its own: the sim's timings take seed 0.
    let result = SimOracle::new(
        model,
        supplied,
        prepared.resolved.seed.unwrap_or(Seed::from_u64(0)),
        &prepared.resolved.faults,
    )
    .map_err(|e| RegressError::Read {
        path: path.into(),
        source: e,
    })
    .map(|mut oracle| {
        oracle.want = Some(prepared.regression.signature());
        let outcome = oracle.run(&prepared.steps);
        prepared.replayed(&outcome)
    });
    prepared.finish(result, false)
}

/// The model a regression file replays under: the variant it was found with (the default
/// for a file without one); `None` when that is `model` itself (or the file cannot be read,
/// which [`Prepared::load`] reports).
fn under_its_variant(path: &Path, model: &Model) -> Result<Option<Model>, Box<ReplayResult>> {
    let Ok(r) = Regression::load(path) else {
        return Ok(None);
    };
    if r.model != model.name || model.variants.is_none() {
        return Ok(None);
    }
    let want = r.variant.as_deref().or(model.default_variant());
    if want == model.variant_name() {
        return Ok(None);
    }
    model.with_variant(want).map(Some).map_err(|e| {
        Box::new(ReplayResult {
            path: path.into(),
            regression: Some(r),
            result: Err(RegressError::Invalid {
                path: path.into(),
                what: format!("it was found under a variant this model cannot load: {e}"),
            }),
            warnings: Vec::new(),
            on_box: false,
        })
    })
}

/// The regression files of `path`: the file itself, or a directory's `*.json` files in name
/// order (a missing directory has none).
pub fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.into()]);
    }
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    out.sort();
    Ok(out)
}

/// Replays every regression of `dir` (or one file). `canary run` and `canary fuzz` call this on
/// `regressions/` before they start.
pub fn replay_dir(
    dir: &Path,
    model: &Model,
    supplied: &Supplied,
    by_seed: bool,
) -> std::io::Result<Vec<ReplayResult>> {
    Ok(files(dir)?
        .iter()
        .map(|p| replay_file(p, model, supplied, by_seed))
        .collect())
}
