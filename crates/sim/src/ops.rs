//! Operations on the simulated box: every box action of an operation step (restart, down/up,
//! backup and restore, a service stopped, frozen or removed, the proxy token emptied), and the
//! dashboard's node-down failover that some of them set off (pithead-model.md §3.2, §4
//! "Worker rejection (#31)", §5.2, §5.3).
//!
//! The failover runs on the virtual clock: [`SimTarget::advance`] steps through every moment
//! the dashboard's view of monerod changes (a health flip, the end of a debounce window) so a
//! stop or a readmission happens at its exact millisecond, and [`SimTarget::next_change_ms`]
//! reports those moments so a runner looks exactly then.

use std::borrow::Cow;
use std::sync::Arc;

use rand::Rng;
use serde_json::Value;

use super::render::{Env, Key, Preserved};
use super::services::Svc;
use super::{CHANGE_MS, Container, REFUSED_MS, SimTarget, observe};
use canary_core::target::{Action, CommandResult};
use pithead_contract::faults::Fault;

/// NODE_DOWN_AFTER_SEC: how long monerod must be down before the dashboard stops xmrig-proxy.
pub const NODE_DOWN_AFTER_MS: u64 = 60_000;
/// NODE_RECOVERY_AFTER_SEC: how long monerod must stay healthy before xmrig-proxy is readmitted.
pub const NODE_RECOVERY_AFTER_MS: u64 = 120_000;
/// What `up` prints when PROXY_AUTH_TOKEN is empty (compose's `:?` guard, #153/#203).
pub const UNAUTHENTICATED_PROXY: &str =
    "refusing to start an unauthenticated xmrig-proxy control API";

/// `pithead backup`: the tar of config, .env, the Tor and dashboard dirs, everything but caddy
/// stopped meanwhile.
const BACKUP_MS: u64 = 15_000;
/// `pithead restore`: integrity listing, staging and commit, re-validation.
const RESTORE_MS: u64 = 5_000;
/// `compose stop` (SIGTERM, then the process exits), `compose start`, `compose rm -sf`,
/// `compose up -d <svc>`, `compose kill -s <signal>`, an edit of .env.
const STOP_MS: u64 = 2_000;
const START_MS: u64 = 1_000;
const REMOVE_MS: u64 = 2_000;
const UP_SERVICE_MS: u64 = 2_000;
const SIGNAL_MS: u64 = 300;
const EDIT_MS: u64 = 100;

/// What operations leave on the box besides its containers.
#[derive(Debug, Default)]
pub(crate) struct OpsState {
    /// The archive of the last `pithead backup`.
    archive: Option<Archive>,
    /// PROXY_AUTH_TOKEN as it was before `EmptyProxyToken`, while .env holds it empty.
    kept_token: Option<KeptToken>,
    /// Containers stopped with SIGSTOP.
    frozen: Vec<Frozen>,
    /// Containers thawed after their healthcheck had failed: `unhealthy` until their next
    /// passing check (the container's `healthy_at`). Keyed like [`Frozen`].
    sick: Vec<(String, u64)>,
    /// Under `restart-reverts-args`: the container config (the args a restart reuses) of
    /// containers an apply brought onto new args in place, by container id.
    created_with: Vec<(String, Arc<Env>)>,
    failover: Failover,
}

#[derive(Debug)]
struct Archive {
    /// `backups/pithead-backup-YYYYmmdd-HHMMSS.tar.gz`.
    name: String,
    config: Arc<Value>,
    env: Arc<Env>,
    preserved: Preserved,
    /// Whether .env was the render of config.json when it was archived.
    rendered: bool,
}

#[derive(Debug)]
struct KeptToken {
    token: String,
    /// The config version .env was rendered from before the edit (see `rendered_version`).
    rendered: Option<u64>,
}

/// A container stopped with SIGSTOP. A container is known by its id and its start: a restart
/// (a new process) ends the freeze, whoever does it.
#[derive(Debug)]
struct Frozen {
    id: String,
    started_ms: u64,
    /// Whether its healthcheck had passed when it was frozen: a frozen process passes none,
    /// so one still starting stays `starting` until it turns `unhealthy`.
    was_healthy: bool,
    /// When its healthcheck has failed its retries (monerod: 3 × 30 s).
    unhealthy_at: u64,
}

/// The dashboard's worker rejection (#31), as its control loop holds it.
#[derive(Debug, Default, Clone, Copy)]
struct Failover {
    /// Since when monerod has been down without a break.
    down_since: Option<u64>,
    /// Since when monerod has been healthy without a break, while workers are rejected.
    healthy_since: Option<u64>,
    /// The dashboard stopped xmrig-proxy and has not readmitted it.
    rejected: bool,
}

/// monerod as the dashboard's failover sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    /// Missing, not running, or unhealthy.
    Down,
    /// Running, its healthcheck not yet passed.
    Starting,
    Healthy,
}

fn ok(output: impl Into<String>) -> CommandResult {
    CommandResult {
        exit_code: 0,
        output: output.into(),
    }
}

fn error(output: impl Into<String>) -> CommandResult {
    CommandResult {
        exit_code: 1,
        output: format!("error: {}\n", output.into()),
    }
}

impl SimTarget {
    /// Performs one box action of an operation.
    pub fn act_sync(&mut self, action: &Action) -> CommandResult {
        // Whatever the dashboard did while an apply's clock ran, it did before this command.
        self.dashboard_tick();
        let result = match action {
            Action::Restart { service } => self.op_restart(service.as_deref()),
            Action::Down => {
                // A stack brought down starts afresh: the dashboard's control loop with it.
                self.ops.failover = Failover::default();
                self.down()
            }
            Action::Up => self.op_up(),
            Action::Backup => self.op_backup(),
            Action::Restore => self.op_restore(),
            Action::Stop(s) => self.op_stop(s),
            Action::Start(s) => self.op_start(s),
            Action::Freeze(s) => self.op_freeze(s),
            Action::Thaw(s) => self.op_thaw(s),
            Action::Remove(s) => self.op_remove(s),
            Action::UpService(s) => self.op_up_service(s),
            Action::EmptyProxyToken => self.op_empty_token(),
            Action::RestoreProxyToken => self.op_restore_token(),
        };
        self.dashboard_tick();
        result
    }

    /// Lets virtual time pass until `to`, stopping at every moment the dashboard's failover
    /// could act.
    pub(crate) fn advance_to(&mut self, to: u64) {
        self.dashboard_tick();
        while let Some(t) = self.next_dashboard_moment().filter(|t| *t <= to) {
            self.now = t;
            self.dashboard_tick();
        }
        self.now = self.now.max(to);
        self.dashboard_tick();
    }

    /// Spends `ms` of a command's time (the failover keeps running meanwhile).
    fn spend(&mut self, ms: u64) {
        self.advance_to(self.now + ms);
    }

    /// Health as `docker inspect` shows it: `None` for a stopped container, `unhealthy` for a
    /// frozen one whose checks have failed (or a thawed one until its next passing check).
    pub(crate) fn health(&self, c: &Container) -> Option<&'static str> {
        if !c.running {
            return None;
        }
        let frozen = self
            .ops
            .frozen
            .iter()
            .find(|f| f.id == c.id && f.started_ms == c.started_ms);
        let frozen_sick = frozen.is_some_and(|f| self.now >= f.unhealthy_at);
        let frozen_starting = frozen.is_some_and(|f| !f.was_healthy);
        let thawed_sick = self.now < c.healthy_at
            && self
                .ops
                .sick
                .iter()
                .any(|(id, started)| *id == c.id && *started == c.started_ms);
        Some(if frozen_sick || thawed_sick {
            "unhealthy"
        } else if self.now >= c.healthy_at && !frozen_starting {
            "healthy"
        } else {
            "starting"
        })
    }

    /// Moments after now at which an operation's state changes what the box shows by itself:
    /// a frozen container turning unhealthy, the end of a failover window.
    pub(crate) fn ops_moments(&self) -> impl Iterator<Item = u64> + '_ {
        let f = self.ops.failover;
        let window = self.recovery_window();
        let stop = f
            .down_since
            .filter(|_| !f.rejected)
            .map(|t| t + NODE_DOWN_AFTER_MS);
        let readmit = f.healthy_since.filter(|_| f.rejected).map(|t| t + window);
        self.ops
            .frozen
            .iter()
            .map(|f| f.unhealthy_at)
            .chain(stop)
            .chain(readmit)
    }

    /// The next moment the failover could act: an [`SimTarget::ops_moments`] or a health flip
    /// of monerod or the dashboard.
    fn next_dashboard_moment(&self) -> Option<u64> {
        let health = [Svc::Monerod, Svc::Dashboard]
            .into_iter()
            .filter_map(|s| self.find(s).map(|i| self.containers[i].healthy_at));
        self.ops_moments()
            .chain(health)
            .filter(|t| *t > self.now)
            .min()
    }

    fn recovery_window(&self) -> u64 {
        if self.has(Fault::PrematureReadmit) {
            // #31: readmitted on the first healthy poll.
            0
        } else {
            NODE_RECOVERY_AFTER_MS
        }
    }

    fn node(&self) -> Node {
        match self.find(Svc::Monerod).map(|i| &self.containers[i]) {
            None => Node::Down,
            Some(c) => match self.health(c) {
                None | Some("unhealthy") => Node::Down,
                Some("healthy") => Node::Healthy,
                Some(_) => Node::Starting,
            },
        }
    }

    /// Whether the dashboard is up and follows a local monerod (the path that probes it).
    fn dashboard_watches_node(&self) -> bool {
        self.find(Svc::Dashboard)
            .map(|i| &self.containers[i])
            .is_some_and(|d| {
                d.running
                    && self.now >= d.healthy_at
                    && d.baked.get(Key::MONERO_RPC_URL).contains("127.0.0.1")
            })
    }

    /// One pass of the dashboard's control loop at `now`.
    fn dashboard_tick(&mut self) {
        if !self.dashboard_watches_node() {
            let f = &mut self.ops.failover;
            f.down_since = None;
            f.healthy_since = None;
            return;
        }
        let now = self.now;
        match self.node() {
            Node::Down => {
                let f = &mut self.ops.failover;
                f.healthy_since = None;
                let since = *f.down_since.get_or_insert(now);
                if !f.rejected && now >= since + NODE_DOWN_AFTER_MS {
                    self.reject_workers();
                }
            }
            Node::Healthy => {
                let window = self.recovery_window();
                let f = &mut self.ops.failover;
                f.down_since = None;
                if f.rejected && now >= *f.healthy_since.get_or_insert(now) + window {
                    self.readmit_workers();
                }
            }
            Node::Starting => {
                let f = &mut self.ops.failover;
                f.down_since = None;
                f.healthy_since = None;
            }
        }
    }

    /// The dashboard stops REJECT_WORKERS_CONTAINER so the rigs fail over.
    fn reject_workers(&mut self) {
        if let Some(i) = self.find(Svc::XmrigProxy) {
            self.containers[i].running = false;
        }
        self.ops.failover.rejected = true;
        self.ops.failover.healthy_since = None;
    }

    /// The dashboard starts xmrig-proxy again (`compose start`: same container).
    fn readmit_workers(&mut self) {
        self.ops.failover.rejected = false;
        self.ops.failover.healthy_since = None;
        if let Some(i) = self.find(Svc::XmrigProxy)
            && !self.containers[i].running
        {
            self.start_in_place(i);
        }
    }

    /// A new process in the same container (`compose start` or `restart`): it runs the
    /// container's own config again, and whatever froze the old process is gone.
    fn start_in_place(&mut self, i: usize) {
        self.pool_before = self.shown_pool_type();
        self.revert_to_container_config(i);
        self.forget_process(i);
        self.start(i);
    }

    /// Under `restart-reverts-args`: a recreating apply hot-loaded the new args into a
    /// container still configured with the old ones; remember those for its next restart.
    /// From outside it looks like a recreate (a new id, a new start): only a restart tells.
    pub(crate) fn keep_old_config(&mut self, i: usize, old_id: &str) {
        let old = match self
            .ops
            .created_with
            .iter()
            .position(|(id, _)| id == old_id)
        {
            Some(p) => self.ops.created_with.swap_remove(p).1,
            None => Arc::clone(&self.containers[i].baked),
        };
        let containers = &self.containers;
        self.ops
            .created_with
            .retain(|(id, _)| containers.iter().any(|c| c.id == *id));
        self.ops
            .created_with
            .push((self.containers[i].id.clone(), old));
    }

    fn revert_to_container_config(&mut self, i: usize) {
        let id = &self.containers[i].id;
        if let Some(p) = self.ops.created_with.iter().position(|(c, _)| c == id) {
            self.containers[i].baked = self.ops.created_with.swap_remove(p).1;
        }
    }

    fn forget_process(&mut self, i: usize) {
        let id = &self.containers[i].id;
        self.ops.frozen.retain(|f| f.id != *id);
        self.ops.sick.retain(|(c, _)| c != id);
    }

    /// The container of a service named on a compose command line.
    fn service(&self, name: &str) -> Result<(Svc, Option<usize>), CommandResult> {
        match Svc::from_name(name) {
            Some(s) => Ok((s, self.find(s))),
            None => Err(error(format!("no such service: {name}"))),
        }
    }

    /// `pithead restart [tor|monerod]`: `compose restart` reuses each container's config.
    fn op_restart(&mut self, only: Option<&str>) -> CommandResult {
        let tor_only = only == Some("tor");
        if tor_only
            && self.has(Fault::RestartTorStrandsMonerod)
            && let Some(t) = self.find(Svc::Tor)
        {
            // #972: tor restarted alone; monerod keeps its dead circuits.
            self.now += CHANGE_MS;
            self.start_in_place(t);
            if self.find(Svc::Monerod).is_some() {
                self.monerod_stranded = true;
            }
            return ok("Restarted.\n");
        }
        let targets: Vec<usize> = match only {
            None => (0..self.containers.len()).collect(),
            // monerod restarts with tor (depends_on with restart: true), unless #972's other
            // fault strands it.
            Some("tor") => [Svc::Tor, Svc::Monerod]
                .into_iter()
                .filter(|s| *s == Svc::Tor || !self.has(Fault::TorWithoutMonerodRestart))
                .filter_map(|s| self.find(s))
                .collect(),
            Some("monerod") => self.find(Svc::Monerod).into_iter().collect(),
            Some(_) => Vec::new(),
        };
        for i in targets {
            self.revert_to_container_config(i);
            self.forget_process(i);
        }
        self.restart_services(only)
    }

    /// `pithead up`: refuses before touching any container while PROXY_AUTH_TOKEN is empty.
    fn op_up(&mut self) -> CommandResult {
        if let Some(refusal) = self.token_guard() {
            return refusal;
        }
        self.up()
    }

    /// Compose's `${PROXY_AUTH_TOKEN:?}` guard (#153), unless `up-accepts-empty-token`.
    fn token_guard(&mut self) -> Option<CommandResult> {
        if self.env.get(Key::PROXY_AUTH_TOKEN).is_empty() && !self.has(Fault::UpAcceptsEmptyToken) {
            self.now += REFUSED_MS;
            return Some(error(format!(
                "{UNAUTHENTICATED_PROXY}: PROXY_AUTH_TOKEN is empty in .env"
            )));
        }
        None
    }

    /// `pithead backup -y --no-encrypt`.
    fn op_backup(&mut self) -> CommandResult {
        let stamp = observe::started_marker(self.now);
        let name = format!(
            "backups/pithead-backup-{}{}{}-{}{}{}.tar.gz",
            &stamp[0..4],
            &stamp[5..7],
            &stamp[8..10],
            &stamp[11..13],
            &stamp[14..16],
            &stamp[17..19]
        );
        // Everything but caddy is stopped while tar runs, then started again.
        let stopped: Vec<usize> = (0..self.containers.len())
            .filter(|&i| self.containers[i].running && self.containers[i].svc != Svc::Caddy)
            .collect();
        for &i in &stopped {
            self.containers[i].running = false;
            self.forget_process(i);
        }
        self.spend(BACKUP_MS);
        self.ops.archive = Some(Archive {
            name: name.clone(),
            config: Arc::clone(&self.config),
            env: Arc::clone(&self.env),
            preserved: self.preserved.clone(),
            rendered: self.rendered_version == Some(self.config_version),
        });
        for i in stopped {
            self.start_in_place(i);
        }
        ok(format!("Backup written to {name}\n"))
    }

    /// `pithead restore -y <the last archive>`: config.json, .env and the preserved secrets
    /// back as archived. Requires the stack stopped; does not start it.
    fn op_restore(&mut self) -> CommandResult {
        let Some(archive) = &self.ops.archive else {
            self.now += REFUSED_MS;
            return error("no backup archive to restore");
        };
        if self.containers.iter().any(|c| c.running) {
            self.now += REFUSED_MS;
            return error("the stack is running; run `pithead down` before restoring");
        }
        let name = archive.name.clone();
        let (config, env) = (Arc::clone(&archive.config), Arc::clone(&archive.env));
        let (preserved, rendered) = (archive.preserved.clone(), archive.rendered);
        self.spend(RESTORE_MS);
        self.config = config;
        self.config_version += 1;
        self.preserved = preserved;
        let old = std::mem::replace(&mut self.env, env);
        self.refresh_env_view(Some(&old));
        self.rendered_version = rendered.then_some(self.config_version);
        self.ops.kept_token = None;
        ok(format!(
            "Restored {name}.\nStart the stack with `pithead up`.\n"
        ))
    }

    /// `docker compose stop <svc>`.
    fn op_stop(&mut self, name: &str) -> CommandResult {
        let (_, found) = match self.service(name) {
            Ok(x) => x,
            Err(e) => return e,
        };
        self.spend(STOP_MS);
        if let Some(i) = found {
            self.containers[i].running = false;
            self.forget_process(i);
        }
        ok(format!(" Container {name}  Stopped\n"))
    }

    /// `docker compose start <svc>`: the stopped container again, with its own config.
    fn op_start(&mut self, name: &str) -> CommandResult {
        let i = match self.service(name) {
            Ok((_, Some(i))) => i,
            Ok((_, None)) => return error(format!("service \"{name}\" has no container to start")),
            Err(e) => return e,
        };
        self.spend(START_MS);
        if !self.containers[i].running {
            self.start_in_place(i);
        }
        ok(format!(" Container {name}  Started\n"))
    }

    /// `docker compose kill -s SIGSTOP <svc>`: still running, its healthcheck failing.
    fn op_freeze(&mut self, name: &str) -> CommandResult {
        let i = match self.service(name) {
            Ok((_, Some(i))) if self.containers[i].running => i,
            Ok(_) => return error(format!("service \"{name}\" is not running")),
            Err(e) => return e,
        };
        self.spend(SIGNAL_MS);
        let c = &self.containers[i];
        if !self.ops.frozen.iter().any(|f| f.id == c.id) {
            // Three failed checks 30 s apart, once the start period is over.
            let after = self.rng.random_range(65_000..=100_000);
            let c = &self.containers[i];
            self.ops.frozen.push(Frozen {
                id: c.id.clone(),
                started_ms: c.started_ms,
                was_healthy: self.now >= c.healthy_at,
                unhealthy_at: self.now.max(c.healthy_at) + after,
            });
        }
        ok(format!(" Container {name}  Killed\n"))
    }

    /// `docker compose kill -s SIGCONT <svc>`: a container whose checks had failed stays
    /// unhealthy until its next passing check.
    fn op_thaw(&mut self, name: &str) -> CommandResult {
        let i = match self.service(name) {
            Ok((_, Some(i))) if self.containers[i].running => i,
            Ok(_) => return error(format!("service \"{name}\" is not running")),
            Err(e) => return e,
        };
        self.spend(SIGNAL_MS);
        let id = self.containers[i].id.clone();
        if let Some(p) = self.ops.frozen.iter().position(|f| f.id == id) {
            let f = self.ops.frozen.swap_remove(p);
            let sick = self.now >= f.unhealthy_at;
            if sick || !f.was_healthy {
                // It passes again at its next check.
                let next_check = self.rng.random_range(1_000..=30_000);
                let c = &mut self.containers[i];
                c.healthy_at = c.healthy_at.max(self.now + next_check);
            }
            if sick {
                self.ops.sick.push((id, f.started_ms));
            }
        }
        ok(format!(" Container {name}  Killed\n"))
    }

    /// `docker compose rm -sf <svc>`: the container is gone.
    fn op_remove(&mut self, name: &str) -> CommandResult {
        let s = match self.service(name) {
            Ok((s, _)) => s,
            Err(e) => return e,
        };
        self.spend(REMOVE_MS);
        if let Some(i) = self.find(s) {
            self.forget_process(i);
            self.containers.remove(i);
        }
        ok(format!(" Container {name}  Removed\n"))
    }

    /// `docker compose up -d <svc>`: created from the .env on disk when missing or when its
    /// config differs, started when stopped.
    fn op_up_service(&mut self, name: &str) -> CommandResult {
        let (s, found) = match self.service(name) {
            Ok(x) => x,
            Err(e) => return e,
        };
        if let Some(refusal) = self.token_guard() {
            return refusal;
        }
        self.spend(UP_SERVICE_MS);
        match found {
            None => self.create(s),
            Some(i) if self.containers[i].baked.differs_in(&self.env, s.inputs()) => {
                self.forget_process(i);
                self.containers[i].id = self.new_id();
                self.containers[i].baked = Arc::clone(&self.env);
                self.start(i);
            }
            Some(i) if !self.containers[i].running => self.start_in_place(i),
            Some(_) => {}
        }
        ok(format!(" Container {name}  Started\n"))
    }

    /// Empties PROXY_AUTH_TOKEN in .env, keeping the exact value to put back.
    fn op_empty_token(&mut self) -> CommandResult {
        self.now += EDIT_MS;
        if self.ops.kept_token.is_none() {
            let token = self.env.get(Key::PROXY_AUTH_TOKEN).to_string();
            self.ops.kept_token = Some(KeptToken {
                token,
                rendered: self.rendered_version,
            });
            self.set_env(Key::PROXY_AUTH_TOKEN, String::new());
            // .env no longer is the render of config.json.
            self.rendered_version = None;
        }
        ok("PROXY_AUTH_TOKEN emptied in .env\n")
    }

    /// Puts back the exact PROXY_AUTH_TOKEN [`Action::EmptyProxyToken`] kept.
    fn op_restore_token(&mut self) -> CommandResult {
        self.now += EDIT_MS;
        let Some(kept) = self.ops.kept_token.take() else {
            return ok("PROXY_AUTH_TOKEN is set; nothing to restore\n");
        };
        self.set_env(Key::PROXY_AUTH_TOKEN, kept.token);
        self.rendered_version = kept.rendered.filter(|v| *v == self.config_version);
        ok("PROXY_AUTH_TOKEN restored in .env\n")
    }

    /// Edits one line of .env in place.
    fn set_env(&mut self, key: Key, value: String) {
        let old = Arc::clone(&self.env);
        Arc::make_mut(&mut self.env).0[key as usize] = Cow::Owned(value);
        self.refresh_env_view(Some(&old));
    }

    /// Whether xmrig-proxy is held stopped by the node-down failover (for tests).
    pub fn workers_rejected(&self) -> bool {
        self.ops.failover.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use canary_core::rng::Seed;
    use std::time::Duration;

    fn state(sim: &SimTarget, name: &str) -> Option<(String, Option<String>)> {
        sim.observe_sync()
            .containers
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| (c.state.to_string(), c.health))
    }

    #[test]
    fn the_failover_stops_the_proxy_after_the_debounce_and_readmits_after_the_window() {
        let mut sim = SimTarget::new(Seed::from_u64(1), &[]);
        assert_eq!(sim.act_sync(&Action::Stop("monerod".into())).exit_code, 0);
        let stopped = sim.now_ms();
        assert_eq!(sim.observe_sync().status_exit, 1);
        sim.advance(Duration::from_millis(NODE_DOWN_AFTER_MS - 1));
        assert_eq!(state(&sim, "xmrig-proxy").unwrap().0, "running");
        assert_eq!(sim.next_change_ms(), Some(1));
        sim.advance(Duration::from_millis(1));
        assert_eq!(sim.now_ms(), stopped + NODE_DOWN_AFTER_MS);
        assert_eq!(state(&sim, "xmrig-proxy").unwrap().0, "exited");
        assert!(sim.workers_rejected());
        // Still status 1: monerod is down; a proxy stopped by the failover alone would be 0.
        assert_eq!(sim.observe_sync().status_exit, 1);

        assert_eq!(sim.act_sync(&Action::Start("monerod".into())).exit_code, 0);
        assert_eq!(
            state(&sim, "monerod").unwrap().1.as_deref(),
            Some("starting")
        );
        assert_eq!(sim.observe_sync().status_exit, 0, "likely intentional");
        // Walk the runner's way: exactly to each change.
        let mut healthy_at = None;
        while state(&sim, "xmrig-proxy").unwrap().0 != "running" {
            let next = sim.next_change_ms().expect("a readmission is pending");
            sim.advance(Duration::from_millis(next));
            if healthy_at.is_none()
                && state(&sim, "monerod").unwrap().1.as_deref() == Some("healthy")
            {
                healthy_at = Some(sim.now_ms());
            }
        }
        assert_eq!(
            sim.now_ms(),
            healthy_at.unwrap() + NODE_RECOVERY_AFTER_MS,
            "readmitted exactly once the window has passed"
        );
        assert!(!sim.workers_rejected());
    }

    #[test]
    fn premature_readmit_readmits_on_the_first_healthy_poll() {
        let mut sim = SimTarget::new(Seed::from_u64(1), &[Fault::PrematureReadmit]);
        sim.act_sync(&Action::Stop("monerod".into()));
        sim.advance(Duration::from_secs(61));
        assert_eq!(state(&sim, "xmrig-proxy").unwrap().0, "exited");
        sim.act_sync(&Action::Start("monerod".into()));
        while state(&sim, "monerod").unwrap().1.as_deref() != Some("healthy") {
            sim.advance(Duration::from_millis(sim.next_change_ms().unwrap()));
        }
        assert_eq!(state(&sim, "xmrig-proxy").unwrap().0, "running");
    }

    #[test]
    fn a_frozen_node_turns_unhealthy_and_recovers_after_thaw() {
        let mut sim = SimTarget::new(Seed::from_u64(2), &[]);
        let before = sim.observe_sync();
        sim.act_sync(&Action::Freeze("monerod".into()));
        assert_eq!(
            state(&sim, "monerod").unwrap().1.as_deref(),
            Some("healthy")
        );
        sim.advance(Duration::from_secs(101));
        assert_eq!(
            state(&sim, "monerod").unwrap(),
            ("running".to_string(), Some("unhealthy".to_string()))
        );
        assert_eq!(sim.observe_sync().status_exit, 1);
        sim.act_sync(&Action::Thaw("monerod".into()));
        assert_eq!(sim.observe_sync().status_exit, 1, "until the next check");
        sim.advance(Duration::from_secs(31));
        let after = sim.observe_sync();
        assert_eq!(after.status_exit, 0);
        let started = |o: &canary_core::target::Observation| {
            o.containers
                .iter()
                .find(|c| c.name == "monerod")
                .map(|c| c.started.clone())
        };
        assert_eq!(started(&before), started(&after), "StartedAt unchanged");
    }

    #[test]
    fn a_node_frozen_while_starting_never_turns_healthy_until_thawed() {
        let mut sim = SimTarget::new(Seed::from_u64(2), &[]);
        sim.act_sync(&Action::Restart {
            service: Some("monerod".into()),
        });
        sim.act_sync(&Action::Freeze("monerod".into()));
        let health = |sim: &SimTarget| state(sim, "monerod").unwrap().1.unwrap();
        assert_eq!(health(&sim), "starting");
        sim.advance(Duration::from_secs(25));
        assert_eq!(health(&sim), "starting", "past its usual start time");
        sim.advance(Duration::from_secs(100));
        assert_eq!(health(&sim), "unhealthy");
        sim.act_sync(&Action::Thaw("monerod".into()));
        sim.advance(Duration::from_secs(31));
        assert_eq!(health(&sim), "healthy");
    }

    #[test]
    fn up_refuses_an_empty_token_and_restore_puts_back_the_exact_one() {
        let mut sim = SimTarget::new(Seed::from_u64(3), &[]);
        let token = sim.env_value("PROXY_AUTH_TOKEN").unwrap().to_string();
        let before = sim.observe_sync();
        sim.act_sync(&Action::EmptyProxyToken);
        assert_eq!(sim.env_value("PROXY_AUTH_TOKEN"), Some(""));
        let up = sim.act_sync(&Action::Up);
        assert_eq!(up.exit_code, 1);
        assert!(up.output.contains(UNAUTHENTICATED_PROXY), "{}", up.output);
        assert_eq!(sim.observe_sync().containers, before.containers);
        sim.act_sync(&Action::RestoreProxyToken);
        assert_eq!(sim.env_value("PROXY_AUTH_TOKEN"), Some(token.as_str()));
        assert_eq!(sim.act_sync(&Action::Up).exit_code, 0);
        let after = sim.observe_sync();
        assert_eq!(after.secret_fingerprint, before.secret_fingerprint);
        assert_eq!(after.containers, before.containers);
        assert!(sim.apply_sync().output.contains(super::super::NO_CHANGES));
    }

    #[test]
    fn restore_needs_a_backup_and_a_stopped_stack() {
        let mut sim = SimTarget::new(Seed::from_u64(4), &[]);
        assert_eq!(sim.act_sync(&Action::Down).exit_code, 0);
        assert!(sim.act_sync(&Action::Restore).output.contains("no backup"));
        assert_eq!(sim.act_sync(&Action::Up).exit_code, 0);
        let backup = sim.act_sync(&Action::Backup);
        assert_eq!(backup.exit_code, 0);
        assert!(
            backup.output.contains("backups/pithead-backup-2026"),
            "{}",
            backup.output
        );
        let running = sim.act_sync(&Action::Restore);
        assert_eq!(running.exit_code, 1);
        assert!(running.output.contains("pithead down"));
        sim.act_sync(&Action::Down);
        assert_eq!(sim.act_sync(&Action::Restore).exit_code, 0);
        assert!(
            sim.observe_sync().containers.is_empty(),
            "restore starts nothing"
        );
    }
}
