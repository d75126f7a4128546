//! Single-use backup codes: random, shown once, stored only as keyed hashes
//! ([`crate::keys::Secrets::backup_code_hash`]).
//!
//! The format comes from `[mfa]`: alphabet (`base32`: Crockford's 32 characters
//! `0-9 a-z` without `i l o u`, or `digits`), length, and grouping for reading
//! (`k7m2q-9xdta`). Typing is forgiving: case, spaces and dashes are ignored, full-width
//! characters are folded, and for base32 the look-alikes `i l → 1` and `o → 0` are read
//! as Crockford intends.

use crate::config::MfaConfig;

const BASE32: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
const DIGITS: &[u8] = b"0123456789";

#[derive(Debug, Clone)]
pub struct CodeFormat {
    alphabet: &'static [u8],
    length: usize,
    group: usize,
}

impl CodeFormat {
    pub fn from_config(cfg: &MfaConfig) -> CodeFormat {
        CodeFormat {
            alphabet: if cfg.backup_code_alphabet == "digits" {
                DIGITS
            } else {
                BASE32
            },
            length: cfg.backup_code_length as usize,
            group: cfg.backup_code_group as usize,
        }
    }

    /// Bits of entropy per code.
    pub fn bits(&self) -> f64 {
        self.length as f64 * (self.alphabet.len() as f64).log2()
    }

    /// `n` new codes, grouped for display. Characters are drawn uniformly (rejection
    /// sampling, no modulo bias) from the system CSPRNG.
    pub fn generate(&self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.display(&self.random_code())).collect()
    }

    fn random_code(&self) -> String {
        let k = self.alphabet.len();
        let limit = 256 - 256 % k; // bytes below this map uniformly onto the alphabet
        let mut out = String::with_capacity(self.length);
        while out.len() < self.length {
            for b in crate::util::random_bytes(self.length * 2) {
                if (b as usize) < limit && out.len() < self.length {
                    out.push(self.alphabet[b as usize % k] as char);
                }
            }
        }
        out
    }

    /// A normalised code in groups joined by `-`.
    pub fn display(&self, code: &str) -> String {
        if self.group == 0 {
            return code.to_string();
        }
        code.as_bytes()
            .chunks(self.group)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The canonical form of what the user typed, if it can be a code of this format.
    pub fn normalize(&self, input: &str) -> Option<String> {
        if input.len() > 4 * self.length + 64 {
            return None;
        }
        let mut out = String::with_capacity(self.length);
        for c in input.chars().map(super::fold_fullwidth) {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let c = c.to_ascii_lowercase();
            let c = if self.alphabet == BASE32 {
                match c {
                    'i' | 'l' => '1',
                    'o' => '0',
                    c => c,
                }
            } else {
                c
            };
            if !c.is_ascii() || !self.alphabet.contains(&(c as u8)) {
                return None;
            }
            out.push(c);
        }
        (out.len() == self.length).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt() -> CodeFormat {
        CodeFormat::from_config(&MfaConfig::default())
    }

    #[test]
    fn default_format_has_ten_grouped_codes_of_fifty_bits() {
        let f = fmt();
        assert!(f.bits() >= 40.0);
        assert_eq!(f.bits(), 50.0);
        let codes = f.generate(10);
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11, "{c}");
            assert_eq!(&c[5..6], "-");
            assert_eq!(f.normalize(c).map(|n| f.display(&n)), Some(c.clone()));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn typing_is_forgiving_but_strict_on_content() {
        let f = fmt();
        assert_eq!(f.normalize(" K7M2Q 9XDTA "), Some("k7m2q9xdta".into()));
        assert_eq!(f.normalize("k7m2q-9xdta"), Some("k7m2q9xdta".into()));
        assert_eq!(
            f.normalize("ｋ７ｍ２ｑ－９ｘｄｔａ"),
            Some("k7m2q9xdta".into())
        );
        assert_eq!(
            f.normalize("ｋ７ｍ２ｑ９ｘｄｔａ"),
            Some("k7m2q9xdta".into())
        );
        assert_eq!(f.normalize("Lo0i1-22222"), Some("1001122222".into()));
        for bad in [
            "k7m2q",
            "k7m2q-9xdta-1",
            "k7m2q-9xdt!",
            "k7m2q-9xdtu",
            "",
            "ü7m2q9xdta",
        ] {
            assert_eq!(f.normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digits_format() {
        let f = CodeFormat::from_config(&MfaConfig {
            backup_code_alphabet: "digits".into(),
            backup_code_length: 13,
            backup_code_group: 4,
            ..Default::default()
        });
        assert!(f.bits() > 43.0);
        let c = &f.generate(1)[0];
        assert_eq!(c.len(), 13 + 3, "{c}");
        assert!(c.chars().all(|ch| ch.is_ascii_digit() || ch == '-'));
        assert_eq!(
            f.normalize("1234 5678 9012 3"),
            Some("1234567890123".into())
        );
        assert_eq!(f.normalize("1234 5678 9012 a"), None);
    }

    #[test]
    fn characters_are_roughly_uniform() {
        let f = fmt();
        let mut counts = [0usize; 32];
        for c in f.generate(2000) {
            for b in f.normalize(&c).unwrap().bytes() {
                counts[BASE32.iter().position(|&x| x == b).unwrap()] += 1;
            }
        }
        // 20000 draws, 625 expected per character.
        assert!(
            counts.iter().all(|&n| (450..800).contains(&n)),
            "{counts:?}"
        );
    }
}
