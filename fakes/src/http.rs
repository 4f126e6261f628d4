//! A deliberately small HTTP/1.1 server and client: one request per connection, plain TCP,
//! no TLS. The fakes need only GET/POST with JSON bodies, and a static binary for a
//! `FROM scratch` image is easiest without a web framework.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, `HEAD`, ...
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The raw body (empty for GET).
    pub body: Vec<u8>,
}

/// What a handler answers.
#[derive(Debug, Clone)]
pub enum Response {
    /// A status code and a JSON body.
    Json(u16, serde_json::Value),
    /// A status code and a plain-text body.
    Text(u16, String),
    /// Close the connection without answering: how a "down" daemon looks to a client.
    Drop,
}

impl Response {
    /// 200 with a JSON body.
    pub fn ok(value: serde_json::Value) -> Self {
        Response::Json(200, value)
    }
    /// 404 for an unknown path.
    pub fn not_found() -> Self {
        Response::Text(404, "not found\n".into())
    }
}

const MAX_REQUEST: usize = 1 << 20;

/// Binds 127.0.0.1:`port`, retrying for up to two seconds while the address is still held by
/// a process that is exiting (a recreate kills the old daemon and starts the new one at once).
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match TcpListener::bind((host, port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if std::time::Instant::now() >= deadline {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Serves `handler` on `listener` until the process ends.
pub async fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            let head = request.method == "HEAD";
            let response = handler(request).await;
            let (status, kind, body) = match response {
                Response::Drop => return,
                Response::Json(s, v) => (s, "application/json", v.to_string().into_bytes()),
                Response::Text(s, t) => (s, "text/plain", t.into_bytes()),
            };
            let mut out = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reason(status),
                body.len()
            )
            .into_bytes();
            if !head {
                out.extend_from_slice(&body);
            }
            let _ = stream.write_all(&out).await;
            let _ = stream.shutdown().await;
        });
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?;
    let path = target.split('?').next().unwrap_or("/").to_string();
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request { method, path, body })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A blocking request to 127.0.0.1:`port` (see [`request_to`]).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Option<(u16, String)> {
    request_to(
        SocketAddr::from(([127, 0, 0, 1], port)),
        method,
        path,
        body,
        timeout,
    )
}

/// A blocking request to `addr` (a container's address on the mini-stack). Returns the status and body, or `None` when the
/// daemon did not answer within `timeout` (refused, dropped, frozen).
pub fn request_to(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    parse_response(&raw)
}

/// The async twin of [`request`], for daemons that poll each other (`host` is 127.0.0.1 on
/// a fake box, a service name on the mini-stack's compose network).
pub async fn request_async(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Option<(u16, String)> {
    let fut = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        parse_response(&raw)
    };
    tokio::time::timeout(timeout, fut).await.ok().flatten()
}

/// Splits a raw HTTP response into its status and body.
pub fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, String::from_utf8_lossy(&raw[end + 4..]).to_string()))
}

/// GET `path` and parse the body as JSON; `None` on any failure or a non-200 answer.
pub async fn get_json(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Option<serde_json::Value> {
    let (status, body) = request_async(host, port, "GET", path, None, timeout).await?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&body).ok()
}
