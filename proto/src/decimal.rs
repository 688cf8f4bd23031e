//! Decimal numbers written without `core::fmt`, for the hand-written wire
//! texts (an HTTP `Content-Length`, a JSON number): `write!` costs a few
//! hundred instructions a number, this loop a few dozen.

/// Appends `n` in decimal digits to `out`.
pub fn push(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
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
