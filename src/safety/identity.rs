//! Which box a snapshot is of, and the proof `--resume` asks for before it touches a box: the
//! same target kind, host and stack directory, a config.json the snapshot or the walk wrote,
//! and the same secrets. Without it, a resume onto another box would walk that box and then
//! "restore" it to the first box's config.json, node credentials and all.

use serde::{Deserialize, Serialize};

use super::{Snapshot, sha256_hex, short};
use crate::target::box_target::BoxTarget;

/// Where a box is, as its probe found it when the target was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxIdentity {
    /// `local` or `ssh`.
    pub kind: String,
    /// `localhost` or the SSH destination, as given.
    pub host: String,
    /// The box's own name (`uname -n`): the same machine under another SSH alias is the same.
    pub hostname: String,
    /// The stack directory with every symlink resolved (`pwd -P` on the box).
    pub dir: String,
}

impl BoxIdentity {
    /// The identity of an opened box target.
    pub fn of(t: &BoxTarget) -> Self {
        let fact = |k: &str| t.fact(k).unwrap_or_default().to_string();
        let dir = fact("realdir");
        BoxIdentity {
            kind: t.executor().kind().to_string(),
            host: t.executor().host(),
            hostname: fact("hostname"),
            dir: if dir.is_empty() {
                t.dir().to_string()
            } else {
                dir
            },
        }
    }
}

/// The box as a resume finds it, read without changing anything.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    pub identity: BoxIdentity,
    /// config.json as it is (`None`: missing).
    pub config: Option<&'a [u8]>,
    /// The secret fingerprint now (of the .env a token emptying kept aside, when there is one);
    /// empty when there is no .env.
    pub fingerprint: String,
}

/// Everything that shows `seen` is not the box `snap` was taken of, one line each; empty
/// when it is the same box. `walk_configs` are the config.json documents the walk writes: a
/// dropped walk leaves one of them (or the snapshot's) on its box.
pub fn differences(
    snap: &Snapshot,
    seen: &Seen<'_>,
    walk_configs: &[serde_json::Value],
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(was) = &snap.identity {
        let now = &seen.identity;
        if was.kind != now.kind {
            out.push(format!(
                "the target kind: `{}` now, `{}` when the run started",
                now.kind, was.kind
            ));
        }
        if was.hostname != now.hostname {
            out.push(format!(
                "the host: {} ({}) now, {} ({}) when the run started",
                now.hostname, now.host, was.hostname, was.host
            ));
        }
        if was.dir != now.dir {
            out.push(format!(
                "the stack directory: {} now, {} when the run started",
                now.dir, was.dir
            ));
        }
    }
    match seen.config {
        None => out.push("config.json: missing now".to_string()),
        Some(bytes) if bytes == snap.config.as_slice() => {}
        Some(bytes) => {
            let walked = serde_json::from_slice::<serde_json::Value>(bytes)
                .is_ok_and(|v| walk_configs.contains(&v));
            if !walked {
                out.push(format!(
                    "config.json: sha256 {} now is neither the snapshot's ({}) nor one the walk \
                     writes",
                    short(&sha256_hex(bytes)),
                    short(&snap.config_sha256)
                ));
            }
        }
    }
    if seen.fingerprint.is_empty() {
        out.push("the secret fingerprint: there is no .env now".to_string());
    } else if seen.fingerprint != snap.fingerprint {
        out.push(format!(
            "the secret fingerprint (tokens and onion addresses in .env): {} now, {} when the \
             run started",
            short(&seen.fingerprint),
            short(&snap.fingerprint)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(dir: &str) -> BoxIdentity {
        BoxIdentity {
            kind: "local".into(),
            host: "localhost".into(),
            hostname: "rig".into(),
            dir: dir.into(),
        }
    }

    fn snap() -> Snapshot {
        let config = b"{\"monero\": {\"node_password\": \"a\"}}\n".to_vec();
        Snapshot {
            config_sha256: sha256_hex(&config),
            config,
            fingerprint: "f".repeat(64),
            running: Default::default(),
            tz: None,
            identity: Some(id("/opt/pithead")),
        }
    }

    #[test]
    fn the_same_box_mid_walk_is_the_same_box() {
        let s = snap();
        let step = b"{\"monero\": {\"node_password\": \"a\"}, \"p2pool\": {\"pool\": \"nano\"}}";
        let walk = [json!({"monero": {"node_password": "a"}, "p2pool": {"pool": "nano"}})];
        for config in [s.config.as_slice(), step.as_slice()] {
            let seen = Seen {
                identity: id("/opt/pithead"),
                config: Some(config),
                fingerprint: "f".repeat(64),
            };
            assert_eq!(differences(&s, &seen, &walk), Vec::<String>::new());
        }
    }

    #[test]
    fn every_difference_is_named() {
        let s = snap();
        let seen = Seen {
            identity: BoxIdentity {
                kind: "ssh".into(),
                host: "user@other".into(),
                hostname: "other".into(),
                dir: "/srv/pithead".into(),
            },
            config: Some(b"{\"monero\": {\"node_password\": \"b\"}}\n"),
            fingerprint: "e".repeat(64),
        };
        let d = differences(&s, &seen, &[]).join("\n");
        for part in [
            "the target kind: `ssh` now, `local`",
            "the host: other (user@other) now, rig (localhost)",
            "the stack directory: /srv/pithead now, /opt/pithead",
            "config.json: sha256",
            "the secret fingerprint (tokens and onion addresses in .env): eeeeeeeeeeee now",
        ] {
            assert!(d.contains(part), "{part:?} missing from:\n{d}");
        }
        let gone = Seen {
            identity: id("/opt/pithead"),
            config: None,
            fingerprint: String::new(),
        };
        assert_eq!(
            differences(&s, &gone, &[]),
            [
                "config.json: missing now",
                "the secret fingerprint: there is no .env now"
            ]
        );
    }
}
