//! Options shared by every command that reads a model.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Args;

use crate::files;
use crate::model::prereq::{self, Source};
use crate::model::{self, Model, Supplied, variant};
use crate::target::box_target::{BoxTarget, BoxTargetOptions};

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

    /// Run as a named variant of the model (its [[variant]] sections: which Pithead version's
    /// behaviour), e.g. --variant no-tari-off. Default: the model as written; on a box, the
    /// variant the box's CLI answers like (this flag wins, with a warning if the box differs).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
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
        let variant = self.variant.as_deref();
        Ok(match (&self.model, &self.pict) {
            (Some(p), _) => model::load_file_variant(p, variant)?,
            (None, Some(p)) => {
                if let Some(v) = variant {
                    bail!("--variant {v}: a PICT model has no variants");
                }
                model::pict::load_pict_file(p)?
            }
            (None, None) => model::load_variant(
                model::BUILTIN_PITHEAD,
                std::path::Path::new("strategies/pithead.toml (built-in)"),
                variant,
            )?,
        })
    }

    /// [`Self::load`] for a run on `on_box` (when given): the box's CLI is asked, read-only,
    /// which variant it is, and the run uses that one unless --variant says otherwise.
    pub fn load_for(&self, on_box: Option<&BoxTargetOptions>) -> anyhow::Result<Model> {
        let m = self.load()?;
        let Some(opts) = on_box else { return Ok(m) };
        let asks = m
            .variants
            .as_ref()
            .is_some_and(|v| v.list.iter().any(|v| v.detect.is_some()));
        if !asks {
            return Ok(m);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        // A box that cannot be opened is left to the command's own open, which says why
        // after the command's usage checks.
        let Ok(detected) = rt.block_on(async {
            let target = BoxTarget::open(opts.clone()).await?;
            anyhow::Ok(target.variant_of(&m).await)
        }) else {
            return Ok(m);
        };
        let (name, said) = variant::choose(&m, self.variant.as_deref(), &detected);
        for line in said {
            if line.starts_with("warning:") {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
        Ok(m.with_variant(name.as_deref())?)
    }

    /// The supplied prerequisites, each checked against its prerequisite's type (see
    /// [`model::prereq`]): a bad, empty, duplicate or unknown one is a usage error.
    pub fn supplied(&self, model: &Model) -> anyhow::Result<Supplied> {
        Ok(self.checked(model)?.supplied)
    }

    /// [`Self::supplied`], with the prerequisites answered `no`.
    pub fn checked(&self, model: &Model) -> anyhow::Result<prereq::Checked> {
        let mut entries = Vec::new();
        if let Some(path) = &self.supply_file {
            let source = Source::RunFile(path.display().to_string());
            for (k, v) in read_run_file(path)? {
                entries.push((k, v, source.clone()));
            }
        }
        for s in &self.supply {
            let Some((k, v)) = s.split_once('=') else {
                bail!("--supply takes NAME=VALUE, got '{s}'");
            };
            entries.push((k.trim().to_string(), v.to_string(), Source::Flag));
        }
        prereq::check_supplied(model, &entries).map_err(anyhow::Error::msg)
    }
}

/// The `[supply]` table of a run file. Its text is never echoed: a TOML error would show the
/// source line, and the line may hold the view key, so errors name the line and key only.
fn read_run_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let name = path.display();
    let text = files::read_capped(path, files::INPUT_CAP)
        .with_context(|| format!("cannot read run file {name}"))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let start = e.span().map(|s| s.start.min(text.len()));
        let at = start.map_or(String::new(), |s| {
            format!(":{}", text[..s].matches('\n').count() + 1)
        });
        // The key is a prerequisite's name, never secret: name it when the line has one.
        let key = start
            .and_then(|s| {
                text[..s]
                    .rsplit('\n')
                    .next()
                    .zip(text[s..].split('\n').next())
            })
            .and_then(|(before, after)| {
                format!("{before}{after}")
                    .split_once('=')
                    .map(|(k, _)| k.trim().to_string())
            })
            .filter(|k| {
                !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .map_or(String::new(), |k| format!(" (key {k})"));
        anyhow!(
            "run file {name}{at}{key} is not valid TOML (its text is not shown: it may hold a \
             secret); write each prerequisite as NAME = \"VALUE\" under [supply]"
        )
    })?;
    let mut out = Vec::new();
    for (key, value) in table {
        let toml::Value::Table(supply) = value else {
            bail!(
                "run file {name}: '{key}' is not a [supply] table; a run file holds only [supply]"
            );
        };
        if key != "supply" {
            bail!("run file {name}: unknown table [{key}]; a run file holds only [supply]");
        }
        for (k, v) in supply {
            let toml::Value::String(v) = v else {
                bail!("run file {name}: supply.{k} is not a quoted string; write {k} = \"VALUE\"");
            };
            out.push((k, v));
        }
    }
    Ok(out)
}
