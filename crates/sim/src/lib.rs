//! The simulated Pithead stack (`--target sim`): an in-process, deterministic fake of
//! `pithead apply -y`, `pithead status`, `docker compose ps` and the dashboard's `/api/state`,
//! written from the contract in pithead-model.md, on a virtual clock.
//!
//! Independence: nothing here reads the model (`canary-model`, which this crate does not depend on) or `strategies/`. The oracle derives its
//! expectations from the model; if the simulation used the model too, the two could never
//! disagree and a walk would prove nothing. The simulation takes config.json as JSON, exactly
//! as the real CLI does.
//!
//! How it works: `apply` validates config.json ([`config`]), renders .env ([`render`]), and runs
//! a simulated `compose up`: each container remembers the .env it was created with, and is
//! recreated when one of the keys it interpolates ([`services`]) differs, as Compose's config
//! hash does. Readiness (health, chain sync, the pool-type classifier, workers, hashes) is a
//! function of start times drawn from `seed.rng("sim")` and the virtual clock that `wait`
//! advances, so a walk of thousands of steps runs in milliseconds and the same seed gives the
//! same observations. Injected faults ([`pithead_contract::faults`]) bend exactly the steps their bug
//! classes describe.

pub mod config;
mod memo;
mod observe;
mod ops;
pub mod render;
pub mod services;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use canary_core::rng::Seed;
use canary_core::target::{Action, CommandResult, Observation, Target, TargetError};
use pithead_contract::faults::Fault;

use render::{Env, Key, Preserved, RenderFaults};
use services::Svc;

pub use ops::{NODE_DOWN_AFTER_MS, NODE_RECOVERY_AFTER_MS, UNAUTHENTICATED_PROXY};

/// Printed by an apply that changes nothing (the harness's idempotency oracle).
pub const NO_CHANGES: &str = "No configuration changes detected. Nothing to apply.";
/// Printed by an apply that changed something.
pub const APPLIED: &str = "Configuration applied.";

/// The output of an apply that changes nothing.
fn no_changes() -> String {
    let mut out = String::with_capacity(NO_CHANGES.len() + 1);
    out.push_str(NO_CHANGES);
    out.push('\n');
    out
}

/// Virtual milliseconds of CLI time: a refused apply, a no-op apply, a changing apply, and the
/// extra per touched container (pithead-model.md §8).
const REFUSED_MS: u64 = 600;
const NOOP_MS: u64 = 5_000;
const CHANGE_MS: u64 = 6_000;
const PER_CONTAINER_MS: u64 = 300;

/// One container of the simulated engine.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub svc: Svc,
    /// The container name: the service name, or `<12hex>_<name>` for a renamed leftover.
    pub name: String,
    pub id: String,
    pub started_ms: u64,
    pub started: String,
    /// Stopped containers show `exited`.
    pub running: bool,
    /// When the healthcheck first passes.
    pub healthy_at: u64,
    /// A second, service-specific delay drawn at start: workers reconnecting to xmrig-proxy,
    /// the pool-type classifier catching up on p2pool, the chain's sync on a node.
    pub settle_ms: u64,
    /// The .env the container was created with: what it really runs with.
    pub baked: Arc<Env>,
}

/// The sync progress of one chain as the dashboard sees it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Chain {
    /// When the dashboard started following this node (start or re-point).
    pub since: u64,
    /// How long it reports `loading` (no target yet).
    pub loading_ms: u64,
    /// How long it then reports `syncing`.
    pub syncing_ms: u64,
}

/// The in-process simulated Pithead box.
pub struct SimTarget {
    seed: Seed,
    faults: u32,
    rng: ChaCha8Rng,
    now: u64,
    /// config.json, shared with the runner's cached documents (no copy per write).
    config: Arc<Value>,
    preserved: Preserved,
    env: Arc<Env>,
    /// `.env.apply-incomplete`: an apply committed .env but its `up` failed (#125).
    apply_incomplete: bool,
    /// mining_net's subnet while the network exists.
    network: Option<String>,
    containers: Vec<Container>,
    /// Services whose container was removed by `compose rm -sf` at some point.
    removed_once: [bool; services::ALL.len()],
    /// The Monero node and the Tari node the dashboard follows (a change is a re-point).
    followed: (String, String),
    monero: Chain,
    tari: Chain,
    /// monerod lost its Tor circuits (tor recreated without restarting it, #972).
    monerod_stranded: bool,
    /// The pool type the classifier showed when p2pool last started (it lags a switch, #746).
    pool_before: &'static str,
    /// The observed .env, shared with the observations handed out (copied on write only
    /// while one of them still holds it).
    obs_env: Arc<BTreeMap<String, String>>,
    fingerprint: String,
    /// The last `/api/state` built, by the facts it was built from.
    api_cache: std::cell::RefCell<Option<observe::ApiCache>>,
    /// `null`, shared: what `/api/state` is while the dashboard does not answer.
    api_null: Arc<Value>,
    /// Buffers of observations handed back ([`Target::recycle`]), refilled for the next ones.
    recycled: std::cell::RefCell<observe::Recycled>,
    /// Bumped by every write of config.json.
    config_version: u64,
    /// The config version .env was last rendered from, when the two are known to agree: an
    /// apply of that same version is a no-op without rendering again.
    rendered_version: Option<u64>,
    /// What operations leave besides containers: a backup archive, an emptied token, frozen
    /// processes, the dashboard's failover ([`ops`]).
    ops: ops::OpsState,
}

impl SimTarget {
    /// A fresh (unmemoised) render over the current `.env`, for the faults that change what
    /// is rendered, and the keys it changes.
    fn render_over_env(
        &self,
        settings: &config::Settings,
        faults: RenderFaults,
    ) -> (Arc<Env>, render::KeySet) {
        let next = Arc::new(render::render(
            settings,
            &self.preserved,
            Some(&self.env),
            faults,
        ));
        let changed = next.changed_set(&self.env);
        (next, changed)
    }

    /// A provisioned box: baseline config.json, a rendered .env with preserved secrets,
    /// containers running and healthy, chains synced.
    pub fn new(seed: Seed, faults: &[Fault]) -> SimTarget {
        let mut rng = seed.rng("sim");
        let mut secret = |n: usize| -> String {
            const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
            (0..n)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        };
        let preserved = Preserved {
            proxy_auth_token: secret(32),
            wallet_rpc_password: secret(24),
            tari_wallet_password: secret(24),
            monero_onion: format!("{}.onion", secret(56)),
            tari_onion: format!("{}.onion", secret(56)),
            p2pool_onion: format!("{}.onion", secret(56)),
            dashboard_onion: "placeholder".into(),
            host_ip: "192.168.1.50".into(),
        };
        let config = config::baseline();
        let settings = config::parse(&config).expect("the baseline config is valid");
        let env = Arc::new(render::render(
            &settings,
            &preserved,
            None,
            RenderFaults::default(),
        ));
        let mut sim = SimTarget {
            seed,
            faults: faults.iter().fold(0, |acc, f| acc | f.bit()),
            rng,
            now: 0,
            config: Arc::new(config),
            preserved,
            followed: (String::new(), String::new()),
            env,
            apply_incomplete: false,
            network: None,
            containers: Vec::with_capacity(16),
            removed_once: [false; services::ALL.len()],
            monero: Chain::default(),
            tari: Chain::default(),
            monerod_stranded: false,
            pool_before: "Unknown",
            obs_env: Arc::new(BTreeMap::new()),
            fingerprint: String::new(),
            api_cache: std::cell::RefCell::new(None),
            api_null: Arc::new(Value::Null),
            recycled: Default::default(),
            config_version: 0,
            rendered_version: Some(0),
            ops: ops::OpsState::default(),
        };
        sim.refresh_env_view(None);
        sim.compose_up()
            .expect("a fresh engine has no network that could conflict");
        // Provisioned long ago: everything healthy, synced, classified and mining.
        sim.now = 0;
        for c in &mut sim.containers {
            c.started_ms = 0;
            c.started = observe::started_marker(0);
            c.healthy_at = 0;
            c.settle_ms = 0;
        }
        sim.monero = Chain::default();
        sim.tari = Chain::default();
        sim.pool_before = observe::pool_type_of(sim.env.get(Key::P2POOL_FLAGS));
        sim.now = 3_600_000;
        sim
    }

    /// A box with the faults named on the command line (`--fault NAME`, repeatable); an
    /// unknown name is an error that lists the known ones.
    pub fn with_fault_names<S: AsRef<str>>(
        seed: Seed,
        names: &[S],
    ) -> Result<SimTarget, pithead_contract::faults::UnknownFault> {
        Ok(SimTarget::new(
            seed,
            &pithead_contract::faults::parse_all(names)?,
        ))
    }

    fn has(&self, f: Fault) -> bool {
        self.faults & f.bit() != 0
    }

    /// The faults switched on.
    pub fn faults(&self) -> Vec<Fault> {
        Fault::ALL.into_iter().filter(|f| self.has(*f)).collect()
    }

    /// The rendered .env on disk, secrets included (for tests of the simulation itself).
    pub fn env_value(&self, key: &str) -> Option<&str> {
        Key::ALL
            .iter()
            .find(|k| k.name() == key)
            .map(|k| self.env.get(*k))
    }

    /// Virtual milliseconds since the target was opened.
    pub fn now_ms(&self) -> u64 {
        self.now
    }

    /// Lets virtual time pass (what [`Target::wait`] does); the dashboard's failover acts on
    /// the way.
    pub fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d.as_millis() as u64);
    }

    /// Reads config.json.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Replaces config.json (no validation: that is apply's job).
    pub fn write_config_sync(&mut self, config: &Value) {
        self.config = Arc::new(config.clone());
        self.config_version += 1;
    }

    /// [`SimTarget::write_config_sync`] keeping the caller's shared document.
    pub fn write_config_shared_sync(&mut self, config: &Arc<Value>) {
        self.config = Arc::clone(config);
        self.config_version += 1;
    }

    /// `pithead apply -y`.
    pub fn apply_sync(&mut self) -> CommandResult {
        // The render is a pure function of config.json and the preserved state, so the same
        // config applied again renders the same .env: skip straight to the verdict. (#695's
        // fault makes the render impure, so it always takes the long way.)
        if self.rendered_version == Some(self.config_version)
            && !self.apply_incomplete
            && !self.has(Fault::SpuriousPathDiff)
        {
            self.now += NOOP_MS;
            return CommandResult {
                exit_code: 0,
                output: no_changes(),
            };
        }
        let parsed = memo::parse_shared(&self.config);
        let settings = match &*parsed {
            Ok(s) => s,
            Err(e) => {
                self.now += REFUSED_MS;
                return CommandResult {
                    exit_code: 1,
                    output: format!("error: {e}\n"),
                };
            }
        };
        let mut faults = RenderFaults {
            tari_required_ignores_off: self.has(Fault::TariRequiredIgnoresOff),
            raw_clearnet: self.has(Fault::RawClearnetFlag),
            stale_mini: self.has(Fault::StaleMiniFlag),
            symlinked_pwd: false,
        };
        let mut next =
            memo::render_shared(&self.config, settings, &self.preserved, &self.env, faults);
        let mut changed_keys = next.changed_set(&self.env);
        let changed = changed_keys.len();
        if changed == 0 && !self.apply_incomplete {
            self.rendered_version = Some(self.config_version);
            self.now += NOOP_MS;
            return CommandResult {
                exit_code: 0,
                output: no_changes(),
            };
        }
        if self.has(Fault::SpuriousPathDiff) {
            // #695: the committing render runs from $PWD as reached through the install dir's
            // symlink, while the diffing render used the canonical path.
            faults.symlinked_pwd = true;
            (next, changed_keys) = self.render_over_env(settings, faults);
        }
        if self.has(Fault::RotatedProxyToken) && self.would_recreate(Svc::XmrigProxy, &next) {
            // #153: the recreate path mints a fresh token instead of keeping the preserved one.
            self.preserved.proxy_auth_token = format!("{:032x}", self.rng.random::<u128>());
            (next, changed_keys) = self.render_over_env(settings, faults);
        }
        let mut output = String::new();
        if changed == 0 {
            output
                .push_str("Retrying the recreate of an incomplete apply (.env.apply-incomplete)\n");
        }
        for k in changed_keys.iter() {
            output.push_str("  ~ ");
            output.push_str(k.name());
            output.push('\n');
        }
        if settings.firewall && (settings.monero_clearnet || settings.tari_clearnet) {
            output.push_str(
                "warning: clearnet_initial_sync is ignored while network.tor_egress_firewall is on\n",
            );
        }
        let old = std::mem::replace(&mut self.env, next);
        self.refresh_env_view(Some(&old));
        self.apply_incomplete = true;
        self.now += CHANGE_MS;

        let touched = match self.compose_up() {
            Ok(n) => n,
            Err(e) => {
                if self.has(Fault::LostApplyIncompleteMarker) {
                    self.apply_incomplete = false;
                }
                output.push_str(&format!("warning: docker compose up failed: {e}\n"));
                output.push_str("error: apply did not complete; fix the cause and run `pithead apply -y` again\n");
                return CommandResult {
                    exit_code: 1,
                    output,
                };
            }
        };
        self.now += PER_CONTAINER_MS * touched as u64;

        // apply compares the Caddyfile before and after rendering (#1052).
        let caddyfile_changed = old.differs_in(&self.env, render::CADDYFILE_KEYS);
        let became_secure = old.get(Key::DASHBOARD_SECURE) == "false"
            && self.env.get(Key::DASHBOARD_SECURE) == "true";
        let skip = self.has(Fault::StaleCaddyScheme) && became_secure;
        if caddyfile_changed && !skip {
            self.restart(Svc::Caddy);
        }
        self.apply_incomplete = false;
        self.rendered_version = Some(self.config_version);
        output.push_str(APPLIED);
        output.push('\n');
        CommandResult {
            exit_code: 0,
            output,
        }
    }

    /// `pithead down`: every container removed, the network too.
    pub fn down(&mut self) -> CommandResult {
        self.containers.clear();
        self.network = None;
        self.now += NOOP_MS;
        CommandResult {
            exit_code: 0,
            output: "Stack stopped.\n".into(),
        }
    }

    /// `pithead up`: `compose up` with the .env on disk (it does not re-render).
    pub fn up(&mut self) -> CommandResult {
        self.now += CHANGE_MS;
        match self.compose_up() {
            Ok(_) => CommandResult {
                exit_code: 0,
                output: "Stack started.\n".into(),
            },
            Err(e) => CommandResult {
                exit_code: 1,
                output: format!("error: docker compose up failed: {e}\n"),
            },
        }
    }

    /// `pithead restart [service]`: `compose restart` keeps each container's old args (#273).
    pub fn restart_services(&mut self, only: Option<&str>) -> CommandResult {
        let targets: Vec<Svc> = match only {
            Some(name) => match Svc::from_name(name) {
                Some(s) if matches!(s, Svc::Tor | Svc::Monerod) => vec![s],
                _ => {
                    return CommandResult {
                        exit_code: 1,
                        output: format!("error: restart takes tor or monerod (got '{name}')\n"),
                    };
                }
            },
            None => self.containers.iter().map(|c| c.svc).collect(),
        };
        self.now += CHANGE_MS;
        for s in targets {
            self.restart(s);
        }
        CommandResult {
            exit_code: 0,
            output: "Restarted.\n".into(),
        }
    }

    /// `pithead status`, `docker compose ps`, .env and `/api/state`, read without side effects.
    pub fn observe_sync(&self) -> Observation {
        let (containers, mut secret_fingerprint) = self.recycled.borrow_mut().take();
        secret_fingerprint.clone_from(&self.fingerprint);
        Observation {
            status_exit: self.status_exit(),
            containers: self.container_states_into(containers),
            env: Arc::clone(&self.obs_env),
            api: self.api_state(),
            secret_fingerprint,
        }
    }

    /// Milliseconds until the next readiness change the dashboard would report (a health
    /// flip, a sync phase, workers, the classifier), or `None` when nothing is pending. A
    /// runner may wait exactly this long instead of polling.
    pub fn next_change_ms(&self) -> Option<u64> {
        let containers = self
            .containers
            .iter()
            .flat_map(|c| [c.healthy_at, c.started_ms + c.settle_ms]);
        let chains = [self.monero, self.tari].into_iter().flat_map(|ch| {
            [
                ch.since + ch.loading_ms,
                ch.since + ch.loading_ms + ch.syncing_ms,
            ]
        });
        containers
            .chain(chains)
            .chain(self.ops_moments())
            .filter(|t| *t > self.now)
            .min()
            .map(|t| t - self.now)
    }

    /// Updates the observed .env (secret lines left out) and the fingerprint after .env
    /// changed from `old`, touching only what changed.
    fn refresh_env_view(&mut self, old: Option<&Env>) {
        let Some(old) = old else {
            self.obs_env = Arc::new(
                Key::ALL
                    .iter()
                    .filter(|k| !render::is_secret(**k))
                    .map(|k| (k.name().to_string(), self.env.get(*k).to_string()))
                    .collect(),
            );
            self.fingerprint = self.env.fingerprint();
            return;
        };
        if self
            .env
            .changed_set(old)
            .iter()
            .any(|k| !render::is_secret(k))
        {
            self.recycled
                .get_mut()
                .env_view(&mut self.obs_env, &self.env);
        }
        if self.env.differs_in(old, &render::FINGERPRINT_KEYS) {
            self.fingerprint = self.env.fingerprint();
        }
    }

    fn find(&self, s: Svc) -> Option<usize> {
        self.containers
            .iter()
            .position(|c| c.svc == s && c.name == s.name())
    }

    fn would_recreate(&self, s: Svc, next: &Env) -> bool {
        self.find(s)
            .is_some_and(|i| self.containers[i].baked.differs_in(next, s.inputs()))
    }

    fn new_id(&mut self) -> String {
        observe::container_id(self.rng.random::<u64>())
    }

    /// Starts a container: a new start marker, and the per-start delays drawn from the seed.
    fn start(&mut self, i: usize) {
        let svc = self.containers[i].svc;
        let (lo, hi) = svc.health_ms();
        let health = self.rng.random_range(lo..=hi);
        let settle = match svc {
            Svc::XmrigProxy => self.rng.random_range(5_000..=30_000),
            Svc::P2pool => self.rng.random_range(20_000..=120_000),
            _ => 0,
        };
        let now = self.now;
        match svc {
            Svc::Monerod => {
                self.monero = Chain {
                    since: now,
                    loading_ms: self.rng.random_range(2_000..=8_000),
                    syncing_ms: self.rng.random_range(10_000..=60_000),
                };
                self.monerod_stranded = false;
            }
            Svc::Tari => {
                self.tari = Chain {
                    since: now,
                    loading_ms: self.rng.random_range(2_000..=8_000),
                    syncing_ms: self.rng.random_range(20_000..=120_000),
                };
            }
            Svc::Dashboard => {
                // A dashboard pointed at another node than before follows it from scratch: a
                // remote node is loading for a moment, then done. A local node's progress
                // restarts with monerod or tari themselves.
                let baked = self.containers[i].baked.clone();
                let monero = baked.get(Key::MONERO_NODE_HOST);
                let tari = baked.get(Key::TARI_GRPC_ADDRESS);
                if monero != self.followed.0 {
                    if !baked.get(Key::MONERO_RPC_URL).contains("127.0.0.1") {
                        self.monero = Chain {
                            since: now,
                            loading_ms: self.rng.random_range(2_000..=6_000),
                            syncing_ms: 0,
                        };
                    }
                    self.followed.0 = monero.to_string();
                }
                if tari != self.followed.1 {
                    if baked.get(Key::TARI_MODE) == "remote" {
                        self.tari = Chain {
                            since: now,
                            loading_ms: self.rng.random_range(2_000..=6_000),
                            syncing_ms: 0,
                        };
                    }
                    self.followed.1 = tari.to_string();
                }
            }
            _ => {}
        }
        let c = &mut self.containers[i];
        c.running = true;
        c.started_ms = now;
        c.started = observe::started_marker(now);
        c.healthy_at = now + health;
        c.settle_ms = settle;
    }

    fn create(&mut self, s: Svc) {
        let id = self.new_id();
        self.containers.push(Container {
            svc: s,
            name: s.name().to_string(),
            id,
            started_ms: self.now,
            started: String::new(),
            running: false,
            healthy_at: 0,
            settle_ms: 0,
            baked: self.env.clone(),
        });
        let i = self.containers.len() - 1;
        self.start(i);
    }

    /// `docker compose restart <svc>`: same container, same args, a new start.
    fn restart(&mut self, s: Svc) {
        if let Some(i) = self.find(s) {
            self.pool_before = self.shown_pool_type();
            self.start(i);
            if s == Svc::Tor {
                self.tor_restarted(&[]);
            }
        }
    }

    /// monerod `depends_on` tor with `restart: true` (#972).
    fn tor_restarted(&mut self, already: &[Svc]) {
        if already.contains(&Svc::Monerod) || self.find(Svc::Monerod).is_none() {
            return;
        }
        if self.has(Fault::TorWithoutMonerodRestart) {
            self.monerod_stranded = true;
        } else if let Some(i) = self.find(Svc::Monerod) {
            self.start(i);
        }
    }

    /// `compose_up_checked -d --remove-orphans`: returns how many containers it touched.
    fn compose_up(&mut self) -> Result<usize, String> {
        let profiles = services::Active::of(self.env.get(Key::COMPOSE_PROFILES));
        // What the classifier shows before p2pool (maybe) restarts: it keeps showing it for a
        // while after a sidechain switch (#746).
        self.pool_before = self.shown_pool_type();
        // 1. `compose rm -sf` the containers of deactivated profiles (#795).
        if !self.has(Fault::LeftoverProfileContainer) {
            let removed_once = &mut self.removed_once;
            self.containers.retain(|c| {
                let keep = c.svc.active_in(profiles) || c.name != c.svc.name();
                if !keep {
                    removed_once[c.svc as usize] = true;
                }
                keep
            });
        }
        // 2. mining_net: Compose cannot change the IPAM of a network in use (#180).
        let subnet = self.env.get(Key::NETWORK_SUBNET);
        match &self.network {
            Some(net) if net != subnet => {
                return Err(format!(
                    "network pithead_mining_net exists with subnet {net}, not {subnet}: \
                     run `pithead down` then `pithead up` to move it"
                ));
            }
            Some(_) => {}
            None => self.network = Some(subnet.to_string()),
        }
        // 3. Create, recreate or start each active service, dependencies first.
        let mut touched: Vec<Svc> = Vec::with_capacity(8);
        for s in services::ALL {
            if !s.active_in(profiles) {
                continue;
            }
            match self.find(s) {
                None => {
                    if self.has(Fault::RenamedLeftoverContainer) && self.removed_once[s as usize] {
                        // #2595: the old container of this name comes back renamed.
                        let id = self.new_id();
                        let name = format!("{}_{}", &id, s.name());
                        self.containers.push(Container {
                            svc: s,
                            name,
                            id,
                            started_ms: self.now,
                            started: observe::started_marker(self.now),
                            running: false,
                            healthy_at: 0,
                            settle_ms: 0,
                            baked: self.env.clone(),
                        });
                    }
                    self.create(s);
                    touched.push(s);
                }
                Some(i) => {
                    if self.containers[i].baked.differs_in(&self.env, s.inputs()) {
                        if self.has(Fault::ApplyAsRestart) {
                            self.start(i);
                        } else {
                            let id = self.new_id();
                            let old = std::mem::replace(&mut self.containers[i].id, id);
                            if self.has(Fault::RestartRevertsArgs) {
                                self.keep_old_config(i, &old);
                            }
                            self.containers[i].baked = self.env.clone();
                            self.start(i);
                        }
                        touched.push(s);
                    } else if !self.containers[i].running {
                        self.start(i);
                        touched.push(s);
                    }
                }
            }
        }
        // monerod restarts with tor, unless it was just (re)created itself.
        if touched.contains(&Svc::Tor) {
            self.tor_restarted(&touched);
        }
        Ok(touched.len())
    }
}

impl Target for SimTarget {
    fn name(&self) -> &str {
        "sim"
    }

    fn describe(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("target".into(), "sim".into());
        m.insert(
            "what".into(),
            "in-process simulated Pithead (pithead-model.md contract)".into(),
        );
        m.insert("seed".into(), self.seed.to_string());
        let faults: Vec<&str> = self.faults().iter().map(|f| f.name()).collect();
        m.insert("faults".into(), faults.join(","));
        m
    }

    async fn read_config(&mut self) -> Result<Value, TargetError> {
        Ok(Value::clone(&self.config))
    }

    async fn write_config(&mut self, config: &Value) -> Result<(), TargetError> {
        self.write_config_sync(config);
        Ok(())
    }

    async fn write_config_shared(&mut self, config: &Arc<Value>) -> Result<(), TargetError> {
        self.write_config_shared_sync(config);
        Ok(())
    }

    async fn apply(&mut self) -> Result<CommandResult, TargetError> {
        Ok(self.apply_sync())
    }

    async fn observe(&mut self) -> Result<Observation, TargetError> {
        Ok(self.observe_sync())
    }

    async fn wait(&mut self, duration: Duration) {
        self.advance(duration);
    }

    fn elapsed(&self) -> Duration {
        Duration::from_millis(self.now)
    }

    fn next_change(&self) -> Option<Duration> {
        self.next_change_ms().map(Duration::from_millis)
    }

    fn quiet(&self) -> Option<bool> {
        Some(self.next_change_ms().is_none())
    }

    async fn act(&mut self, action: &Action) -> Result<CommandResult, TargetError> {
        Ok(self.act_sync(action))
    }

    fn recycle(&mut self, observation: Observation) {
        self.recycled.get_mut().keep(observation);
    }
}
