//! Reaching nodes directly, as `curl` would: free ports to publish on and
//! one-shot HTTP requests.

use std::net::TcpListener;
use std::time::Duration;

use super::block_on;

/// A free TCP port on `ip` (free when asked; the caller binds it right
/// after).
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .expect("binding a free port")
        .port()
}

/// One HTTP request to `addr` (`127.0.0.1:port`), as `curl` would send it:
/// the status code and the body (reqwest decodes a chunked one). The body,
/// if any, goes as JSON; no proxy from the environment is used, since the
/// nodes are on this machine.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let url = format!("http://{addr}{path}");
    let method =
        reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| format!("{method}: {e}"))?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("building an HTTP client: {}", chain(&e)))?;
    let request = client
        .request(method.clone(), &url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.unwrap_or_default().to_string());
    block_on(async {
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {}", chain(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| format!("reading the answer to {method} {url}: {}", chain(&e)))?;
        Ok((status, body))
    })
}

/// An error with its causes (reqwest's own message leaves out, say, the
/// refused connection underneath).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// `text` parsed as JSON, panicking with it if it is not.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
