//! What the simulated box shows: `pithead status` (pithead-model.md §3.2), `docker compose ps`
//! and the dashboard's `/api/state` (§4), all functions of the state and the virtual clock.
//!
//! The dashboard reads its env once at boot, so everything it reports comes from the env its
//! container was created with, not from the .env on disk: a container that was not recreated
//! shows its old args, which is what faults like #273 look like from outside.

use std::sync::Arc;

use serde_json::{Value, json};

use super::render::Key;
use super::services::{self, Svc};
use super::{Chain, Container, SimTarget};
use crate::target::ContainerState;

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
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
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
        let profiles = self.env.get(Key::COMPOSE_PROFILES);
        for s in services::ALL {
            if !s.active(profiles) {
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

    /// `docker compose ps -a`, sorted by name.
    pub(crate) fn container_states(&self) -> Vec<ContainerState> {
        let mut v: Vec<ContainerState> = self
            .containers
            .iter()
            .map(|c| ContainerState {
                name: c.name.clone(),
                id: c.id.clone(),
                started: c.started.clone(),
                state: if c.running { "running" } else { "exited" }.into(),
                health: self.health(c).map(Into::into),
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
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

    /// `GET /api/state`, or `null` while the dashboard is down or not yet answering. The JSON
    /// is rebuilt only when a fact other than the chain tips and the hash count changed;
    /// otherwise the last one is copied and those numbers patched in.
    pub(crate) fn api_state(&self) -> Arc<Value> {
        let Some(f) = self.api_facts() else {
            return Arc::clone(&self.api_null);
        };
        let mut cache = self.api_cache.borrow_mut();
        match &mut *cache {
            // Nothing changed since the last poll: the same document, shared.
            Some(c) if c.facts == f => Arc::clone(&c.api),
            // Only the numbers moved: patch them in, copying the document only while an
            // observation handed out earlier still holds it.
            Some(c) if c.facts.stable == f.stable => {
                patch_api(Arc::make_mut(&mut c.api), &f);
                c.facts = f;
                Arc::clone(&c.api)
            }
            _ => {
                let mut v = build_api(&f.stable);
                patch_api(&mut v, &f);
                let api = Arc::new(v);
                *cache = Some(ApiCache {
                    facts: f,
                    api: Arc::clone(&api),
                });
                api
            }
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

/// The last `/api/state` handed out and the facts it shows.
pub(crate) struct ApiCache {
    facts: ApiFacts,
    api: Arc<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ApiFacts {
    stable: StableFacts,
    tip_monero: u64,
    tip_tari: u64,
    hashes: u64,
}

fn sync_numbers(v: &mut Value, state: &str, percent: u64, tip: u64) {
    let target = if state == "loading" { 0 } else { tip };
    let current = tip * percent / 100;
    v["current"] = current.into();
    v["target"] = target.into();
    v["remaining"] = target.saturating_sub(current).into();
}

fn patch_api(v: &mut Value, f: &ApiFacts) {
    let s = &f.stable;
    sync_numbers(&mut v["sync"]["monero"], s.m_state, s.m_pct, f.tip_monero);
    sync_numbers(&mut v["sync"]["tari"], s.t_state, s.t_pct, f.tip_tari);
    v["stratum"]["total_hashes"] = f.hashes.into();
}

fn build_api(s: &StableFacts) -> Value {
    let mut badges: Vec<Value> = Vec::with_capacity(4);
    if s.firewall {
        badges.push(
            json!({"variant": "ok", "text": "🛡️ Tor-only egress", "title": "egress firewall on"}),
        );
    }
    if s.monero_local && !s.monerod_up {
        badges.push(
            json!({"variant": "danger", "text": "monerod DOWN", "title": "monerod is not running"}),
        );
    }
    if s.stranded && s.monerod_up {
        badges.push(json!({"variant": "warn", "text": "monerod 0 peers", "title": "monerod lost its Tor circuits"}));
    }
    if s.tari_required && s.t_state != "done" && (s.tari_mode == "off" || s.t_state == "loading") {
        badges.push(json!({"variant": "danger", "text": "Tari DOWN", "title": "the required Tari node does not answer"}));
    }
    if !s.tari_required {
        badges.push(
            json!({"variant": "muted", "text": "Tari optional", "title": "tari_required is false"}),
        );
    }
    let summary = json!({"level": "ok", "leaks": 0, "label": "Tor-only"});
    let db_size = match s.monero_mode {
        "Pruned" => "95.3 GB",
        "Full" => "245.1 GB",
        _ => "—",
    };
    let sync = |state: &str, percent: u64, local: bool| {
        json!({
            "state": state, "percent": percent, "current": 0, "target": 0, "remaining": 0,
            "local": local,
        })
    };
    let mut monero_sync = sync(s.m_state, s.m_pct, s.monero_local);
    monero_sync["mode"] = json!(if s.monero_local { "local" } else { "remote" });
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
        "syncing": s.m_state != "done" || (s.tari_required && s.t_state != "done"),
        "miner_released": true,
        "workers_rejected": false,
        "badges": badges,
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
    }

    #[test]
    fn pool_types_come_from_flags() {
        assert_eq!(pool_type_of(""), "Main");
        assert_eq!(pool_type_of("--mini"), "Mini");
        assert_eq!(pool_type_of("--nano --no-dns"), "Nano");
    }
}
