//! The few tools a real Pithead CLI runs inside its containers, answered by the multi-call
//! binary when it is invoked under their names (the image links `/bin/test`, `/bin/cat` and
//! `/bin/caddy` to it): `test -f`/`cat` of tor's hostname files (stable onions per service),
//! `cat` of any other file (e.g. `/proc/1/cmdline`), and `caddy hash-password --plaintext`.

use sha2::{Digest, Sha256};

/// The services whose onion the CLI reads from tor (`/var/lib/tor/<svc>/hostname`).
const ONION_SERVICES: [&str; 4] = ["monero", "tari", "p2pool", "dashboard"];

/// A stable v3-shaped onion for `service`: 56 base32 characters + `.onion`.
pub fn onion(service: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits = Vec::new();
    let mut seed = format!("canary-onion-{service}").into_bytes();
    while bits.len() < 56 {
        let digest = Sha256::digest(&seed);
        bits.extend(digest.iter().map(|b| ALPHABET[usize::from(b & 31)]));
        seed = digest.to_vec();
    }
    bits.truncate(56);
    format!("{}.onion", String::from_utf8_lossy(&bits))
}

/// The onion service a tor hostname path names, if it is one.
fn hostname_service(path: &str) -> Option<&str> {
    let svc = path
        .strip_prefix("/var/lib/tor/")?
        .strip_suffix("/hostname")?;
    ONION_SERVICES.contains(&svc).then_some(svc)
}

/// Runs the tool `name` with `args`; `None` when `name` is not one of them.
pub fn run(name: &str, args: &[String]) -> Option<i32> {
    match name {
        "test" => Some(match args {
            [flag, path] if flag == "-f" || flag == "-e" => i32::from(
                !(hostname_service(path).is_some() || std::path::Path::new(path).is_file()),
            ),
            _ => 2,
        }),
        "cat" => {
            let mut rc = 0;
            for path in args {
                if let Some(svc) = hostname_service(path) {
                    println!("{}", onion(svc));
                } else {
                    match std::fs::read(path) {
                        Ok(bytes) => {
                            use std::io::Write;
                            let _ = std::io::stdout().write_all(&bytes);
                        }
                        Err(e) => {
                            eprintln!("cat: {path}: {e}");
                            rc = 1;
                        }
                    }
                }
            }
            Some(rc)
        }
        "caddy" => Some(match args {
            [verb, flag, plain] if verb == "hash-password" && flag == "--plaintext" => {
                // bcrypt-shaped ($2a$14$ + 53 characters), stable per password.
                const B64: &[u8] =
                    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                let d = Sha256::digest(plain.as_bytes());
                let tail: String = (0..53)
                    .map(|i| char::from(B64[usize::from(d[i % 32] ^ (i as u8)) % 64]))
                    .collect();
                println!("$2a$14${tail}");
                0
            }
            _ => {
                eprintln!("caddy (fake): only `hash-password --plaintext PW` is answered");
                2
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onions_are_stable_distinct_and_v3_shaped() {
        let m = onion("monero");
        assert_eq!(m, onion("monero"));
        assert_ne!(m, onion("tari"));
        assert_eq!(m.len(), 56 + ".onion".len());
        assert!(
            m[..56]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        );
    }

    #[test]
    fn tools_answer_only_their_own_arguments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            run("test", &s(&["-f", "/var/lib/tor/tari/hostname"])),
            Some(0)
        );
        assert_eq!(
            run("test", &s(&["-f", "/var/lib/tor/nope/hostname"])),
            Some(1)
        );
        assert_eq!(run("caddy", &s(&["version"])), Some(2));
        assert_eq!(run("ls", &s(&[])), None);
    }
}
