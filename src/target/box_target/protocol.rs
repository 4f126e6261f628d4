//! The protocol with the box: the arguments canary's scripts take (the zone, the key regexes,
//! the compose invocation) and the parsers of what they print. Pure functions, no I/O.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ContainerList, FALLBACK_TZ};
use crate::exec::ExecError;
use crate::target::{ContainerState, TargetError};

/// docker inspect template giving one JSON object per container.
// The whole `.State` object, not `.State.Health.Status`: on Docker 20.10 a template that
// touches `.State.Health` fails outright for a container without a healthcheck.
pub(super) const INSPECT_TEMPLATE: &str = r#"{"name":{{json (index .Config.Labels "com.docker.compose.service")}},"container":{{json .Name}},"id":{{json .Id}},"docker_state":{{json .State}}}"#;

/// The zone for `TZ`: with `dashboard.timezone` on auto, the DASHBOARD_TZ the box's last
/// apply rendered (its applies ran under that zone); else the host's zone; else
/// [`FALLBACK_TZ`]. Values that are not zone names are passed over.
pub fn choose_zone(auto: bool, env_tz: &str, host_tz: &str) -> String {
    [(auto, env_tz), (true, host_tz)]
        .into_iter()
        .find(|(usable, z)| *usable && is_zone_name(z))
        .map_or_else(|| FALLBACK_TZ.to_string(), |(_, z)| z.to_string())
}

/// Pithead's shape check of a zone name (`Area/City`, `UTC`, `Etc/GMT+5`).
pub fn is_zone_name(tz: &str) -> bool {
    !tz.is_empty()
        && tz.len() <= 64
        && tz.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        })
}

pub(super) fn alternation(keys: &[&str]) -> String {
    keys.join("|")
}

/// The compose invocation that goes with the container list: Docker's own compose (v2, else
/// v1) where containers are read from Docker, else the pithead CLI's `compose` verb (the fake
/// box plays Compose itself).
pub(super) fn compose_invocation(
    containers: &ContainerList,
    compose: &str,
    privilege: &[String],
    pithead: &[String],
) -> Vec<String> {
    let mut argv = privilege.to_vec();
    match (containers, compose) {
        (ContainerList::DockerCompose, "v1") => argv.push("docker-compose".into()),
        (ContainerList::DockerCompose, _) => argv.extend(["docker".into(), "compose".into()]),
        _ => {
            argv = pithead.to_vec();
            argv.push("compose".into());
        }
    }
    argv
}

/// The archive a `pithead backup` printed (`backups/pithead-backup-<stamp>.tar.gz[.enc]`,
/// maybe with a directory and quotes around it): the last word that names one.
pub fn backup_archive(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .map(|w| {
            w.trim_start_matches(|c: char| "'\"`([<".contains(c))
                .trim_end_matches(|c: char| "'\"`,;:.)]>".contains(c))
        })
        .rfind(|w| {
            let name = w.rsplit('/').next().unwrap_or(w);
            name.starts_with("pithead-backup-")
                && (name.ends_with(".tar.gz") || name.ends_with(".tar.gz.enc"))
        })
        .map(str::to_string)
}

/// Maps an executor error: a timeout becomes [`TargetError::Timeout`] naming the real command
/// (never the `sh` wrapper) and the verdict it is; anything else as [`conn`].
pub(super) fn deadline(
    check: &'static str,
    command: impl FnOnce() -> String,
) -> impl FnOnce(ExecError) -> TargetError {
    move |e| match e {
        ExecError::Timeout { timeout, .. } => TargetError::Timeout {
            check,
            command: command(),
            after: timeout,
        },
        other => conn(other),
    }
}

pub(super) fn conn(e: ExecError) -> TargetError {
    match e {
        ExecError::Disconnected { .. } => TargetError::Connection(e.to_string()),
        other => TargetError::Other(other.to_string()),
    }
}

pub(super) struct RawObservation {
    pub status: String,
    pub status_exit: i32,
    pub containers: String,
    pub env: String,
    pub api: String,
    pub fingerprint: String,
}

/// Splits the observe script's output into its sections. `None` when the end marker is
/// missing (the script was cut short).
pub(super) fn parse_observation(text: &str) -> Option<RawObservation> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current: Option<&str> = None;
    let mut status_exit = None;
    let mut ended = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if let Some(rest) = bare
            .strip_prefix("@@canary:")
            .and_then(|r| r.strip_suffix("@@"))
        {
            if let Some(code) = rest.strip_prefix("status-exit=") {
                status_exit = code.parse().ok();
                current = None;
                continue;
            }
            if rest == "end" {
                ended = true;
                break;
            }
            current = Some(match rest {
                "status" => "status",
                "containers" => "containers",
                "env" => "env",
                "api" => "api",
                "fingerprint" => "fingerprint",
                _ => continue,
            });
            continue;
        }
        if let Some(c) = current {
            sections.entry(c).or_default().push_str(line);
        }
    }
    if !ended {
        return None;
    }
    let mut take = |k: &str| sections.remove(k).unwrap_or_default();
    Some(RawObservation {
        status: take("status"),
        status_exit: status_exit?,
        containers: take("containers"),
        env: take("env"),
        api: take("api"),
        fingerprint: take("fingerprint").trim().to_string(),
    })
}

/// Parses a container list: one JSON object per line, or one JSON array. Field names are
/// accepted in the docker and lowercase spellings (`Name`/`name`/`Service`, `ID`/`id`,
/// `StartedAt`/`started`, `State`/`state`, `Health`/`health`).
pub fn parse_containers(text: &str) -> Vec<ContainerState> {
    let trimmed = text.trim();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<Value>>(trimmed).unwrap_or_default()
    } else {
        trimmed
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .collect()
    };
    let mut out: Vec<ContainerState> = values.iter().filter_map(container_from).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    out
}

fn container_from(v: &Value) -> Option<ContainerState> {
    let o = v.as_object()?;
    let field = |names: &[&str]| -> Option<String> {
        names.iter().find_map(|n| match o.get(*n) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(x)) => Some(x.to_string()),
            _ => None,
        })
    };
    let name = field(&["name", "service", "Service", "Name", "container"])?
        .trim_start_matches('/')
        .to_string();
    let id = field(&["id", "ID", "Id"]).unwrap_or_default();
    if let Some(st) = o.get("docker_state").and_then(Value::as_object) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let health = text(st.get("Health").and_then(|h| h.get("Status")));
        return Some(ContainerState {
            name,
            id,
            started: text(st.get("StartedAt")),
            state: text(st.get("Status")).to_ascii_lowercase().into(),
            health: (!health.is_empty() && health != "none").then_some(health),
        });
    }
    let health = field(&["health", "Health"]).filter(|h| !h.is_empty() && h != "none");
    Some(ContainerState {
        name,
        id,
        started: field(&["started", "StartedAt", "started_at"]).unwrap_or_default(),
        state: field(&["state", "State", "status", "Status"])
            .unwrap_or_default()
            .to_ascii_lowercase()
            .into(),
        health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::RunState;

    #[test]
    fn the_zone_is_the_rendered_one_on_auto_else_the_hosts() {
        assert_eq!(
            choose_zone(true, "Europe/Berlin", "Etc/UTC"),
            "Europe/Berlin"
        );
        // An explicit dashboard.timezone: DASHBOARD_TZ says nothing of the box's zone.
        assert_eq!(choose_zone(false, "America/Chicago", "Etc/UTC"), "Etc/UTC");
        assert_eq!(choose_zone(true, "", "Asia/Tokyo"), "Asia/Tokyo");
        assert_eq!(choose_zone(true, "not a zone", "../../x"), FALLBACK_TZ);
        assert!(is_zone_name("Etc/GMT+5") && is_zone_name("UTC"));
        assert!(!is_zone_name("a//b") && !is_zone_name("$(x)") && !is_zone_name(""));
    }

    #[test]
    fn parses_observation_sections() {
        let text = "@@canary:status@@\nall good\n@@canary:status-exit=1@@\n@@canary:containers@@\n\
                    {\"name\":\"tor\",\"id\":\"a1\",\"started\":\"t\",\"state\":\"running\",\"health\":null}\n\n\
                    @@canary:env@@\nXVB_ENABLED=true\n@@canary:api@@\n{\"x\":1}\n@@canary:fingerprint@@\nabc\n@@canary:end@@\n";
        let p = parse_observation(text).unwrap();
        assert_eq!(p.status, "all good\n");
        assert_eq!(p.status_exit, 1);
        assert_eq!(p.env, "XVB_ENABLED=true\n");
        assert_eq!(p.api.trim(), "{\"x\":1}");
        assert_eq!(p.fingerprint, "abc");
        assert!(
            parse_observation("@@canary:status@@\n").is_none(),
            "cut short"
        );
    }

    #[test]
    fn parses_docker_and_fake_container_lists() {
        let docker = r#"{"name":"monerod","container":"/pithead-monerod-1","id":"f00","docker_state":{"Status":"running","StartedAt":"2026-01-01T00:00:00Z","Health":{"Status":"healthy","Log":[]}}}
{"name":"tor","container":"/pithead-tor-1","id":"b4r","docker_state":{"Status":"exited","StartedAt":"2026-01-01T00:00:01Z"}}"#;
        let c = parse_containers(docker);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "monerod");
        assert_eq!(c[0].health.as_deref(), Some("healthy"));
        assert_eq!(c[1].state, RunState::Exited);
        assert_eq!(c[1].health, None);
        let fake =
            r#"[{"Service":"p2pool","ID":"1","StartedAt":"s","State":"Running","Health":""}]"#;
        let c = parse_containers(fake);
        assert_eq!(c[0].name, "p2pool");
        assert_eq!(c[0].state, RunState::Running);
        assert_eq!(c[0].health, None);
    }

    #[test]
    fn finds_the_archive_a_backup_printed() {
        assert_eq!(
            backup_archive("Backup written: backups/pithead-backup-20261125-030703.tar.gz\n")
                .as_deref(),
            Some("backups/pithead-backup-20261125-030703.tar.gz")
        );
        assert_eq!(
            backup_archive("saved to '/srv/pithead/backups/pithead-backup-1-2.tar.gz.enc'.")
                .as_deref(),
            Some("/srv/pithead/backups/pithead-backup-1-2.tar.gz.enc")
        );
        assert_eq!(backup_archive("Backup failed: disk full"), None);
        assert_eq!(backup_archive("backups/other-1.tar.gz"), None);
    }

    #[test]
    fn compose_follows_the_container_list() {
        let words = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let sudo = words(&["sudo"]);
        let pithead = words(&["sudo", "./pithead"]);
        let docker = ContainerList::DockerCompose;
        assert_eq!(
            compose_invocation(&docker, "v2", &sudo, &pithead),
            words(&["sudo", "docker", "compose"])
        );
        assert_eq!(
            compose_invocation(&docker, "v1", &sudo, &pithead),
            words(&["sudo", "docker-compose"])
        );
        assert_eq!(
            compose_invocation(&ContainerList::PitheadPs, "v1", &sudo, &pithead),
            words(&["sudo", "./pithead", "compose"])
        );
    }
}
