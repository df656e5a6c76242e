//! SHA-256 while streaming: a hasher that also counts bytes, and reader/writer wrappers
//! that feed it, so no caller ever needs a whole blob in memory to know its digest.
//!
//! Digests themselves are [`oci_spec::image::Digest`]; this module only produces them.

use std::io::{self, Read, Write};

use oci_spec::image::{Digest, DigestAlgorithm, Sha256Digest};
use sha2::Digest as _;
use sha2::Sha256;

/// Running SHA-256 over a stream, with the number of bytes seen.
#[derive(Clone, Default)]
pub(crate) struct Hasher {
    sha: Sha256,
    len: u64,
}

impl Hasher {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes hashed so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The digest of everything hashed, and its length.
    pub(crate) fn finish(self) -> (Digest, u64) {
        let bytes = self.sha.finalize();
        (sha256_digest_from_bytes(&bytes), self.len)
    }
}

/// `sha256:<hex>` from the 32 raw bytes of a SHA-256 sum.
fn sha256_digest_from_bytes(bytes: &[u8]) -> Digest {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    // Not input-dependent: 64 lowercase hex digits are a valid SHA-256 digest by the
    // definition oci-spec checks.
    hex.parse::<Sha256Digest>()
        .expect("64 lowercase hex digits form a valid sha256 digest")
        .into()
}

/// The hex part of a SHA-256 digest, or `None` for any other algorithm.
///
/// oci-spec guarantees a `sha256` digest is exactly 64 lowercase hex characters, so the
/// result is safe to use as a file name.
pub(crate) fn sha256_hex(digest: &Digest) -> Option<&str> {
    match digest.algorithm() {
        DigestAlgorithm::Sha256 => Some(digest.digest()),
        _ => None,
    }
}

/// Hashes everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Hasher::new(),
        }
    }

    /// Reads and hashes whatever is left, then returns the digest and total length.
    #[cfg(test)]
    pub(crate) fn drain(self) -> io::Result<(Digest, u64)> {
        self.drain_with(|_| Ok(()))
    }

    /// Reads and hashes whatever is left, then hands the inner reader to `finish` (to read
    /// what lies beneath it to its end, say).
    pub(crate) fn drain_with(
        mut self,
        finish: impl FnOnce(R) -> io::Result<()>,
    ) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        finish(self.inner)?;
        Ok(self.hasher.finish())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes everything written through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Hasher::new(),
        }
    }

    /// The inner writer, and the digest and length of what went through.
    pub(crate) fn finish(self) -> (W, Digest, u64) {
        let (digest, len) = self.hasher.finish();
        (self.inner, digest, len)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let (d, n) = Hasher::new().finish();
        assert_eq!(n, 0);
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut h = Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        let (d, n) = h.finish();
        assert_eq!(n, 3);
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(&d), Some(d.digest()));
    }

    #[test]
    fn reader_and_writer_agree() {
        let data = vec![7u8; 100_000];
        let (d1, n1) = HashingReader::new(&data[..]).drain().unwrap();
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(&data).unwrap();
        let (out, d2, n2) = w.finish();
        assert_eq!((d1, n1), (d2, n2));
        assert_eq!(out, data);
    }

    #[test]
    fn other_algorithms_have_no_hex_path() {
        let d: Digest = format!("sha512:{}", "a".repeat(128)).parse().unwrap();
        assert_eq!(sha256_hex(&d), None);
    }
}
