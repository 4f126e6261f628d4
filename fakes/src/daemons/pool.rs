//! Fake p2pool and xmrig-proxy. p2pool reports the pool it was started with (read from
//! P2POOL_FLAGS like the real entrypoint, or `FAKE_POOL`) and accumulates hashes from its
//! start; xmrig-proxy accumulates connected workers from its start. Both reset on restart.

use std::time::Instant;

use serde_json::json;
use tokio::net::TcpListener;

use super::{env_num, env_or};
use crate::http::{self, Request, Response};

/// The pool named by a P2POOL_FLAGS value: `--mini`, `--nano`, or main when neither.
pub fn pool_from_flags(flags: &str) -> &'static str {
    let words: Vec<&str> = flags.split_whitespace().collect();
    if words.contains(&"--nano") {
        "nano"
    } else if words.contains(&"--mini") {
        "mini"
    } else {
        "main"
    }
}

/// The p2p port each pool's peers use; the dashboard's classifier reads it.
pub fn peer_port(pool: &str) -> u16 {
    match pool {
        "mini" => 37888,
        "nano" => 37890,
        _ => 37889,
    }
}

/// Serves the fake p2pool.
pub async fn serve_p2pool(listener: TcpListener, started: Instant) {
    let flags = env_or("P2POOL_FLAGS", "");
    let pool = std::env::var("FAKE_POOL").unwrap_or_else(|_| pool_from_flags(&flags).to_string());
    let rate: u64 = env_num("FAKE_HASHES_PER_MS", 100);
    http::serve(listener, move |req: Request| {
        let body = json!({
            "service": "p2pool",
            "pool": pool,
            "peer_port": peer_port(&pool),
            "flags": flags,
            "total_hashes": started.elapsed().as_millis() as u64 * rate,
            "uptime_ms": started.elapsed().as_millis() as u64,
        });
        async move {
            match req.path.as_str() {
                "/stats" | "/fake/info" | "/health" => Response::ok(body),
                _ => Response::not_found(),
            }
        }
    })
    .await
}

/// Serves the fake xmrig-proxy.
pub async fn serve_proxy(listener: TcpListener, started: Instant) {
    let workers: u64 = env_num("FAKE_WORKERS", 2);
    let ms_per_worker: u64 = env_num("FAKE_MS_PER_WORKER", 5).max(1);
    http::serve(listener, move |req: Request| {
        let elapsed = started.elapsed().as_millis() as u64;
        let body = json!({
            "service": "xmrig-proxy",
            "workers": (elapsed / ms_per_worker).min(workers),
            "uptime_ms": elapsed,
        });
        async move {
            match req.path.as_str() {
                "/summary" | "/fake/info" | "/health" => Response::ok(body),
                _ => Response::not_found(),
            }
        }
    })
    .await
}
