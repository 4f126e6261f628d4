//! The replay line of `canary run`: the one command that runs the same run again, printed
//! with every failure and kept in the journal.

use std::path::Path;

use super::quote;
use super::run::Args;
use crate::model::{Model, OpGroup};
use crate::rng::Seed;

/// The one line that replays this run. Secret prerequisites are never printed: their value
/// is left as a placeholder to fill in.
pub fn replay_line(args: &Args, seed: &Seed, model: &Model) -> String {
    let mut w: Vec<String> = vec!["canary".into(), "run".into()];
    let mut push = |flag: &str, value: Option<String>| {
        w.push(flag.to_string());
        if let Some(v) = value {
            w.push(quote(&v));
        }
    };
    push("--seed", Some(seed.to_string()));
    for (flag, value) in args.on.replay_flags() {
        push(flag, value);
    }
    for f in &args.faults {
        push("--fault", Some(f.clone()));
    }
    if let Some(p) = &args.model.model {
        push("--model", Some(p.display().to_string()));
    }
    if let Some(p) = &args.model.pict {
        push("--pict", Some(p.display().to_string()));
    }
    if let Some(p) = &args.model.supply_file {
        push("--supply-file", Some(p.display().to_string()));
    }
    for v in &args.model.skip_value {
        push("--skip-value", Some(v.clone()));
    }
    for s in &args.model.supply {
        let name = s.split_once('=').map_or(s.as_str(), |(k, _)| k.trim());
        let secret = model
            .prerequisites
            .iter()
            .any(|p| p.name == name && p.secret);
        let shown = if secret {
            format!("{name}=<secret>")
        } else {
            s.clone()
        };
        push("--supply", Some(shown));
    }
    if let Some(p) = &args.plan {
        push("--plan", Some(p.display().to_string()));
    } else {
        if args.strength != 2 {
            push("--strength", Some(args.strength.to_string()));
        }
        if let Some(t) = args.transitions {
            push("--transitions", Some(t.to_string()));
        }
        if args.operations.is_some() {
            push(
                "--operations",
                Some(OpGroup::list_name(&args.operation_groups())),
            );
        }
    }
    if let Some(n) = args.max_steps {
        push("--max-steps", Some(n.to_string()));
    }
    if args.fail_fast {
        push("--fail-fast", None);
    }
    // Whether regressions are replayed first decides whether an unmet one fails the run.
    if args.no_replay {
        push("--no-replay", None);
    } else if args.regressions != Path::new("regressions") {
        push(
            "--regressions",
            Some(args.regressions.display().to_string()),
        );
    }
    w.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a line the way a POSIX shell splits [`quote`]'s output: single quotes and
    /// backslash escapes.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                ' ' => words.extend(word.take()),
                '\'' => {
                    let w = word.get_or_insert_with(String::new);
                    w.extend(chars.by_ref().take_while(|&c| c != '\''));
                }
                '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
                c => word.get_or_insert_with(String::new).push(c),
            }
        }
        words.extend(word);
        words
    }

    fn parse_run(words: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        <Cli as clap::Parser>::try_parse_from(std::iter::once("run").chain(words.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn the_replay_line_carries_every_flag_that_shapes_the_run() {
        let m = crate::model::load_str(
            crate::model::BUILTIN_PITHEAD,
            std::path::Path::new("pithead.toml"),
        )
        .unwrap();
        let args = parse_run(&[
            "--seed",
            "7",
            "--target",
            "local",
            "--dir",
            "/srv/my stack",
            "--pithead",
            "sudo ./pithead",
            "--api-url",
            "http://127.0.0.1:8001/api/state",
            "--compose",
            "./pithead compose",
            "--op-timescale",
            "1/30",
            "--operations",
            "lifecycle,faults",
            "--strength",
            "3",
            "--transitions",
            "false",
            "--max-steps",
            "4",
            "--fail-fast",
            "--ready-timeout",
            "90s",
            "--apply-timeout",
            "2m",
            "--observe-timeout",
            "20s",
            "--action-timeout",
            "3m",
            "--restore-timeout",
            "5m",
            "--skip-value",
            "tari.mode=off",
            "--regressions",
            "elsewhere",
            "--keep",
        ]);
        let seed = Seed::from_u64(7);
        let line = replay_line(&args, &seed, &m);
        for flag in [
            "--compose './pithead compose'",
            "--op-timescale 0.03333",
            "--regressions elsewhere",
            "--dir '/srv/my stack'",
            "--apply-timeout 2m",
            "--restore-timeout 5m",
            "--skip-value tari.mode=off",
        ] {
            assert!(line.contains(flag), "{flag} missing from {line}");
        }
        // Read back by a shell and parsed again, the line asks for the very same run.
        let words = shell_words(&line);
        assert_eq!(words[..2], ["canary", "run"], "{line}");
        let words: Vec<&str> = words[2..].iter().map(String::as_str).collect();
        let again = parse_run(&words);
        assert_eq!(format!("{again:?}"), format!("{args:?}"), "{line}");
        assert_eq!(replay_line(&again, &seed, &m), line, "a fixed point");

        // Not replaying regressions/ is part of the run too.
        let args = parse_run(&["--no-replay", "--regressions", "elsewhere"]);
        let line = replay_line(&args, &seed, &m);
        assert!(line.ends_with(" --no-replay"), "{line}");
    }

    #[test]
    fn quoting_leaves_plain_words_and_wraps_the_rest() {
        assert_eq!(quote("--fault"), "--fault");
        assert_eq!(quote("strategies/x.toml"), "strategies/x.toml");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
