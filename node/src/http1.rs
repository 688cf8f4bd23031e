//! The HTTP/1.1 of internal calls, as bytes: a `POST` request written out,
//! and an answer's head read and its body's framing decided. No I/O here:
//! [`crate::conn_pool`] moves the bytes.
//!
//! Why not hyper's client connection: its dispatcher runs as a task of its
//! own per connection, and hands each request and answer over through
//! channels. On a 1-hop GET's entry node that cost about 17 k instructions
//! (callgrind: the connection task 12.7 k, the hand-over 4.1 k), about a
//! quarter of the entry's work. Internal calls need a small subset of
//! HTTP/1.1: one `POST` with a JSON body, one answer from a node of our own
//! (hyper's server under warp, which frames every answer of ours with
//! `Content-Length`). Most else an answer may legally use is read too (a
//! body delimited by the close, `1xx` heads before the answer); refused, as
//! no node sends them: any `Transfer-Encoding` (chunked), a switch of
//! protocols (101), more than `MAX_HEADERS` (32) header lines, a head over
//! [`MAX_HEAD`] bytes.

/// Header lines an answer may have; more is not an answer of ours.
const MAX_HEADERS: usize = 32;

/// Bytes an answer's head may take; more is not an answer of ours.
pub const MAX_HEAD: usize = 64 << 10;

/// A `POST {path}` request with a JSON `body`, complete: `host` is the
/// `Host` header, `auth` the `Authorization` header's value, if any. The
/// three are written as they are: the caller has checked that they hold no
/// line break (`crate::peer` parses every peer address and the key).
pub fn post(path: &str, host: &str, auth: Option<&[u8]>, body: &[u8]) -> Vec<u8> {
    debug_assert!(
        [path.as_bytes(), host.as_bytes(), auth.unwrap_or_default()]
            .iter()
            .all(|t| !t.contains(&b'\r') && !t.contains(&b'\n')),
        "a line break in a request head"
    );
    let mut out = Vec::with_capacity(128 + path.len() + host.len() + body.len());
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\n");
    if let Some(auth) = auth {
        out.extend_from_slice(b"authorization: ");
        out.extend_from_slice(auth);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-length: ");
    chord_proto::decimal::push(&mut out, body.len() as u64);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// How an answer's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// After this many bytes.
    Length(usize),
    /// When the peer closes the connection (no `Content-Length`).
    Close,
}

/// An answer's head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// An interim `1xx` head of this many bytes, to skip: the answer
    /// follows it.
    Interim(usize),
    /// The answer's head.
    Final {
        /// The status code.
        status: u16,
        /// Bytes the head took.
        len: usize,
        /// How the body ends.
        body: Framing,
        /// Whether the connection may carry another request afterwards.
        reusable: bool,
    },
}

/// Parses the answer head at the start of `buf`: `Ok(None)` while it is
/// incomplete, an error when it is not an HTTP/1 answer we can read.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err("answer head too large".to_string())
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP answer: {e}")),
    };
    let status = resp.code.unwrap_or_default();
    if status == 101 {
        return Err("the answer switches protocols".to_string());
    }
    if (100..200).contains(&status) {
        return Ok(Some(Head::Interim(len)));
    }
    let mut length = None;
    let (mut saw_close, mut saw_keep_alive) = (false, false);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            // Digits only (RFC 9110 8.6): Rust's parse would take a sign.
            let digits = h.value.trim_ascii();
            let n = std::str::from_utf8(digits)
                .ok()
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<usize>().ok())
                .ok_or("bad content-length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting content-length".to_string());
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked answers are not supported".to_string());
        } else if h.name.eq_ignore_ascii_case("connection") {
            saw_close |= has_token(h.value, b"close");
            saw_keep_alive |= has_token(h.value, b"keep-alive");
        }
    }
    // `close` anywhere wins; HTTP/1.0 closes unless it says keep-alive.
    let close = saw_close || (resp.version == Some(0) && !saw_keep_alive);
    // These answers have no body whatever their headers say (RFC 9112 6.3).
    let body = if status == 204 || status == 304 {
        Framing::Length(0)
    } else {
        match length {
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    Ok(Some(Head::Final {
        status,
        len,
        body,
        reusable: !close && body != Framing::Close,
    }))
}

/// Whether a comma-separated header value lists `token` (any case).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_is_one_complete_request() {
        let req = post(
            "/v2/chord/route",
            "node-3:7000",
            Some(b"Bearer k"),
            b"{\"a\":1}",
        );
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut parsed = httparse::Request::new(&mut headers);
        let len = match parsed.parse(&req).unwrap() {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("incomplete"),
        };
        assert_eq!(parsed.method, Some("POST"));
        assert_eq!(parsed.path, Some("/v2/chord/route"));
        let get = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.name == name)
                .map(|h| h.value.to_vec())
        };
        assert_eq!(get("host").unwrap(), b"node-3:7000");
        assert_eq!(get("authorization").unwrap(), b"Bearer k");
        assert_eq!(get("content-length").unwrap(), b"7");
        assert_eq!(&req[len..], b"{\"a\":1}");
        let bare = post("/x", "h:1", None, b"");
        assert!(bare.ends_with(b"content-length: 0\r\n\r\n"));
        assert!(!bare.windows(13).any(|w| w == b"authorization"));
    }

    #[test]
    fn a_head_gives_status_length_and_whether_the_connection_stays() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: x\r\n\r\nok";
        assert_eq!(
            parse_head(ok).unwrap(),
            Some(Head::Final {
                status: 200,
                len: ok.len() - 2,
                body: Framing::Length(2),
                reusable: true
            })
        );
        // Every byte short of the blank line is still incomplete.
        for cut in 0..ok.len() - 2 {
            assert_eq!(parse_head(&ok[..cut]).unwrap(), None, "cut at {cut}");
        }
        let closing = b"HTTP/1.1 413 X\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
        assert!(matches!(
            parse_head(closing).unwrap(),
            Some(Head::Final {
                status: 413,
                body: Framing::Length(5),
                reusable: false,
                ..
            })
        ));
        let old = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(matches!(
            parse_head(old).unwrap(),
            Some(Head::Final {
                reusable: false,
                ..
            })
        ));
        let both = b"HTTP/1.1 200 OK\r\nconnection: close\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n";
        assert!(
            matches!(
                parse_head(both).unwrap(),
                Some(Head::Final {
                    reusable: false,
                    ..
                })
            ),
            "close wins"
        );
        let old_kept = b"HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\ncontent-length: 0\r\n\r\n";
        assert!(matches!(
            parse_head(old_kept).unwrap(),
            Some(Head::Final { reusable: true, .. })
        ));
    }

    #[test]
    fn an_answer_without_a_length_ends_with_the_connection() {
        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        assert!(matches!(
            parse_head(head).unwrap(),
            Some(Head::Final {
                body: Framing::Close,
                reusable: false,
                ..
            })
        ));
        // But a 204 has no body, whatever it says.
        let empty = b"HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n";
        assert!(matches!(
            parse_head(empty).unwrap(),
            Some(Head::Final {
                body: Framing::Length(0),
                reusable: true,
                ..
            })
        ));
    }

    #[test]
    fn interim_heads_are_skipped_and_unreadable_answers_refused() {
        let cont = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n";
        assert_eq!(parse_head(cont).unwrap(), Some(Head::Interim(25)));
        for bad in [
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: \r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert!(parse_head(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        huge.resize(MAX_HEAD + 1, b'a');
        assert!(parse_head(&huge).is_err());
    }
}
