//! Fake Tari base node over plain HTTP (the real one speaks gRPC; the fakes only need its
//! readings): `GET /status` gives the tip and sync progress, `POST /control` merges
//! `{mode, height, tip_height}`. Modes: synced, syncing (climbs to the tip, then synced),
//! down (connection dropped), starting and migrating (answers, not ready).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{env_num, env_or};
use crate::http::{self, Request, Response};

struct Node {
    mode: String,
    height: u64,
    tip_height: u64,
    since: Instant,
    blocks_per_sec: u64,
}

impl Node {
    fn tick(&mut self) {
        if self.mode == "syncing" {
            let gained = self.since.elapsed().as_millis() as u64 * self.blocks_per_sec / 1000;
            if gained > 0 {
                self.height = (self.height + gained).min(self.tip_height);
                self.since = Instant::now();
            }
            if self.tip_height > 0 && self.height >= self.tip_height {
                self.mode = "synced".into();
            }
        }
    }

    fn status(&self) -> Value {
        json!({
            "mode": self.mode,
            "best_block_height": self.height,
            "tip_height": self.tip_height,
            "initial_sync_achieved": self.mode == "synced",
            "readiness": match self.mode.as_str() {
                "starting" => "STARTING_UP",
                "migrating" => "MIGRATING",
                _ => "READY",
            },
        })
    }
}

/// Serves the fake Tari node.
pub async fn serve(listener: TcpListener, _started: Instant) {
    let mode = env_or("FAKE_TARI_MODE", "synced");
    let tip = 2_000_000;
    let node = Node {
        height: if mode == "syncing" { tip / 2 } else { tip },
        mode,
        tip_height: tip,
        since: Instant::now(),
        blocks_per_sec: env_num("FAKE_SYNC_BLOCKS_PER_SEC", 200_000) * 10,
    };
    let node = Arc::new(Mutex::new(node));
    http::serve(listener, move |req: Request| {
        let node = Arc::clone(&node);
        async move {
            let mut node = node.lock().unwrap_or_else(|e| e.into_inner());
            node.tick();
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/control") => {
                    let Ok(patch) = serde_json::from_slice::<Value>(&req.body) else {
                        return Response::Text(400, "body must be a JSON object\n".into());
                    };
                    if let Some(m) = patch.get("mode").and_then(Value::as_str) {
                        if !["synced", "syncing", "down", "starting", "migrating"].contains(&m) {
                            return Response::Text(400, format!("unknown mode {m:?}\n"));
                        }
                        node.mode = m.to_string();
                    }
                    if let Some(h) = patch.get("height").and_then(Value::as_u64) {
                        node.height = h;
                    }
                    if let Some(t) = patch.get("tip_height").and_then(Value::as_u64) {
                        node.tip_height = t;
                    }
                    node.since = Instant::now();
                    Response::ok(node.status())
                }
                _ if node.mode == "down" => Response::Drop,
                ("GET", "/status") | ("GET", "/fake/info") => Response::ok(node.status()),
                // The real healthcheck is a process liveness check, deliberately not a sync
                // check (#35/#51): any answering node is healthy.
                ("GET" | "HEAD", "/health") => {
                    Response::ok(json!({"service": "tari", "healthy": true}))
                }
                _ => Response::not_found(),
            }
        }
    })
    .await
}
