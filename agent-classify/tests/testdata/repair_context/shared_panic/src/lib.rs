//! One bug, many failing tests: every percentage above 9 hits the same panic.

/// Parses "NN%" into a fraction of 100.
pub fn parse_percent(text: &str) -> u8 {
    let digits = text.trim_end_matches('%');
    let bytes = digits.as_bytes();
    // Bug: only one digit is read; a second digit indexes past the table.
    let table = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    let mut value = 0u8;
    for (i, b) in bytes.iter().enumerate() {
        value += table[(b - b'0') as usize * (i * 10 + 1)];
    }
    value
}

#[cfg(test)]
mod tests {
    use super::parse_percent;

    macro_rules! percent_cases {
        ($($name:ident: $n:expr,)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse_percent(&format!("{}%", $n)), $n);
            }
        )*};
    }

    percent_cases! {
        p05: 5, p11: 11, p12: 12, p13: 13, p14: 14, p15: 15, p16: 16, p17: 17, p18: 18, p19: 19,
        p21: 21, p22: 22, p23: 23, p24: 24, p25: 25, p26: 26, p27: 27, p28: 28, p29: 29, p31: 31,
        p32: 32, p33: 33, p34: 34, p35: 35, p36: 36, p37: 37, p38: 38, p39: 39, p41: 41, p42: 42,
        p43: 43, p44: 44, p45: 45, p46: 46, p47: 47, p48: 48, p49: 49, p51: 51, p52: 52, p53: 53,
    }
}
