//! Keys in URLs: a key is exactly one percent-encoded path segment of
//! `/kv/{key}`. Clients encode with [`encode_key`], the node decodes with
//! [`decode_key`], and both sides use the same rules.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Longest key accepted, in bytes after percent-decoding.
pub const MAX_KEY_BYTES: usize = 1024;

/// Bytes left as they are in a key's path segment: RFC 3986 "unreserved".
/// Everything else, `/` included, is percent-encoded so that the key is
/// exactly one segment.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a key as one URL path segment.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_SEGMENT).to_string()
}

/// Why a key segment was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Empty, a bad `%` escape, or not UTF-8 (400).
    Invalid(&'static str),
    /// Over [`MAX_KEY_BYTES`] (414).
    TooLong,
}

/// Decodes one percent-encoded path segment into a key.
///
/// Stricter than a plain percent-decoder: a `%` not followed by two hex
/// digits is an error rather than a literal `%`, so two spellings can never
/// name the same key by accident.
pub fn decode_key(seg: &str) -> Result<String, KeyError> {
    if seg.contains('/') {
        return Err(KeyError::Invalid(
            "the key must be one path segment (encode '/' as %2F)",
        ));
    }
    let b = seg.as_bytes();
    let escapes_ok = b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| {
            b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        });
    if !escapes_ok {
        return Err(KeyError::Invalid("bad percent-escape in key"));
    }
    let out: Vec<u8> = percent_decode_str(seg).collect();
    if out.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong);
    }
    if out.is_empty() {
        return Err(KeyError::Invalid("the key must not be empty"));
    }
    String::from_utf8(out).map_err(|_| KeyError::Invalid("the key is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_segment() {
        assert_eq!(encode_key("user:1"), "user%3A1");
        assert_eq!(encode_key("a/b"), "a%2Fb");
        assert_eq!(encode_key("a b?c#d%"), "a%20b%3Fc%23d%25");
        assert_eq!(encode_key("Az09-._~"), "Az09-._~");
        assert_eq!(encode_key("é"), "%C3%A9");
    }

    #[test]
    fn keys_decode() {
        assert_eq!(decode_key("user%3A1").unwrap(), "user:1");
        assert_eq!(decode_key("a%2Fb").unwrap(), "a/b");
        assert_eq!(decode_key("%E3%83%A6").unwrap(), "ユ");
        assert!(matches!(decode_key(""), Err(KeyError::Invalid(_))));
        assert!(matches!(decode_key("%zz"), Err(KeyError::Invalid(_))));
        assert!(matches!(decode_key("%4"), Err(KeyError::Invalid(_))));
        assert!(matches!(decode_key("a%"), Err(KeyError::Invalid(_))));
        assert!(matches!(decode_key("%ff%fe"), Err(KeyError::Invalid(_))));
        assert!(matches!(decode_key("a/b"), Err(KeyError::Invalid(_))));
        assert_eq!(decode_key(&"k".repeat(1024)).unwrap().len(), 1024);
        assert_eq!(decode_key(&"k".repeat(1025)), Err(KeyError::TooLong));
        assert_eq!(decode_key(&"%41".repeat(1025)), Err(KeyError::TooLong));
    }

    #[test]
    fn encoding_then_decoding_gives_the_key_back() {
        for key in ["user:1", "a/b/../c", "50%", "ユーザー", "sp ace", "~x-y_z."] {
            assert_eq!(decode_key(&encode_key(key)).unwrap(), key);
        }
    }
}
