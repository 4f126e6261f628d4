//! `canary faults`: the catalogue of injected faults a target can switch on with `--fault`.

use std::fmt::Write as _;

use super::EXIT_OK;
use crate::faults::{FaultInfo, catalogue};

/// How `canary faults` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// A JSON array of catalogue entries.
    Json,
}

/// Arguments of `canary faults`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    print!("{}", render(catalogue(), args.format)?);
    Ok(EXIT_OK)
}

/// The catalogue as text in the given format.
pub fn render(faults: &[FaultInfo], format: Format) -> anyhow::Result<String> {
    let mut out = String::new();
    match format {
        Format::Json => {
            out = serde_json::to_string_pretty(faults)?;
            out.push('\n');
        }
        Format::Table => {
            let w = faults
                .iter()
                .map(|f| f.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            writeln!(
                out,
                "{:<w$}  {:<6}  {:>5}  DESCRIPTION",
                "NAME", "ISSUE", "STEPS"
            )?;
            for f in faults {
                let steps = format!(
                    "{}{}",
                    f.minimal_steps,
                    if f.sequence_dependent { "+" } else { "" }
                );
                writeln!(
                    out,
                    "{:<w$}  {:<6}  {:>5}  {}",
                    f.name, f.issue, steps, f.description
                )?;
            }
            writeln!(
                out,
                "\nSTEPS: applies in the shortest known reproduction from the default baseline; \
                 '+' marks faults that only a sequence of transitions reveals.\n\
                 Switch one on with `--fault NAME` (repeatable)."
            )?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_fault_and_json_round_trips() {
        let t = render(catalogue(), Format::Table).unwrap();
        for f in catalogue() {
            assert!(t.contains(f.name) && t.contains(f.issue));
        }
        let j: serde_json::Value =
            serde_json::from_str(&render(catalogue(), Format::Json).unwrap()).unwrap();
        assert_eq!(j.as_array().unwrap().len(), catalogue().len());
        assert_eq!(j[0]["name"], catalogue()[0].name);
        assert!(j[0]["minimal_steps"].is_u64());
    }
}
