//! The fake daemons: one small HTTP server per Pithead service, each a process of this same
//! binary (`pithead-fake daemon <service> --port N`). They read their settings from the
//! environment the fake CLI gives them (the rendered .env plus `FAKE_*` ports), like a
//! container reads its interpolated environment, and exit promptly on SIGTERM or SIGINT.

pub mod dashboard;
pub mod failover;
pub mod monerod;
pub mod pool;
pub mod tari;

use std::future::Future;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::http::{self, Request, Response};

/// The services whose fake only answers a liveness probe (`GET /health`).
pub const IDLE_SERVICES: [&str; 6] = [
    "tor",
    "caddy",
    "docker-proxy",
    "docker-control",
    "wallet-rpc",
    "tari-wallet",
];

/// Runs the daemon for `service` on `port` until SIGTERM or SIGINT. It listens on
/// 127.0.0.1, or on `FAKE_BIND` (`0.0.0.0` in a mini-stack container).
pub fn run(service: &str, port: u16) -> Result<()> {
    let host = env_or("FAKE_BIND", "127.0.0.1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // Handlers first: a SIGTERM that arrives as soon as the port answers must end the
        // daemon cleanly, not kill it by the default disposition.
        let stop = Stop::install();
        let listener = http::bind(&host, port)
            .await
            .with_context(|| format!("{service}: cannot listen on {host}:{port}"))?;
        let started = Instant::now();
        match service {
            "monerod" => stop.until(monerod::serve(listener, started)).await,
            "tari" => stop.until(tari::serve(listener, started)).await,
            "p2pool" => stop.until(pool::serve_p2pool(listener, started)).await,
            "xmrig-proxy" => {
                // Pithead's xmrig-proxy args carry the token; the fake refuses to run without
                // one unless the `up-accepts-empty-token` fault let `up` start it anyway.
                if std::env::var("PROXY_AUTH_TOKEN").unwrap_or_default().is_empty()
                    && env_or("FAKE_ALLOW_EMPTY_PROXY_TOKEN", "0") != "1"
                {
                    bail!("xmrig-proxy: PROXY_AUTH_TOKEN is empty; refusing to start an unauthenticated control API");
                }
                stop.until(pool::serve_proxy(listener, started)).await
            }
            "dashboard" => stop.until(dashboard::serve(listener, started)).await,
            s if IDLE_SERVICES.contains(&s) => {
                stop.until(serve_idle(listener, s.to_string())).await
            }
            other => bail!("unknown fake service {other:?}"),
        }
        Ok(())
    })
}

/// SIGTERM and SIGINT handlers: PID 1 in a container gets no default signal handling, so the
/// daemon must end itself.
struct Stop {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Stop {
    fn install() -> Stop {
        use tokio::signal::unix::{SignalKind, signal};
        Stop {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    /// Races `server` against the signals.
    async fn until(self, server: impl Future<Output = ()>) {
        let Stop { mut term, mut int } = self;
        let term_fut = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let int_fut = async {
            match int.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = server => {}
            _ = term_fut => {}
            _ = int_fut => {}
        }
    }
}

/// tor, caddy and the others: alive or not, plus what they booted with.
async fn serve_idle(listener: tokio::net::TcpListener, service: String) {
    // Caddy reads its Caddyfile once at start; a changed file needs a restart (#1052), so
    // report what this process loaded.
    let caddy_site = if service == "caddy" {
        std::fs::read_to_string("Caddyfile")
            .ok()
            .and_then(|text| crate::render::caddy_site(&text))
    } else {
        None
    };
    http::serve(listener, move |req: Request| {
        let body = json!({
            "service": service,
            "healthy": true,
            "pid": std::process::id(),
            "site": caddy_site,
        });
        async move {
            match req.path.as_str() {
                "/health" | "/fake/info" => Response::ok(body),
                _ => Response::not_found(),
            }
        }
    })
    .await
}

/// An environment variable with a default.
pub(crate) fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// An environment variable parsed as a number, with a default.
pub(crate) fn env_num<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
