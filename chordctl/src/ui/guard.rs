//! Who may use the live view: the checks every request passes before it is
//! served. Pure, so each rule is a unit test.
//!
//! The page can put and delete keys, so a request is refused unless:
//! - its `Host` names this server: `localhost`, a loopback address or the
//!   listen address, with the listen port. A DNS-rebinding page (an
//!   attacker's name that resolves to 127.0.0.1) sends its own name as
//!   `Host`, and is stopped here;
//! - a write (`POST`) carries `Content-Type: application/json`, which a
//!   cross-site form cannot send without a CORS preflight (never granted),
//!   and an `Origin`, when present, that is this very server.
//!
//! With `--public` any `Host` is accepted (the server cannot know the names
//! it is reached by); the `POST` rules still hold.

use std::net::{IpAddr, SocketAddr};

/// Why a request was refused, for the 403 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The request headers the checks read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `Host`.
    pub host: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
}

/// Where the server listens and whether it was asked to be public.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// The bound address (the real port, even when 0 was asked).
    pub addr: SocketAddr,
    /// `--public`: any `Host` is accepted.
    pub public: bool,
}

impl Bound {
    /// Checks a request; `write` is true for requests that change data.
    pub fn check(&self, headers: &Headers<'_>, write: bool) -> Result<(), Refused> {
        let host = headers
            .host
            .ok_or_else(|| Refused("no Host header".into()))?;
        if !self.public && !self.host_is_local(host) {
            return Err(Refused(format!(
                "Host {host:?} is not this server (use http://{}/)",
                self.addr
            )));
        }
        if !write {
            return Ok(());
        }
        let json = headers
            .content_type
            .and_then(|c| c.split(';').next())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Refused("writes must be sent as application/json".into()));
        }
        match headers.origin {
            Some(origin) if origin != format!("http://{host}") => {
                Err(Refused(format!("Origin {origin:?} is not this server")))
            }
            _ => Ok(()),
        }
    }

    /// Whether `host` (`name[:port]`) is a local name of this server with
    /// its port.
    fn host_is_local(&self, host: &str) -> bool {
        let (name, port) = split_host(host);
        let port_ok = match port {
            Some(p) => p == Some(self.addr.port()),
            None => self.addr.port() == 80,
        };
        let name_ok = name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip == self.addr.ip());
        port_ok && name_ok
    }
}

/// `name[:port]` or `[v6]:port` as the name and, when given, the port
/// (`Some(None)` for a port that is not a number).
fn split_host(host: &str) -> (&str, Option<Option<u16>>) {
    if let Some(rest) = host.strip_prefix('[') {
        let Some((name, after)) = rest.split_once(']') else {
            return (host, None);
        };
        return match after.strip_prefix(':') {
            Some(port) => (name, Some(port.parse().ok())),
            None => (name, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port.parse().ok())),
        None => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(addr: &str, public: bool) -> Bound {
        Bound {
            addr: addr.parse().unwrap(),
            public,
        }
    }

    fn read(host: &str) -> Headers<'_> {
        Headers {
            host: Some(host),
            ..Headers::default()
        }
    }

    #[test]
    fn only_local_names_with_the_listen_port_pass() {
        let b = bound("127.0.0.1:8080", false);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
        ] {
            assert_eq!(b.check(&read(ok), false), Ok(()), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:9090",
            "127.0.0.1",
            "localhost:x",
            "[::1",
            "10.0.0.1:8080",
        ] {
            assert!(b.check(&read(bad), false).is_err(), "{bad}");
        }
        assert!(b.check(&Headers::default(), false).is_err(), "no Host");
        // Port 80 may be left out, as browsers do.
        assert!(bound("127.0.0.1:80", false)
            .check(&read("localhost"), false)
            .is_ok());
    }

    #[test]
    fn public_accepts_any_host_and_the_listen_address_is_local() {
        let b = bound("0.0.0.0:8080", true);
        assert!(b.check(&read("box.lan:8080"), false).is_ok());
        let b = bound("192.168.1.5:8080", false);
        assert!(b.check(&read("192.168.1.5:8080"), false).is_ok());
    }

    #[test]
    fn writes_need_json_and_a_matching_origin() {
        let b = bound("127.0.0.1:8080", false);
        let write = |content_type, origin| Headers {
            host: Some("127.0.0.1:8080"),
            origin,
            content_type,
        };
        assert!(b
            .check(&write(Some("application/json"), None), true)
            .is_ok());
        assert!(b
            .check(
                &write(
                    Some("application/json; charset=utf-8"),
                    Some("http://127.0.0.1:8080")
                ),
                true
            )
            .is_ok());
        assert!(b.check(&write(Some("text/plain"), None), true).is_err());
        assert!(b.check(&write(None, None), true).is_err());
        let cross = write(Some("application/json"), Some("http://evil.example"));
        assert!(b.check(&cross, true).is_err());
        // The same headers on a read pass: reads change nothing.
        assert!(b.check(&write(Some("text/plain"), None), false).is_ok());
    }
}
