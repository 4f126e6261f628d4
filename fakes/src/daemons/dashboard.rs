//! Fake dashboard: `GET /api/state` assembled at request time from what the other fakes
//! report, with settings read once from the environment at start like the real dashboard
//! (TARI_REQUIRED is read at import, so a changed value needs a recreate). It keeps the
//! sync-gate release as a one-way latch for its process, and `.db_healthy` as a latch that
//! only a restart clears. With a local node it runs the worker failover ([`super::failover`]):
//! xmrig-proxy stopped while monerod is down, started again once it has stayed up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::env_or;
use super::failover::{Failover, REJECTED, Timings, control_here};
use crate::http::{self, Request, Response};

const POLL: Duration = Duration::from_millis(300);

/// What the dashboard read from its environment at start.
#[derive(Debug, Clone)]
struct Settings {
    monero_local: bool,
    tari_mode: String,
    tari_required: bool,
    prune: String,
    payout_confirm: bool,
    tari_payout_confirm: bool,
    xvb_enabled: bool,
    firewall: bool,
    data_dir: String,
    ports: Ports,
}

/// Where the dashboard finds its peers: 127.0.0.1 and `FAKE_<SERVICE>_PORT` on a fake box,
/// or `FAKE_<SERVICE>_HOST` (a service name on the mini-stack's compose network).
#[derive(Debug, Clone)]
struct Ports {
    monerod: Peer,
    tari: Peer,
    p2pool: Peer,
    proxy: Peer,
}

#[derive(Debug, Clone)]
struct Peer {
    host: String,
    port: u16,
}

impl Peer {
    fn from_env(service: &str) -> Peer {
        Peer {
            host: env_or(&format!("FAKE_{service}_HOST"), "127.0.0.1"),
            port: super::env_num(&format!("FAKE_{service}_PORT"), 0u16),
        }
    }

    async fn get_json(&self, path: &str) -> Option<Value> {
        http::get_json(&self.host, self.port, path, POLL).await
    }
}

fn flag(key: &str, default: &str) -> bool {
    env_or(key, default) == "true"
}

impl Settings {
    fn from_env() -> Self {
        Settings {
            // As Pithead's dashboard tells it (its LOCAL_MONERO_HOST): the node host is the
            // local monerod's bridge address. It does not read COMPOSE_PROFILES (§2.1).
            monero_local: env_or("MONERO_NODE_HOST", "")
                == format!("{}.26", env_or("NETWORK_PREFIX", "172.28.0")),
            tari_mode: env_or("TARI_MODE", "local"),
            tari_required: flag("TARI_REQUIRED", "true"),
            prune: env_or("MONERO_PRUNE", ""),
            payout_confirm: flag("PAYOUT_CONFIRM_ENABLED", "false"),
            tari_payout_confirm: flag("TARI_PAYOUT_CONFIRM_ENABLED", "false"),
            xvb_enabled: flag("XVB_ENABLED", "true"),
            firewall: flag("TOR_EGRESS_FIREWALL", "true"),
            data_dir: env_or("DASHBOARD_DATA_DIR", "./data/dashboard"),
            ports: Ports {
                monerod: Peer::from_env("MONEROD"),
                tari: Peer::from_env("TARI"),
                p2pool: Peer::from_env("P2POOL"),
                proxy: Peer::from_env("XMRIG_PROXY"),
            },
        }
    }
}

struct Dashboard {
    settings: Settings,
    released: AtomicBool,
    db_healthy: AtomicBool,
    /// xmrig-proxy is held stopped by the failover.
    workers_rejected: Arc<AtomicBool>,
    started: Instant,
}

/// How often the failover reads the node.
const FAILOVER_TICK: Duration = Duration::from_millis(250);

/// Runs the worker failover for as long as the dashboard runs: reads monerod every tick and
/// stops or starts xmrig-proxy as [`Failover`] decides. Without a way to control containers
/// it only keeps the `workers_rejected` reading.
async fn run_failover(monerod: Peer, rejected: Arc<AtomicBool>) {
    let faults = crate::faults::Faults::load(std::path::Path::new(".")).unwrap_or_default();
    let premature = faults.has(crate::faults::Fault::PrematureReadmit);
    let mut failover = Failover::new(Timings::from_env(), premature);
    let control = Arc::new(std::sync::Mutex::new(control_here()));
    loop {
        tokio::time::sleep(FAILOVER_TICK).await;
        let reachable = monerod
            .get_json("/get_info")
            .await
            .is_some_and(|i| i["status"] == "OK");
        let Some(m) = failover.tick(Instant::now(), reachable) else {
            continue;
        };
        let control = Arc::clone(&control);
        // The engines block (they start processes, call Docker): off the async thread.
        let done = tokio::task::spawn_blocking(move || {
            let mut guard = control.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(c) => c.carry_out(m).unwrap_or_else(|e| {
                    eprintln!("dashboard: failover {m:?} failed: {e:#}");
                    false
                }),
                None => true,
            }
        })
        .await
        .unwrap_or(false);
        if done {
            failover.done(m);
            rejected.store(failover.rejected(), Ordering::Relaxed);
            eprintln!("dashboard: failover {m:?} of {REJECTED}");
        }
    }
}

/// Serves the fake dashboard.
pub async fn serve(listener: TcpListener, started: Instant) {
    let dash = Arc::new(Dashboard {
        settings: Settings::from_env(),
        released: AtomicBool::new(false),
        db_healthy: AtomicBool::new(true),
        workers_rejected: Arc::new(AtomicBool::new(false)),
        started,
    });
    dash.probe_db();
    if dash.settings.monero_local {
        tokio::spawn(run_failover(
            dash.settings.ports.monerod.clone(),
            Arc::clone(&dash.workers_rejected),
        ));
    }
    http::serve(listener, move |req: Request| {
        let dash = Arc::clone(&dash);
        async move {
            match (req.method.as_str(), req.path.as_str()) {
                ("GET" | "HEAD", "/api/state") => Response::ok(dash.state().await),
                ("GET" | "HEAD", "/health") => {
                    Response::ok(json!({"service": "dashboard", "healthy": true}))
                }
                ("GET", "/fake/info") => Response::ok(json!({
                    "service": "dashboard",
                    "tari_required": dash.settings.tari_required,
                    "tari_mode": dash.settings.tari_mode,
                    "prune": dash.settings.prune,
                })),
                _ => Response::not_found(),
            }
        }
    })
    .await
}

/// One chain's reading, reduced to what the sync view shows.
struct Chain {
    reachable: bool,
    state: &'static str,
    current: u64,
    target: u64,
    local: bool,
}

impl Chain {
    fn json(&self) -> Value {
        let percent = if self.state == "done" {
            100.0
        } else if self.target > 0 {
            (self.current as f64 * 1000.0 / self.target as f64).floor() / 10.0
        } else {
            0.0
        };
        json!({
            "state": self.state,
            "percent": percent,
            "current": self.current,
            "target": self.target,
            "remaining": self.target.saturating_sub(self.current),
            "local": self.local,
        })
    }
}

impl Dashboard {
    /// A write into the data dir; a failure latches `.db_healthy` false (#202).
    fn probe_db(&self) {
        if !self.db_healthy.load(Ordering::Relaxed) {
            return;
        }
        let dir = std::path::Path::new(&self.settings.data_dir);
        let ok = std::fs::create_dir_all(dir).is_ok()
            && std::fs::write(dir.join(".fake-db-probe"), b"ok").is_ok();
        if !ok {
            self.db_healthy.store(false, Ordering::Relaxed);
        }
    }

    async fn monero(&self) -> (Chain, Option<Value>) {
        if !self.settings.monero_local {
            // A remote node is outside the fake box: take it as reachable and synced.
            let chain = Chain {
                reachable: true,
                state: "done",
                current: 0,
                target: 0,
                local: false,
            };
            return (chain, None);
        }
        let info = self.settings.ports.monerod.get_json("/get_info").await;
        let chain = match &info {
            Some(i) if i["status"] == "OK" => {
                let height = i["height"].as_u64().unwrap_or(0);
                let target = i["target_height"].as_u64().unwrap_or(0);
                let synced = i["synchronized"].as_bool().unwrap_or(false);
                // done first: a synced node may report target 0.
                let state = if synced {
                    "done"
                } else if target == 0 {
                    "loading"
                } else if height >= target {
                    "done"
                } else {
                    "syncing"
                };
                Chain {
                    reachable: true,
                    state,
                    current: height,
                    target,
                    local: true,
                }
            }
            _ => Chain {
                reachable: false,
                state: "loading",
                current: 0,
                target: 0,
                local: true,
            },
        };
        (chain, info)
    }

    async fn tari(&self) -> Chain {
        match self.settings.tari_mode.as_str() {
            "remote" => Chain {
                reachable: true,
                state: "done",
                current: 0,
                target: 0,
                local: false,
            },
            "off" => Chain {
                reachable: false,
                state: "loading",
                current: 0,
                target: 0,
                local: false,
            },
            _ => match self.settings.ports.tari.get_json("/status").await {
                Some(s) => {
                    let current = s["best_block_height"].as_u64().unwrap_or(0);
                    let target = s["tip_height"].as_u64().unwrap_or(0);
                    let state = match s["mode"].as_str() {
                        Some("synced") => "done",
                        Some("syncing") => "syncing",
                        _ => "loading",
                    };
                    Chain {
                        reachable: true,
                        state,
                        current,
                        target,
                        local: true,
                    }
                }
                None => Chain {
                    reachable: false,
                    state: "loading",
                    current: 0,
                    target: 0,
                    local: true,
                },
            },
        }
    }

    async fn state(&self) -> Value {
        self.probe_db();
        let s = &self.settings;
        // The four readings are taken concurrently: one slow or frozen fake costs one
        // timeout, not four.
        let ((monero, info), tari, p2pool, proxy) = tokio::join!(
            self.monero(),
            self.tari(),
            s.ports.p2pool.get_json("/stats"),
            s.ports.proxy.get_json("/summary"),
        );

        let monero_ok = monero.state == "done" && monero.reachable;
        let tari_ok = tari.state == "done" && tari.reachable;
        if monero_ok && (tari_ok || !s.tari_required) {
            self.released.store(true, Ordering::Relaxed);
        }
        let released = self.released.load(Ordering::Relaxed);
        let rejected =
            (s.monero_local && !monero.reachable) || self.workers_rejected.load(Ordering::Relaxed);
        let mining = released && !rejected;

        let pool_type = match p2pool.as_ref().and_then(|p| p["pool"].as_str()) {
            Some("main") => "Main",
            Some("mini") => "Mini",
            Some("nano") => "Nano",
            _ => "Unknown",
        };
        let total_hashes = if mining {
            p2pool
                .as_ref()
                .and_then(|p| p["total_hashes"].as_u64())
                .unwrap_or(0)
        } else {
            0
        };
        let workers = if mining {
            proxy
                .as_ref()
                .and_then(|p| p["workers"].as_u64())
                .unwrap_or(0)
        } else {
            0
        };
        let monero_mode = match (s.monero_local, s.prune.as_str()) {
            (true, "1") => "Pruned",
            (true, "0") => "Full",
            _ => "Unknown",
        };
        let db_size = info
            .as_ref()
            .and_then(|i| i["database_size"].as_u64())
            .map(|b| format!("{:.1} GB", b as f64 / 1e9))
            .unwrap_or_else(|| "—".to_string());

        let mut badges = Vec::new();
        if s.monero_local && !monero.reachable {
            badges.push(badge(
                "danger",
                "monerod DOWN",
                "The local Monero node does not answer",
            ));
        }
        if tari.local && !tari.reachable {
            badges.push(badge(
                "danger",
                "Tari DOWN",
                "The local Tari node does not answer",
            ));
        }
        if rejected {
            badges.push(badge(
                "warning",
                "Workers rejected",
                "xmrig-proxy stopped so rigs fail over",
            ));
        }
        if !released {
            badges.push(badge(
                "info",
                "Miner held (sync)",
                "Mining waits for the chains to sync",
            ));
        }
        if !s.tari_required {
            badges.push(badge(
                "secondary",
                "Tari optional",
                "Mining does not wait for Tari",
            ));
        }
        if s.firewall {
            badges.push(badge(
                "success",
                "🛡️ Tor-only egress",
                "Direct egress is blocked",
            ));
        }
        let summary = json!({
            "level": "ok",
            "leaks": 0,
            "label": if s.firewall { "Tor-only egress" } else { "Direct egress allowed" },
        });
        let mut nodes = vec![
            "browser",
            "caddy",
            "dashboard",
            "docker",
            "internet",
            "monerod",
            "p2pool",
            "rigs",
            "tari",
            "tor",
            "xmrig-proxy",
        ];
        nodes.sort_unstable();
        let edges = [
            ("rigs", "xmrig-proxy"),
            ("xmrig-proxy", "p2pool"),
            ("p2pool", "monerod"),
            ("p2pool", "tari"),
            ("monerod", "tor"),
            ("tari", "tor"),
            ("tor", "internet"),
            ("browser", "caddy"),
            ("caddy", "dashboard"),
            ("dashboard", "docker"),
        ];
        let mut monero_sync = monero.json();
        monero_sync["mode"] = json!(monero_mode);
        monero_sync["db_size"] = json!(db_size);
        let syncing = monero.state != "done" || (s.tari_required && tari.state != "done");

        json!({
            "page_title": if syncing { "Syncing — Pithead" } else { "Pithead" },
            "syncing": syncing,
            "sync": { "monero": monero_sync, "tari": tari.json() },
            "monero": { "mode": monero_mode, "db_size": db_size },
            "pool": { "type": pool_type },
            "proxy_workers": workers,
            "stratum": { "conns": workers, "total_hashes": total_hashes },
            "db_healthy": self.db_healthy.load(Ordering::Relaxed),
            "share_stats": if total_hashes > 0 { json!([{"pool": pool_type, "shares": 1}]) } else { json!([]) },
            "egress": { "summary": summary.clone() },
            "topology": {
                "summary": summary,
                "nodes": nodes.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
                "edges": edges.iter().map(|(f, t)| json!({"from": f, "to": t})).collect::<Vec<_>>(),
            },
            "badges": badges,
            "earnings": {
                "confirmed": { "enabled": s.payout_confirm },
                "tari_confirmed": { "enabled": s.tari_payout_confirm },
            },
            "xvb": { "enabled": s.xvb_enabled },
            "tari": { "active": s.tari_mode != "off", "connected": tari.reachable,
                      "status": tari.state, "required": s.tari_required },
            "monero_sync": { "reachable": monero.reachable },
            "miner_released": released,
            "workers_rejected": rejected,
            "uptime_ms": self.started.elapsed().as_millis() as u64,
        })
    }
}

fn badge(variant: &str, text: &str, title: &str) -> Value {
    json!({"variant": variant, "text": text, "title": title})
}
