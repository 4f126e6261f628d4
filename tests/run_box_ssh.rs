//! `canary run --target ssh` end to end: a real sshd on 127.0.0.1 with the fake box behind it,
//! one short walk that passes and leaves the box as it was.

#[path = "box_support/mod.rs"]
mod support;

use support::{FakeBox, Sshd, cli};

#[test]
fn a_short_walk_over_ssh_passes_and_restores_the_box() {
    let sshd = Sshd::start();
    let fake = FakeBox::setup();
    let before = std::fs::read(fake.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let mut args = cli::on_box(&fake, "run", Some(&sshd));
    args.extend(["--seed", "3", "--max-steps", "3", "--out"].map(String::from));
    args.push(out.display().to_string());
    let o = cli::canary(&args, work.path());
    let all = cli::text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}\nsshd log:\n{}", sshd.log());
    assert!(all.contains("3 steps"), "{all}");
    assert!(all.contains("box restored and verified"), "{all}");
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("--target ssh --host canary-test"),
        "the manifest's replay line names the box: {journal}"
    );
    assert_eq!(journal.matches("\"event\":\"step_end\"").count(), 3);
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        before,
        "the box is restored"
    );
}
