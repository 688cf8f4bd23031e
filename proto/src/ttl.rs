//! A `PUT`'s time to live: the `X-Chord-TTL` header (`30s`, `5m`, `2h`, or
//! plain seconds) or the `ttl` query parameter (plain seconds).
//!
//! The owner turns it into an absolute expiry on its own clock when it
//! writes ([`crate::entry::Entry::expires_ms`]); every node then compares
//! that with its own clock, so expiry is exact only up to the clock skew
//! between nodes (and an expired copy is purged by the next sweep).

/// Most digits a TTL may have: up to 99 999 999 of its unit (over 11 000
/// years in hours), which keeps the expiry far inside the clock's range.
pub const MAX_DIGITS: usize = 8;

/// The header carrying a TTL.
pub const HEADER: &str = "x-chord-ttl";

/// Why a TTL was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtlError(pub String);

impl std::fmt::Display for TtlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TtlError {}

/// Reads a TTL in ms from `text`: 1 to [`MAX_DIGITS`] digits without a
/// leading zero, optionally followed by one unit `s`, `m` or `h` (`30`,
/// `30s`, `5m`, `2h`).
pub fn parse(text: &str) -> Result<u64, TtlError> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c @ ('s' | 'm' | 'h'))) => (&t[..i], c),
        _ => (t, 's'),
    };
    let bad = || {
        TtlError(format!(
            "TTL {text:?}: give whole seconds, optionally with a unit: 30, 30s, 5m, 2h"
        ))
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if digits.starts_with('0') || digits.len() > MAX_DIGITS {
        return Err(TtlError(format!(
            "TTL {text:?} is out of range: 1 to {MAX_DIGITS} digits, no leading zero"
        )));
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        'h' => 3_600_000,
        'm' => 60_000,
        _ => 1000,
    };
    // At most 99 999 999 h, about 3.6e14 ms: no overflow.
    Ok(n * unit_ms)
}

/// Reads the `ttl` parameter (plain seconds) of a raw query string, if
/// there is one; other parameters are left alone. Refused: a `ttl` given
/// twice, or one that is not whole seconds in range.
pub fn from_query(query: &str) -> Result<Option<u64>, TtlError> {
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "ttl" {
            continue;
        }
        if found.is_some() {
            return Err(TtlError("the ttl parameter is given twice".to_string()));
        }
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TtlError(format!(
                "ttl={value:?}: the parameter is whole seconds (the X-Chord-TTL header also takes s/m/h)"
            )));
        }
        found = Some(parse(value)?);
    }
    Ok(found)
}

/// The TTL of a `PUT` from its header and raw query string, in ms (`None`:
/// the value never expires). Both are checked; when both are given the
/// header's counts (one rule a client can rely on, where refusing the pair
/// could not be stated in the OpenAPI contract).
pub fn of_request(header: Option<&str>, query: Option<&str>) -> Result<Option<u64>, TtlError> {
    let from_query = from_query(query.unwrap_or(""))?;
    match header {
        Some(h) => parse(h).map(Some),
        None => Ok(from_query),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_take_units_and_plain_seconds() {
        assert_eq!(parse("30"), Ok(30_000));
        assert_eq!(parse("30s"), Ok(30_000));
        assert_eq!(parse(" 5m "), Ok(300_000));
        assert_eq!(parse("2h"), Ok(7_200_000));
        assert_eq!(parse("1"), Ok(1000));
        assert_eq!(parse("99999999h"), Ok(99_999_999 * 3_600_000));
        for bad in [
            "",
            "s",
            "0",
            "0s",
            "-1",
            "+1",
            "1.5",
            "1d",
            "10ms",
            "1 s",
            "1S",
            "abc",
            "01",
            "999999999",
            "100000000h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_query_parameter_is_plain_seconds_and_only_one_source_counts() {
        assert_eq!(from_query(""), Ok(None));
        assert_eq!(from_query("a=1&ttl=30"), Ok(Some(30_000)));
        assert!(from_query("ttl=30s").is_err(), "units are the header's");
        assert!(from_query("ttl=").is_err());
        assert!(from_query("ttl").is_err());
        assert!(from_query("ttl=1&ttl=2").is_err());
        assert_eq!(of_request(Some("1m"), None), Ok(Some(60_000)));
        assert_eq!(of_request(None, Some("ttl=2")), Ok(Some(2000)));
        assert_eq!(of_request(None, None), Ok(None));
        // Both: the header counts, but a bad parameter is still refused.
        assert_eq!(of_request(Some("1m"), Some("ttl=2")), Ok(Some(60_000)));
        assert!(of_request(Some("1m"), Some("ttl=0")).is_err());
        assert!(of_request(Some("soon"), None).is_err());
    }
}
