//! `.env` deleted under a walk: the walk stops at that step with one message instead of
//! failing every step after it, the restore says the box is not back, and the command it
//! prints, run literally by `sh`, puts the box back from the 0600 copies (config.json in the
//! run directory, .env on the box). No secret is printed on the way.

#[path = "box_support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::{FakeBox, cli};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn env_deleted_mid_walk_stops_the_walk_and_the_printed_advice_restores_the_box() {
    let fake = FakeBox::setup();
    let dir = fake.dir();
    // The third apply (step 2's) finds .env gone, as if deleted by hand mid-walk.
    support::write_exec(
        &dir.join("sabotage"),
        "#!/bin/sh\nif [ \"$1\" = apply ]; then n=$(cat applies.count 2>/dev/null || echo 0); \
         n=$((n+1)); echo $n > applies.count; [ $n = 3 ] && rm -f .env; fi\nexec ./pithead \"$@\"\n",
    );
    let config = std::fs::read(dir.join("config.json")).unwrap();
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("PROXY_AUTH_TOKEN="))
        .expect("the fake box has a proxy token")
        .to_string();
    assert!(token.len() >= 16);

    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let mut args = cli::on_box(&fake, "run", None);
    args.extend(["--pithead", "./sabotage", "--seed", "11", "--out"].map(String::from));
    args.push(out.display().to_string());
    let o = cli::canary(&args, work.path());
    let all = cli::text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(
        all.contains("step 2: .env gone from the stack directory"),
        "{all}"
    );
    assert!(!all.contains("FAIL step 3"), "the walk went on: {all}");
    // Only the step that found .env gone failed; none after it ran.
    assert!(
        all.lines()
            .filter(|l| l.contains("FAIL step"))
            .all(|l| l.contains("FAIL step 2 ")),
        "{all}"
    );
    assert!(all.contains("THE BOX IS NOT BACK"), "{all}");
    assert!(!all.contains(&token), "the proxy token was printed");
    // The copies are there, private, while the box is not back.
    let config_copy = out.join(".canary-config.json.orig");
    let env_copy = dir.join(".env.canary-orig");
    assert_eq!(std::fs::read(&config_copy).unwrap(), config);
    assert_eq!(std::fs::read_to_string(&env_copy).unwrap(), env);
    assert_eq!((mode(&config_copy), mode(&env_copy)), (0o600, 0o600));

    // Follow the advice literally.
    let advice = all
        .lines()
        .find_map(|l| l.split_once("to put it back by hand: ").map(|(_, c)| c))
        .unwrap_or_else(|| panic!("no advice: {all}"))
        .to_string();
    // From a shell in another zone: the line runs the CLI under the box's own (the fake
    // renders DASHBOARD_TZ from TZ, so the wrong zone would change .env).
    assert!(advice.contains(" LC_ALL=C "), "{advice}");
    let r = Command::new("sh")
        .args(["-c", &advice])
        .env("TZ", "Pacific/Chatham")
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "`{advice}` failed: {}", cli::text(&r));
    assert_eq!(std::fs::read(dir.join("config.json")).unwrap(), config);
    assert_eq!(std::fs::read_to_string(dir.join(".env")).unwrap(), env);
    // And the box is healthy as it was: canary's own check passes.
    let mut args = cli::on_box(&fake, "run", None);
    args.push("--check".into());
    let c = cli::canary(&args, work.path());
    assert_eq!(c.status.code(), Some(0), "{}", cli::text(&c));
}
