//! Decimal numbers written without `core::fmt`, for the hand-written wire
//! texts (an HTTP `Content-Length`, a JSON number): `write!` costs a few
//! hundred instructions a number, this a few dozen.

/// Appends `n` in decimal digits to `out`.
pub fn push(out: &mut Vec<u8>, n: u64) {
    // itoa writes two digits per step from a table (serde_json's own
    // number writer): a digit at a time took three times the instructions.
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_written_in_full() {
        for n in [0, 7, 10, 99, 1234567, u64::MAX] {
            let mut out = b"x".to_vec();
            super::push(&mut out, n);
            assert_eq!(out, format!("x{n}").as_bytes());
        }
    }
}
