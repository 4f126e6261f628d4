//! Options shared by every command that reads a model.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::model::{self, Model, Supplied};

/// Which model to use and what prerequisites are supplied.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Stack model (TOML). Default: the built-in Pithead model (strategies/pithead.toml).
    #[arg(long, value_name = "FILE", conflicts_with = "pict")]
    pub model: Option<PathBuf>,

    /// Read a Microsoft PICT model instead (parameter lines and IF/THEN constraints).
    #[arg(long, value_name = "FILE")]
    pub pict: Option<PathBuf>,

    /// Supply a prerequisite that gated values need, e.g. --supply remote_monero_host=node.lan
    /// (repeatable). `canary model` lists the model's prerequisites; values without theirs are
    /// reported as SKIPPED.
    #[arg(long = "supply", value_name = "NAME=VALUE")]
    pub supply: Vec<String>,

    /// Read prerequisites from a TOML run file with a [supply] table (NAME = "VALUE").
    #[arg(long, value_name = "FILE")]
    pub supply_file: Option<PathBuf>,

    /// Drop a value the box's version does not have, e.g. --skip-value tari.mode=off
    /// (repeatable); it is planned nowhere and the run says it was dropped.
    #[arg(long = "skip-value", value_name = "AXIS=VALUE")]
    pub skip_value: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFile {
    #[serde(default)]
    supply: BTreeMap<String, String>,
}

impl ModelArgs {
    /// Loads and validates the selected model.
    pub fn load(&self) -> anyhow::Result<Model> {
        let mut m = self.load_unskipped()?;
        for spec in &self.skip_value {
            model::skip::skip_value(&mut m, spec).map_err(anyhow::Error::msg)?;
            eprintln!("DROPPED {}: {}", spec.trim(), model::skip::WHY);
        }
        Ok(m)
    }

    fn load_unskipped(&self) -> anyhow::Result<Model> {
        Ok(match (&self.model, &self.pict) {
            (Some(p), _) => model::load_file(p)?,
            (None, Some(p)) => model::pict::load_pict_file(p)?,
            (None, None) => model::load_str(
                model::BUILTIN_PITHEAD,
                std::path::Path::new("strategies/pithead.toml (built-in)"),
            )?,
        })
    }

    /// The supplied prerequisites, checked against the model.
    pub fn supplied(&self, model: &Model) -> anyhow::Result<Supplied> {
        let mut out = BTreeMap::new();
        if let Some(path) = &self.supply_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read run file {}", path.display()))?;
            let rf: RunFile = toml::from_str(&text)
                .with_context(|| format!("run file {} is not valid", path.display()))?;
            out.extend(rf.supply);
        }
        for s in &self.supply {
            let Some((k, v)) = s.split_once('=') else {
                bail!("--supply takes NAME=VALUE, got '{s}'");
            };
            out.insert(k.trim().to_string(), v.to_string());
        }
        for k in out.keys() {
            if !model.prerequisites.iter().any(|p| &p.name == k) {
                let known: Vec<&str> = model
                    .prerequisites
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                bail!(
                    "unknown prerequisite '{k}'; the model's prerequisites are: {}",
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            }
        }
        Ok(Supplied(out))
    }
}
