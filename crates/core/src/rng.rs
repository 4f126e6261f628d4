//! The run's seed and its text forms. Every nondeterministic input of a run (the walk, fuzzed
//! values, simulated timings) is drawn from one 32-byte ChaCha seed, so the same seed and model
//! give the same journal.

use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A 32-byte seed, written as 64 hex characters. A plain integer is accepted too and expands
/// to the seed with that integer in its first eight bytes (little-endian), so `--seed 7` is
/// short to type and still a full seed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// A seed from an integer.
    pub fn from_u64(n: u64) -> Seed {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&n.to_le_bytes());
        Seed(b)
    }

    /// A fresh seed from the operating system's randomness.
    pub fn random() -> Seed {
        let mut b = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut b);
        Seed(b)
    }

    /// The generator for one named purpose. Deriving a stream per purpose keeps them
    /// independent: drawing more walk choices never shifts the simulated timings.
    pub fn rng(&self, purpose: &str) -> ChaCha8Rng {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(purpose.as_bytes());
        ChaCha8Rng::from_seed(h.finalize().into())
    }
}

impl Seed {
    /// The full seed, 64 hex characters (the plan JSON's contract form).
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The integer a seed was made from ([`Seed::from_u64`]), when it was.
    pub fn as_u64(&self) -> Option<u64> {
        self.0[8..].iter().all(|b| *b == 0).then(|| {
            let mut n = [0u8; 8];
            n.copy_from_slice(&self.0[..8]);
            u64::from_le_bytes(n)
        })
    }
}

impl fmt::Display for Seed {
    /// The short form a seed was typed as (`1`), else 64 hex characters; both parse back to
    /// the same seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_u64() {
            Some(n) => write!(f, "{n}"),
            None => f.write_str(&self.hex()),
        }
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed({self})")
    }
}

/// Why a seed text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad seed '{0}': give 64 hex characters or a non-negative integer")]
pub struct SeedError(pub String);

impl FromStr for Seed {
    type Err = SeedError;
    fn from_str(s: &str) -> Result<Seed, SeedError> {
        let t = s.trim();
        if t.len() == 64 {
            let mut b = [0u8; 32];
            hex::decode_to_slice(t, &mut b).map_err(|_| SeedError(s.into()))?;
            return Ok(Seed(b));
        }
        t.parse::<u64>()
            .map(Seed::from_u64)
            .map_err(|_| SeedError(s.into()))
    }
}

impl serde::Serialize for Seed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Seed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Seed, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn a_short_seed_is_shown_short_and_is_the_same_seed() {
        let one: Seed = "1".parse().unwrap();
        assert_eq!(one.to_string(), "1");
        // The ChaCha seed is today's: the integer in the first eight bytes.
        let hex = format!("01{}", "0".repeat(62));
        assert_eq!(hex.parse::<Seed>().unwrap(), one);
        assert_eq!(one.to_string().parse::<Seed>().unwrap(), one);
        let long = Seed([7u8; 32]);
        assert_eq!(long.to_string().len(), 64);
        assert_eq!(long.to_string().parse::<Seed>().unwrap(), long);
    }

    #[test]
    fn text_forms_round_trip() {
        let s = Seed::from_u64(7);
        assert_eq!(s.to_string(), "7");
        assert_eq!(s.to_string().parse::<Seed>().unwrap(), s);
        assert_eq!("7".parse::<Seed>().unwrap(), s);
        assert!("xyz".parse::<Seed>().is_err());
        assert!("-1".parse::<Seed>().is_err());
        assert!("ab".repeat(31).parse::<Seed>().is_err());
    }

    #[test]
    fn streams_are_deterministic_and_independent() {
        let s = Seed::from_u64(1);
        let a: u64 = s.rng("walk").random();
        let b: u64 = s.rng("walk").random();
        let c: u64 = s.rng("sim").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
