//! What the simulated box shows: `pithead status` (pithead-model.md §3.2), `docker compose ps`
//! and the dashboard's `/api/state` (§4), all functions of the state and the virtual clock.
//!
//! The dashboard reads its env once at boot, so everything it reports comes from the env its
//! container was created with, not from the .env on disk: a container that was not recreated
//! shows its old args, which is what faults like #273 look like from outside.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::render::{self, Env, Key};
use super::services::{self, Svc};
use super::{Chain, Container, SimTarget};
use canary_core::target::{ContainerState, Observation, RunState};

/// Hashes per virtual millisecond of the two simulated rigs (10 kH/s).
const HASHES_PER_MS: u64 = 10;
/// Workers the simulated rigs put on xmrig-proxy.
const RIGS: u64 = 2;

/// A StartedAt marker for a virtual time: RFC 3339, counted from 2026-01-01T00:00:00Z.
pub(crate) fn started_marker(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400 + days_from_civil(2026, 1, 1);
    let (y, m, d) = civil_from_days(days as i64);
    let rem = secs % 86_400;
    // Written digit by digit: a start marker is made on every container start.
    let mut out = String::with_capacity(24);
    let mut digits = |n: u64, width: u32, after: char| {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u64.pow(i) % 10) as u8));
        }
        out.push(after);
    };
    digits(y as u64, 4, '-');
    digits(m, 2, '-');
    digits(d, 2, 'T');
    digits(rem / 3600, 2, ':');
    digits(rem / 60 % 60, 2, ':');
    digits(rem % 60, 2, '.');
    digits(ms % 1000, 3, 'Z');
    out
}

/// A container id: the low 48 bits of `n` as 12 lowercase hex digits (written without the
/// formatter: a recreate makes one).
pub(crate) fn container_id(n: u64) -> String {
    let n = n & 0xffff_ffff_ffff;
    (0..12)
        .rev()
        .map(|i| char::from(b"0123456789abcdef"[(n >> (4 * i) & 0xf) as usize]))
        .collect()
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = (y - era * 400) as u64;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097) as u64 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The pool type p2pool's flags put it on.
pub(crate) fn pool_type_of(flags: &str) -> &'static str {
    if flags.split_whitespace().any(|f| f == "--mini") {
        "Mini"
    } else if flags.split_whitespace().any(|f| f == "--nano") {
        "Nano"
    } else {
        "Main"
    }
}

/// A chain's state at `now`: (state, percent).
fn phase(ch: &Chain, now: u64) -> (&'static str, u64) {
    let t = now.saturating_sub(ch.since);
    if t < ch.loading_ms {
        ("loading", 0)
    } else if t < ch.loading_ms + ch.syncing_ms {
        ("syncing", (t - ch.loading_ms) * 100 / ch.syncing_ms.max(1))
    } else {
        ("done", 100)
    }
}

impl SimTarget {
    fn running(&self, s: Svc) -> Option<&Container> {
        self.containers
            .iter()
            .find(|c| c.svc == s && c.name == s.name() && c.running)
    }

    /// `pithead status`: 0 when every active service is running (starting counts), with
    /// p2pool and xmrig-proxy allowed to be stopped ("likely intentional").
    pub(crate) fn status_exit(&self) -> i32 {
        let profiles = services::Active::of(self.env.get(Key::COMPOSE_PROFILES));
        for s in services::ALL {
            if !s.active_in(profiles) {
                continue;
            }
            match self
                .containers
                .iter()
                .find(|c| c.svc == s && c.name == s.name())
            {
                None => return 1,
                Some(c) if !c.running && !matches!(s, Svc::P2pool | Svc::XmrigProxy) => {
                    return 1;
                }
                Some(c) if self.health(c) == Some("unhealthy") => return 1,
                Some(_) => {}
            }
        }
        0
    }

    /// `docker compose ps -a`, sorted by name, written over an earlier list whose strings
    /// keep their buffers: no allocation once they are long enough.
    pub(crate) fn container_states_into(&self, mut v: Vec<ContainerState>) -> Vec<ContainerState> {
        let mut order: Vec<&Container> = self.containers.iter().collect();
        // By name; the first bytes settle most pairs without a call to memcmp.
        order.sort_by(|a, b| {
            let (x, y) = (a.name.as_bytes(), b.name.as_bytes());
            x.first().cmp(&y.first()).then_with(|| x.cmp(y))
        });
        v.truncate(order.len());
        for (i, c) in order.into_iter().enumerate() {
            let state = if c.running {
                RunState::Running
            } else {
                RunState::Exited
            };
            // Frozen or just thawed containers fail their checks (ops.rs).
            let health = self.health(c);
            match v.get_mut(i) {
                Some(e) => {
                    e.name.clone_from(&c.name);
                    e.id.clone_from(&c.id);
                    e.started.clone_from(&c.started);
                    e.state = state;
                    match (&mut e.health, health) {
                        (Some(h), Some(want)) => set(h, want),
                        (h, want) => *h = want.map(str::to_string),
                    }
                }
                None => v.push(ContainerState {
                    name: c.name.clone(),
                    id: c.id.clone(),
                    started: c.started.clone(),
                    state,
                    health: health.map(str::to_string),
                }),
            }
        }
        v
    }

    /// The pool type the dashboard's classifier shows now (it lags a sidechain switch, #746).
    pub(crate) fn shown_pool_type(&self) -> &'static str {
        match self.running(Svc::P2pool) {
            Some(p) if self.now >= p.started_ms + p.settle_ms => {
                pool_type_of(p.baked.get(Key::P2POOL_FLAGS))
            }
            Some(_) => self.pool_before,
            None => "Unknown",
        }
    }

    /// What `/api/state` reports, as plain facts; `None` while the dashboard is down or not
    /// yet answering.
    fn api_facts(&self) -> Option<ApiFacts> {
        let dash = self.running(Svc::Dashboard)?;
        if self.now < dash.healthy_at {
            return None;
        }
        let d = &dash.baked;
        let now = self.now;
        let monero_local = d.get(Key::MONERO_RPC_URL).contains("127.0.0.1");
        let monerod = self.running(Svc::Monerod);
        let (m_state, m_pct) = if monero_local {
            match monerod {
                None => ("loading", 0),
                Some(_) if self.monerod_stranded => ("loading", 0),
                Some(_) => phase(&self.monero, now),
            }
        } else {
            phase(&self.monero, now)
        };
        let tari_mode = match d.get(Key::TARI_MODE) {
            "local" => "local",
            "remote" => "remote",
            _ => "off",
        };
        let (t_state, t_pct) = match tari_mode {
            "local" => match self.running(Svc::Tari) {
                Some(_) => phase(&self.tari, now),
                None => ("loading", 0),
            },
            "remote" => phase(&self.tari, now),
            _ => ("loading", 0),
        };
        // #32: the mode comes from the MONERO_PRUNE the dashboard was started with.
        let monero_mode = match (monero_local, monerod.is_some(), d.get(Key::MONERO_PRUNE)) {
            (true, true, "1") => "Pruned",
            (true, true, "0") => "Full",
            _ => "Unknown",
        };
        // Mining: workers reach xmrig-proxy once it and its upstream p2pool are up; hashes
        // climb from then while monerod is synced, and reset when p2pool restarts.
        let (workers, hashes) = match (self.running(Svc::XmrigProxy), self.running(Svc::P2pool)) {
            (Some(px), Some(pp)) => {
                let workers_at = (px.started_ms + px.settle_ms).max(pp.healthy_at);
                let workers = if now >= workers_at { RIGS } else { 0 };
                // p2pool started on an unsynced chain waits for it; a monerod restart later
                // does not reset p2pool's counter (only a p2pool restart does).
                let synced_at = if self.monero.since <= pp.started_ms {
                    self.monero.since + self.monero.loading_ms + self.monero.syncing_ms
                } else {
                    0
                };
                let from = workers_at.max(synced_at).max(pp.started_ms);
                (workers, now.saturating_sub(from) * HASHES_PER_MS)
            }
            _ => (0, 0),
        };
        Some(ApiFacts {
            stable: StableFacts {
                m_state,
                m_pct,
                t_state,
                t_pct,
                monero_local,
                monerod_up: monerod.is_some(),
                stranded: self.monerod_stranded,
                tari_mode,
                tari_required: d.get(Key::TARI_REQUIRED) == "true",
                monero_mode,
                pool_type: self.shown_pool_type(),
                workers,
                firewall: d.get(Key::TOR_EGRESS_FIREWALL) == "true",
                payout: d.get(Key::PAYOUT_CONFIRM_ENABLED) == "true",
                tari_payout: d.get(Key::TARI_PAYOUT_CONFIRM_ENABLED) == "true",
                xvb: d.get(Key::XVB_ENABLED) == "true",
            },
            tip_monero: 3_400_000 + now / 120_000,
            tip_tari: 120_000 + now / 120_000,
            hashes,
        })
    }

    /// `GET /api/state`, or `null` while the dashboard is down or not yet answering.
    ///
    /// The documents handed out are kept ([`ApiCache`]): the same facts share the last one,
    /// and new facts are patched into a document no observation holds any more, so a walk
    /// builds a handful of documents, not one per poll.
    pub(crate) fn api_state(&self) -> Arc<Value> {
        let Some(f) = self.api_facts() else {
            return Arc::clone(&self.api_null);
        };
        self.api_cache
            .borrow_mut()
            .get_or_insert_with(ApiCache::default)
            .document(&f)
    }
}

/// The .env keys an observation shows (secret lines left out), in name order: the order of
/// the observed map.
fn visible_keys_by_name() -> &'static [Key] {
    static KEYS: std::sync::OnceLock<Vec<Key>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<Key> = Key::ALL
            .iter()
            .copied()
            .filter(|k| !render::is_secret(*k))
            .collect();
        keys.sort_by_key(|k| k.name());
        keys
    })
}

/// Overwrites a string, keeping its buffer.
fn set(s: &mut String, value: &str) {
    s.clear();
    s.push_str(value);
}

/// Observations kept: the runner holds two or three at a time, so a few spares of each
/// buffer are enough; any more are let go.
const SPARES: usize = 4;

/// Buffers of observations the runner handed back, and observed .env maps that may still be
/// held by observations out there: refilled instead of allocated anew.
#[derive(Default)]
pub(crate) struct Recycled {
    containers: Vec<Vec<ContainerState>>,
    fingerprints: Vec<String>,
    envs: Vec<Arc<BTreeMap<String, String>>>,
}

impl Recycled {
    /// Keeps the buffers of an observation handed back.
    pub(crate) fn keep(&mut self, obs: Observation) {
        if self.containers.len() < SPARES {
            self.containers.push(obs.containers);
        }
        if self.fingerprints.len() < SPARES {
            self.fingerprints.push(obs.secret_fingerprint);
        }
    }

    /// A container list and a fingerprint string to fill (empty when none was handed back).
    pub(crate) fn take(&mut self) -> (Vec<ContainerState>, String) {
        (
            self.containers.pop().unwrap_or_default(),
            self.fingerprints.pop().unwrap_or_default(),
        )
    }

    /// Brings the observed .env (secret lines left out) in `view` up to `env`. While
    /// observations still hold `view`, it is kept as a spare and replaced by a spare they
    /// no longer hold (or, failing one, a copy), so nothing they hold changes.
    pub(crate) fn env_view(&mut self, view: &mut Arc<BTreeMap<String, String>>, env: &Env) {
        if Arc::get_mut(view).is_none() {
            let next = match self.envs.iter_mut().position(|e| Arc::get_mut(e).is_some()) {
                Some(i) => self.envs.swap_remove(i),
                None => Arc::new(BTreeMap::clone(view)),
            };
            let held = std::mem::replace(view, next);
            if self.envs.len() >= SPARES {
                self.envs.remove(0);
            }
            self.envs.push(held);
        }
        let map = Arc::get_mut(view).expect("a map nobody else holds");
        let keys = visible_keys_by_name();
        if map.len() == keys.len() {
            // The map holds exactly these keys: walk both in name order, no lookups.
            for ((name, v), k) in map.iter_mut().zip(keys) {
                debug_assert_eq!(name, k.name());
                let want = env.get(*k);
                if v != want {
                    set(v, want);
                }
            }
        } else {
            map.clear();
            map.extend(
                keys.iter()
                    .map(|k| (k.name().to_string(), env.get(*k).to_string())),
            );
        }
    }
}

/// The facts `/api/state` is built from that change only with the box's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StableFacts {
    m_state: &'static str,
    m_pct: u64,
    t_state: &'static str,
    t_pct: u64,
    monero_local: bool,
    monerod_up: bool,
    stranded: bool,
    tari_mode: &'static str,
    tari_required: bool,
    monero_mode: &'static str,
    pool_type: &'static str,
    workers: u64,
    firewall: bool,
    payout: bool,
    tari_payout: bool,
    xvb: bool,
}

/// Documents kept by what they were built from: at most this many (the runner holds two or
/// three observations at a time; any more are let go).
const API_DOCS: usize = 4;

/// The `/api/state` documents handed out, with the facts each shows; the last is the newest.
#[derive(Default)]
pub(crate) struct ApiCache {
    docs: Vec<(ApiFacts, Arc<Value>)>,
}

impl ApiCache {
    /// The document showing `f`: the newest one if it shows the same, else one nobody else
    /// holds patched to `f` (no allocation), else a new one.
    fn document(&mut self, f: &ApiFacts) -> Arc<Value> {
        if let Some((facts, doc)) = self.docs.last()
            && facts == f
        {
            return Arc::clone(doc);
        }
        let doc = match self
            .docs
            .iter_mut()
            .position(|(_, d)| Arc::get_mut(d).is_some())
        {
            Some(i) => {
                let (old, mut doc) = self.docs.remove(i);
                let v = Arc::get_mut(&mut doc).expect("only the cache holds it");
                patch_api(v, &old, f);
                doc
            }
            None => {
                if self.docs.len() >= API_DOCS {
                    self.docs.remove(0);
                }
                let mut v = build_api(&f.stable);
                write_numbers(&mut v, f);
                Arc::new(v)
            }
        };
        self.docs.push((*f, Arc::clone(&doc)));
        doc
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ApiFacts {
    stable: StableFacts,
    tip_monero: u64,
    tip_tari: u64,
    hashes: u64,
}

/// The member `key` of an object the sim built. (Indexing a `Value` mutably would copy the key
/// into a new `String` on every access.)
///
/// Found by a scan, not a hash: the objects are small and most keys differ in length.
fn at<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    v.as_object_mut()
        .and_then(|m| m.iter_mut().find(|(k, _)| *k == key))
        .map(|(_, v)| v)
        .expect("the sim's /api/state has this member")
}

fn sync_numbers(v: &mut Value, state: &str, percent: u64, tip: u64) {
    let target = if state == "loading" { 0 } else { tip };
    let current = tip * percent / 100;
    *at(v, "current") = current.into();
    *at(v, "target") = target.into();
    *at(v, "remaining") = target.saturating_sub(current).into();
}

/// The numbers that move with the clock alone: chain heights and the hash count.
fn write_numbers(v: &mut Value, f: &ApiFacts) {
    let s = &f.stable;
    sync_numbers(
        at(at(v, "sync"), "monero"),
        s.m_state,
        s.m_pct,
        f.tip_monero,
    );
    sync_numbers(at(at(v, "sync"), "tari"), s.t_state, s.t_pct, f.tip_tari);
    *at(at(v, "stratum"), "total_hashes") = f.hashes.into();
}

/// Sets a string leaf in place (its buffer is reused: no allocation once it is long enough).
fn set_str(v: &mut Value, s: &str) {
    match v {
        Value::String(old) => {
            old.clear();
            old.push_str(s);
        }
        _ => *v = Value::String(s.to_string()),
    }
}

/// Turns a document built from `old` into the one [`build_api`] builds from `new`, touching
/// only the fields whose facts changed. Keys keep their order (values are replaced in place),
/// so the serialised JSON is the same as a fresh build's.
fn patch_api(v: &mut Value, old: &ApiFacts, new: &ApiFacts) {
    let (o, n) = (&old.stable, &new.stable);
    if o != n {
        let sync = at(v, "sync");
        {
            let m = at(sync, "monero");
            if o.m_state != n.m_state {
                set_str(at(m, "state"), n.m_state);
            }
            if o.m_pct != n.m_pct {
                *at(m, "percent") = n.m_pct.into();
            }
            if o.monero_local != n.monero_local {
                *at(m, "local") = n.monero_local.into();
                set_str(at(m, "mode"), monero_sync_mode(n));
            }
            if o.monero_mode != n.monero_mode {
                set_str(at(m, "db_size"), db_size(n));
            }
        }
        {
            let t = at(sync, "tari");
            if o.t_state != n.t_state {
                set_str(at(t, "state"), n.t_state);
            }
            if o.t_pct != n.t_pct {
                *at(t, "percent") = n.t_pct.into();
            }
            if o.tari_mode != n.tari_mode {
                *at(t, "local") = (n.tari_mode == "local").into();
            }
        }
        if o.monero_mode != n.monero_mode {
            let m = at(v, "monero");
            set_str(at(m, "mode"), n.monero_mode);
            set_str(at(m, "db_size"), db_size(n));
        }
        if o.pool_type != n.pool_type {
            set_str(at(at(v, "pool"), "type"), n.pool_type);
        }
        if o.workers != n.workers {
            *at(v, "proxy_workers") = n.workers.into();
            *at(at(v, "stratum"), "conns") = n.workers.into();
        }
        if o.payout != n.payout {
            *at(at(at(v, "earnings"), "confirmed"), "enabled") = n.payout.into();
        }
        if o.tari_payout != n.tari_payout {
            *at(at(at(v, "earnings"), "tari_confirmed"), "enabled") = n.tari_payout.into();
        }
        if o.xvb != n.xvb {
            *at(at(v, "xvb"), "enabled") = n.xvb.into();
        }
        if o.tari_mode != n.tari_mode || o.tari_required != n.tari_required {
            let t = at(v, "tari");
            *at(t, "active") = (n.tari_mode != "off").into();
            *at(t, "required") = n.tari_required.into();
        }
        if syncing(o) != syncing(n) {
            *at(v, "syncing") = syncing(n).into();
        }
        if badges(o) != badges(n) {
            *at(v, "badges") = badges_json(n);
        }
    }
    write_numbers(v, new);
}

/// The badges of the dashboard's header, in its order: (variant, text, title).
const BADGES: [(&str, &str, &str); 5] = [
    ("ok", "🛡️ Tor-only egress", "egress firewall on"),
    ("danger", "monerod DOWN", "monerod is not running"),
    ("warn", "monerod 0 peers", "monerod lost its Tor circuits"),
    (
        "danger",
        "Tari DOWN",
        "the required Tari node does not answer",
    ),
    ("muted", "Tari optional", "tari_required is false"),
];

/// Which of [`BADGES`] the facts light, one bit each.
fn badges(s: &StableFacts) -> u8 {
    let lit = [
        s.firewall,
        s.monero_local && !s.monerod_up,
        s.stranded && s.monerod_up,
        s.tari_required && s.t_state != "done" && (s.tari_mode == "off" || s.t_state == "loading"),
        !s.tari_required,
    ];
    lit.iter()
        .enumerate()
        .fold(0, |acc, (i, on)| acc | (u8::from(*on) << i))
}

fn badges_json(s: &StableFacts) -> Value {
    let lit = badges(s);
    Value::Array(
        BADGES
            .iter()
            .enumerate()
            .filter(|(i, _)| lit & (1 << i) != 0)
            .map(|(_, (variant, text, title))| json!({"variant": variant, "text": text, "title": title}))
            .collect(),
    )
}

fn db_size(s: &StableFacts) -> &'static str {
    match s.monero_mode {
        "Pruned" => "95.3 GB",
        "Full" => "245.1 GB",
        _ => "—",
    }
}

fn monero_sync_mode(s: &StableFacts) -> &'static str {
    if s.monero_local { "local" } else { "remote" }
}

fn syncing(s: &StableFacts) -> bool {
    s.m_state != "done" || (s.tari_required && s.t_state != "done")
}

fn build_api(s: &StableFacts) -> Value {
    let summary = json!({"level": "ok", "leaks": 0, "label": "Tor-only"});
    let db_size = db_size(s);
    let sync = |state: &str, percent: u64, local: bool| {
        json!({
            "state": state, "percent": percent, "current": 0, "target": 0, "remaining": 0,
            "local": local,
        })
    };
    let mut monero_sync = sync(s.m_state, s.m_pct, s.monero_local);
    monero_sync["mode"] = json!(monero_sync_mode(s));
    monero_sync["db_size"] = json!(db_size);
    json!({
        "version": "sim",
        "sync": {
            "monero": monero_sync,
            "tari": sync(s.t_state, s.t_pct, s.tari_mode == "local"),
        },
        "monero": { "mode": s.monero_mode, "db_size": db_size },
        "pool": { "type": s.pool_type },
        "proxy_workers": s.workers,
        "stratum": { "conns": s.workers, "total_hashes": 0 },
        "db_healthy": true,
        "earnings": {
            "confirmed": { "enabled": s.payout },
            "tari_confirmed": { "enabled": s.tari_payout },
        },
        "xvb": { "enabled": s.xvb },
        "tari": { "active": s.tari_mode != "off", "required": s.tari_required },
        "syncing": syncing(s),
        "miner_released": true,
        "workers_rejected": false,
        "badges": badges_json(s),
        "egress": { "summary": summary.clone() },
        "topology": { "summary": summary },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_markers_are_rfc3339_and_ordered() {
        assert_eq!(started_marker(0), "2026-01-01T00:00:00.000Z");
        assert_eq!(started_marker(3_723_004), "2026-01-01T01:02:03.004Z");
        assert_eq!(started_marker(60 * 86_400_000), "2026-03-02T00:00:00.000Z");
        assert!(started_marker(999) < started_marker(1000));
        // Against the formatter, over years of virtual time.
        for ms in (0..200).map(|i: u64| i * 987_654_321_123 % 10_000_000_000_000) {
            let secs = ms / 1000;
            let (y, m, d) = civil_from_days((secs / 86_400 + days_from_civil(2026, 1, 1)) as i64);
            let rem = secs % 86_400;
            let want = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3600,
                rem / 60 % 60,
                rem % 60,
                ms % 1000
            );
            assert_eq!(started_marker(ms), want);
        }
    }

    /// Facts drawn from every value each one takes.
    fn random_facts(rng: &mut impl rand::Rng) -> ApiFacts {
        let pick = |rng: &mut dyn rand::RngCore, xs: &[&'static str]| {
            xs[rand::Rng::random_range(rng, 0..xs.len())]
        };
        let states = ["loading", "syncing", "done"];
        ApiFacts {
            stable: StableFacts {
                m_state: pick(rng, &states),
                m_pct: rng.random_range(0..=100),
                t_state: pick(rng, &states),
                t_pct: rng.random_range(0..=100),
                monero_local: rng.random(),
                monerod_up: rng.random(),
                stranded: rng.random(),
                tari_mode: pick(rng, &["local", "remote", "off"]),
                tari_required: rng.random(),
                monero_mode: pick(rng, &["Pruned", "Full", "Unknown"]),
                pool_type: pick(rng, &["Main", "Mini", "Nano", "Unknown"]),
                workers: rng.random_range(0..=2),
                firewall: rng.random(),
                payout: rng.random(),
                tari_payout: rng.random(),
                xvb: rng.random(),
            },
            tip_monero: rng.random_range(3_400_000..3_500_000),
            tip_tari: rng.random_range(120_000..130_000),
            hashes: rng.random_range(0..1_000_000),
        }
    }

    fn built(f: &ApiFacts) -> Value {
        let mut v = build_api(&f.stable);
        write_numbers(&mut v, f);
        v
    }

    /// A document patched from any facts to any others serialises exactly as one built from
    /// the new facts (same keys, same order, same values).
    #[test]
    fn a_patched_document_is_a_fresh_one() {
        let mut rng = canary_core::rng::Seed::from_u64(7).rng("api-patch");
        for _ in 0..2_000 {
            let (a, b) = (random_facts(&mut rng), random_facts(&mut rng));
            let mut v = built(&a);
            patch_api(&mut v, &a, &b);
            assert_eq!(v.to_string(), built(&b).to_string(), "{a:?} -> {b:?}");
            // Only one fact apart, as consecutive polls mostly are.
            let mut c = b;
            c.stable.m_pct = (b.stable.m_pct + 1) % 101;
            c.hashes += 10;
            patch_api(&mut v, &b, &c);
            assert_eq!(v.to_string(), built(&c).to_string(), "{b:?} -> {c:?}");
        }
    }

    /// The cache hands out the same document for the same facts, reuses one nobody holds,
    /// and never changes a document an observation still holds.
    #[test]
    fn the_cache_never_touches_a_held_document() {
        let mut rng = canary_core::rng::Seed::from_u64(8).rng("api-cache");
        let mut cache = ApiCache::default();
        let mut held: Vec<(ApiFacts, Arc<Value>)> = Vec::new();
        for i in 0..500 {
            let f = random_facts(&mut rng);
            let doc = cache.document(&f);
            assert_eq!(doc.to_string(), built(&f).to_string());
            assert!(Arc::ptr_eq(&doc, &cache.document(&f)));
            held.push((f, doc));
            if i % 3 == 0 {
                held.remove(0);
            }
            if held.len() > 3 {
                held.remove(0);
            }
            for (f, d) in &held {
                assert_eq!(d.to_string(), built(f).to_string());
            }
        }
        assert!(cache.docs.len() <= API_DOCS);
    }

    /// Observations built into recycled buffers, or next to ones still held, are the same
    /// as a sim's that never reuses anything, byte for byte; and a held observation never
    /// changes afterwards.
    #[test]
    fn recycled_buffers_make_the_same_observations() {
        use canary_core::target::Target;
        use std::time::Duration;
        let seed = canary_core::rng::Seed::from_u64(11);
        let (mut a, mut b) = (SimTarget::new(seed, &[]), SimTarget::new(seed, &[]));
        let toggles = [
            ("p2pool", "pool", json!("main"), json!("nano")),
            ("tari", "mode", json!("off"), json!("local")),
            ("monero", "prune", json!(false), json!(true)),
            ("dashboard", "secure", json!(false), json!(true)),
            ("xvb", "enabled", json!(false), json!(true)),
            ("tari", "mode", json!("remote"), json!("local")),
            ("network", "tor_egress_firewall", json!(false), json!(true)),
        ];
        let text = |o: &Observation| serde_json::to_string(o).unwrap();
        let mut held: std::collections::VecDeque<(Observation, String)> = Default::default();
        for i in 0..60 {
            let (section, key, on, off) = &toggles[i % toggles.len()];
            let mut cfg = a.config().clone();
            cfg[*section][*key] = if (i / toggles.len()).is_multiple_of(2) {
                on
            } else {
                off
            }
            .clone();
            a.write_config_sync(&cfg);
            b.write_config_sync(&cfg);
            assert_eq!(a.apply_sync(), b.apply_sync(), "step {i}");
            for poll in 0..4 {
                let (oa, ob) = (a.observe_sync(), b.observe_sync());
                assert_eq!(text(&oa), text(&ob), "step {i} poll {poll}");
                if (i + poll) % 3 == 0 {
                    held.push_back((oa, text(&ob)));
                } else {
                    a.recycle(oa);
                }
                if held.len() > 3 {
                    let (o, was) = held.pop_front().unwrap();
                    assert_eq!(text(&o), was, "a held observation changed");
                    a.recycle(o);
                }
                a.advance(Duration::from_secs(7));
                b.advance(Duration::from_secs(7));
            }
        }
    }

    #[test]
    fn container_ids_are_12_hex_digits() {
        for n in [0, 1, 0xabc, u64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(container_id(n), format!("{:012x}", n & 0xffff_ffff_ffff));
        }
    }

    #[test]
    fn pool_types_come_from_flags() {
        assert_eq!(pool_type_of(""), "Main");
        assert_eq!(pool_type_of("--mini"), "Mini");
        assert_eq!(pool_type_of("--nano --no-dns"), "Nano");
    }
}
