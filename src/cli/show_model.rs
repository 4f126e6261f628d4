//! `canary model`: validate a model and show what it holds.

use std::fmt::Write as _;

use super::{EXIT_OK, ModelArgs};

/// Arguments of `canary model`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Compare the model with this docker-compose.yml instead of showing it: exit 1 on drift.
    #[arg(long, value_name = "FILE")]
    pub compose: Option<std::path::PathBuf>,
    /// A compose override file applied on top of --compose.
    #[arg(long = "override", value_name = "FILE", requires = "compose")]
    pub override_file: Option<std::path::PathBuf>,
    /// With --compose: print the derived [[service]] tables instead of the comparison.
    #[arg(long, value_name = "WHAT", value_parser = ["services"], requires = "compose")]
    pub emit: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let model = args.model.load()?;
    if let Some(file) = &args.compose {
        let (text, drifted) = crate::compose::check_files(
            &model,
            file,
            args.override_file.as_deref(),
            args.emit.is_some(),
        )?;
        print!("{text}");
        return Ok(if drifted { super::EXIT_FAILED } else { EXIT_OK });
    }
    let supplied = args.model.supplied(&model)?;
    let mut out = String::new();
    writeln!(out, "model {} (sha256 {})", model.name, &model.hash[..16])?;
    writeln!(out, "axes:")?;
    for (i, a) in model.axes.iter().enumerate() {
        let values: Vec<String> = a
            .values
            .iter()
            .enumerate()
            .map(|(v, x)| {
                let mut s = x.label.clone();
                if v as u16 == a.default {
                    s.push('*');
                }
                if !model.value_allowed(i, v as u16, &supplied) {
                    s.push_str(" (gated)");
                }
                s
            })
            .collect();
        writeln!(
            out,
            "  {:<32} {}{}",
            a.name,
            values.join(", "),
            if a.cold { "  [cold]" } else { "" }
        )?;
    }
    if !model.prerequisites.is_empty() {
        writeln!(out, "prerequisites (supply with --supply NAME=VALUE):")?;
        for p in &model.prerequisites {
            let state = if supplied.has_all(std::slice::from_ref(&p.name)) {
                "supplied"
            } else {
                "missing"
            };
            writeln!(
                out,
                "  {:<24} {:<9} {:<7} {}",
                p.name,
                state,
                p.kind.name(),
                p.help
            )?;
        }
    }
    for s in model.skipped(&supplied) {
        writeln!(out, "SKIPPED {}={}: {}", s.axis, s.value, s.reason)?;
    }
    if !model.constraints.is_empty() {
        writeln!(out, "constraints:")?;
        for c in &model.constraints {
            writeln!(out, "  {}", c.text)?;
        }
    }
    if !model.normalisations.is_empty() {
        writeln!(out, "normalisations:")?;
        for n in &model.normalisations {
            writeln!(out, "  when {}: {}", n.text, n.why)?;
        }
    }
    if !model.services.is_empty() {
        let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
        writeln!(out, "services: {}", names.join(", "))?;
    }
    if !model.operations.is_empty() {
        writeln!(out, "operations (walk them with --operations GROUPS):")?;
        for o in &model.operations {
            let classes: Vec<&str> = o
                .classes
                .iter()
                .map(|&a| model.axes[a].name.as_str())
                .collect();
            writeln!(out, "  {:<18} {:<9} {}", o.name, o.group.name(), o.help)?;
            if let Some(r) = &o.requires_text {
                writeln!(out, "  {:<28} only where {r}", "")?;
            }
            if !classes.is_empty() {
                writeln!(out, "  {:<28} in each class of {}", "", classes.join(" × "))?;
            }
        }
    }
    print!("{out}");
    Ok(EXIT_OK)
}
