//! Digest and size checks done while content streams through.

use sha2::Digest as _;

/// Content did not match its descriptor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The descriptor's digest uses an algorithm other than sha256 and sha512.
    #[error("blob {digest}: unsupported digest algorithm; only sha256 and sha512 are supported")]
    UnsupportedAlgorithm {
        /// The digest as written.
        digest: String,
    },
    /// More bytes arrived than the descriptor's size.
    #[error("blob {digest} is larger than the {expected} bytes its descriptor says; the content is not what was referenced")]
    TooLarge {
        /// The expected digest.
        digest: String,
        /// The descriptor's size.
        expected: u64,
    },
    /// The content ended before the descriptor's size.
    #[error("blob {digest} has {actual} bytes, not the {expected} its descriptor says; the content is truncated or not what was referenced")]
    SizeMismatch {
        /// The expected digest.
        digest: String,
        /// The descriptor's size.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The content hashes to another digest.
    #[error("blob {expected} ({size} bytes) has digest {actual}; the content is corrupt or not what was referenced")]
    DigestMismatch {
        /// The expected digest.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
        /// Bytes received.
        size: u64,
    },
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

/// Hashes and counts content as it passes, then checks both against a descriptor.
pub(crate) struct Verifier {
    hasher: Hasher,
    algorithm: &'static str,
    digest: String,
    size: u64,
    seen: u64,
}

impl Verifier {
    /// A verifier for content with this digest and size.
    pub(crate) fn new(digest: &str, size: u64) -> Result<Self, VerifyError> {
        let (hasher, algorithm) = match digest.split_once(':') {
            Some(("sha256", _)) => (Hasher::Sha256(sha2::Sha256::new()), "sha256"),
            Some(("sha512", _)) => (Hasher::Sha512(sha2::Sha512::new()), "sha512"),
            _ => {
                return Err(VerifyError::UnsupportedAlgorithm {
                    digest: digest.to_owned(),
                })
            }
        };
        Ok(Self {
            hasher,
            algorithm,
            digest: digest.to_owned(),
            size,
            seen: 0,
        })
    }

    /// Feeds a chunk; fails as soon as the content is longer than expected.
    pub(crate) fn update(&mut self, chunk: &[u8]) -> Result<(), VerifyError> {
        self.seen = self.seen.saturating_add(chunk.len() as u64);
        if self.seen > self.size {
            return Err(VerifyError::TooLarge {
                digest: self.digest.clone(),
                expected: self.size,
            });
        }
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(chunk),
            Hasher::Sha512(h) => h.update(chunk),
        }
        Ok(())
    }

    /// Bytes fed so far.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    /// Checks size and digest at the end of the content.
    pub(crate) fn finish(self) -> Result<(), VerifyError> {
        if self.seen != self.size {
            return Err(VerifyError::SizeMismatch {
                digest: self.digest,
                expected: self.size,
                actual: self.seen,
            });
        }
        let hex = match self.hasher {
            Hasher::Sha256(h) => to_hex(&h.finalize()),
            Hasher::Sha512(h) => to_hex(&h.finalize()),
        };
        let actual = format!("{}:{hex}", self.algorithm);
        if actual != self.digest {
            return Err(VerifyError::DigestMismatch {
                expected: self.digest,
                actual,
                size: self.seen,
            });
        }
        Ok(())
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", to_hex(&sha2::Sha256::digest(bytes)))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn accepts_matching_content_in_any_chunking() {
        assert_eq!(sha256_digest(b"hello"), HELLO);
        let mut v = Verifier::new(HELLO, 5).expect("sha256");
        for chunk in [&b"he"[..], b"", b"llo"] {
            v.update(chunk).expect("within size");
        }
        assert_eq!(v.seen(), 5);
        v.finish().expect("matches");
    }

    #[test]
    fn rejects_wrong_size_and_digest() {
        let mut v = Verifier::new(HELLO, 4).expect("sha256");
        assert!(matches!(
            v.update(b"hello"),
            Err(VerifyError::TooLarge { expected: 4, .. })
        ));
        let mut v = Verifier::new(HELLO, 6).expect("sha256");
        v.update(b"hello").expect("within size");
        assert!(matches!(
            v.finish(),
            Err(VerifyError::SizeMismatch { actual: 5, .. })
        ));
        let mut v = Verifier::new(HELLO, 5).expect("sha256");
        v.update(b"jello").expect("within size");
        let err = v.finish().expect_err("corrupt");
        assert!(
            err.to_string()
                .starts_with(&format!("blob {HELLO} (5 bytes) has digest sha256:")),
            "{err}"
        );
        assert!(Verifier::new("md5:abc", 1).is_err());
        let sha512 = "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043";
        let mut v = Verifier::new(sha512, 5).expect("sha512");
        v.update(b"hello").expect("within size");
        v.finish().expect("sha512 matches");
    }
}
