//! Fake monerod: `GET /get_info` and JSON-RPC `get_info` in monerod's shape, with the modes
//! synced, syncing (height climbs to the target over time, then synced), down (the connection
//! is dropped: unreachable) and busy (HTTP 200 with a status other than OK). `POST /control`
//! takes `{mode, height, target_height, database_size}`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{env_num, env_or};
use crate::http::{self, Request, Response};

const PRUNED_DB: u64 = 95 * 1_000_000_000;
const FULL_DB: u64 = 260 * 1_000_000_000;

struct Node {
    mode: String,
    /// Height at `since`; while syncing the height is extrapolated from it.
    height: u64,
    target_height: u64,
    database_size: u64,
    since: Instant,
    blocks_per_sec: u64,
}

impl Node {
    /// Advances a syncing node to now; a node that reaches its target becomes synced.
    fn tick(&mut self) {
        if self.mode == "syncing" {
            let gained = self.since.elapsed().as_millis() as u64 * self.blocks_per_sec / 1000;
            let now = (self.height + gained).min(self.target_height);
            if self.target_height > 0 && now >= self.target_height {
                self.height = self.target_height;
                self.mode = "synced".into();
            } else if gained > 0 {
                self.height = now;
                self.since = Instant::now();
            }
        }
    }

    fn info(&self) -> Value {
        let synced = self.mode == "synced";
        json!({
            "status": if self.mode == "busy" { "BUSY" } else { "OK" },
            "synchronized": synced,
            "busy_syncing": self.mode == "syncing",
            "height": self.height,
            "target_height": if synced { self.height } else { self.target_height },
            "database_size": self.database_size,
            "untrusted": false,
        })
    }
}

/// Serves the fake node.
pub async fn serve(listener: TcpListener, _started: Instant) {
    let mode = env_or("FAKE_MONEROD_MODE", "synced");
    let pruned = env_or("MONERO_PRUNE", "1") != "0";
    let target = 3_000_000;
    let node = Node {
        height: if mode == "syncing" {
            target - 100_000
        } else {
            target
        },
        mode,
        target_height: target,
        database_size: if pruned { PRUNED_DB } else { FULL_DB },
        since: Instant::now(),
        blocks_per_sec: env_num("FAKE_SYNC_BLOCKS_PER_SEC", 200_000),
    };
    let node = Arc::new(Mutex::new(node));
    http::serve(listener, move |req: Request| {
        let node = Arc::clone(&node);
        async move { handle(&node, req) }
    })
    .await
}

fn handle(node: &Mutex<Node>, req: Request) -> Response {
    let mut node = node.lock().unwrap_or_else(|e| e.into_inner());
    node.tick();
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/control") => {
            let Ok(patch) = serde_json::from_slice::<Value>(&req.body) else {
                return Response::Text(400, "body must be a JSON object\n".into());
            };
            if let Some(m) = patch.get("mode").and_then(Value::as_str) {
                if !["synced", "syncing", "down", "busy"].contains(&m) {
                    return Response::Text(400, format!("unknown mode {m:?}\n"));
                }
                node.mode = m.to_string();
            }
            if let Some(h) = patch.get("height").and_then(Value::as_u64) {
                node.height = h;
            }
            if let Some(t) = patch.get("target_height").and_then(Value::as_u64) {
                node.target_height = t;
            }
            if let Some(d) = patch.get("database_size").and_then(Value::as_u64) {
                node.database_size = d;
            }
            node.since = Instant::now();
            Response::ok(json!({"mode": node.mode, "info": node.info()}))
        }
        _ if node.mode == "down" => Response::Drop,
        ("GET", "/get_info") | ("POST", "/get_info") => Response::ok(node.info()),
        ("POST", "/json_rpc") => {
            let call: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let id = call.get("id").cloned().unwrap_or(json!("0"));
            match call.get("method").and_then(Value::as_str) {
                Some("get_info") => {
                    Response::ok(json!({"jsonrpc": "2.0", "id": id, "result": node.info()}))
                }
                _ => Response::ok(json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": "Method not found"}})),
            }
        }
        ("GET" | "HEAD", "/health") => {
            if node.mode == "busy" {
                Response::Text(503, "busy\n".into())
            } else {
                Response::ok(json!({"service": "monerod", "healthy": true}))
            }
        }
        ("GET", "/fake/info") => Response::ok(json!({"service": "monerod", "mode": node.mode,
            "prune": env_or("MONERO_PRUNE", ""), "info": node.info()})),
        _ => Response::not_found(),
    }
}
