//! Layer compression: detection by magic bytes when reading, fixed settings when writing
//! so the same tar always compresses to the same bytes.

use std::fmt;
use std::io::{self, Chain, Cursor, Read, Write};

use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::GzBuilder;
use oci_spec::image::MediaType;

/// gzip level used for every layer we write (zlib's default trade-off).
const GZIP_LEVEL: u32 = 6;
/// zstd level used for every layer we write (zstd's default).
const ZSTD_LEVEL: i32 = 3;

/// How a layer tar is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip, the default: every registry and runtime accepts it.
    #[default]
    Gzip,
    /// zstd: smaller and faster, but not accepted everywhere (never in Docker v2.2
    /// manifests).
    Zstd,
}

impl Compression {
    /// The OCI layer media type for this compression.
    pub fn media_type(self) -> MediaType {
        match self {
            Compression::None => MediaType::ImageLayer,
            Compression::Gzip => MediaType::ImageLayerGzip,
            Compression::Zstd => MediaType::ImageLayerZstd,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// What the first bytes of a stream say it is.
pub(crate) enum Detected {
    Known(Compression),
    /// A compression format layers do not use; the name, for the error message.
    Unsupported(&'static str),
}

fn detect(magic: &[u8]) -> Detected {
    match magic {
        [0x1f, 0x8b, ..] => Detected::Known(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Detected::Known(Compression::Zstd),
        [b'B', b'Z', b'h', ..] => Detected::Unsupported("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Detected::Unsupported("xz"),
        _ => Detected::Known(Compression::None),
    }
}

type Peeked<R> = Chain<Cursor<Vec<u8>>, R>;

/// A decompressing reader over a layer blob.
pub(crate) enum Decoder<R: Read> {
    Plain(Peeked<R>),
    Gzip(Box<MultiGzDecoder<io::BufReader<Peeked<R>>>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, io::BufReader<Peeked<R>>>>),
}

impl<R: Read> Decoder<R> {
    /// Sniffs the compression from the first bytes and wraps `reader` accordingly.
    pub(crate) fn new(mut reader: R) -> io::Result<(Self, Detected)> {
        let mut magic = Vec::with_capacity(6);
        (&mut reader).take(6).read_to_end(&mut magic)?;
        let detected = detect(&magic);
        let peeked = Cursor::new(magic).chain(reader);
        let decoder = match detected {
            Detected::Known(Compression::Gzip) => {
                Decoder::Gzip(Box::new(MultiGzDecoder::new(io::BufReader::new(peeked))))
            }
            Detected::Known(Compression::Zstd) => Decoder::Zstd(Box::new(
                zstd::stream::read::Decoder::with_buffer(io::BufReader::new(peeked))?,
            )),
            Detected::Known(Compression::None) | Detected::Unsupported(_) => Decoder::Plain(peeked),
        };
        Ok((decoder, detected))
    }
}

impl<R: Read> Decoder<R> {
    /// Reads the compressed input to its end (after the decompressed stream has been
    /// read to its end), so a digest-verifying input sees its last byte.
    pub(crate) fn drain_input(self) -> io::Result<()> {
        match self {
            Decoder::Plain(mut r) => io::copy(&mut r, &mut io::sink()).map(drop),
            Decoder::Gzip(r) => io::copy(&mut r.into_inner(), &mut io::sink()).map(drop),
            Decoder::Zstd(r) => io::copy(&mut r.finish(), &mut io::sink()).map(drop),
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

/// A compressing writer with reproducible settings.
pub(crate) enum Encoder<W: Write> {
    Plain(W),
    Gzip(GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    pub(crate) fn new(inner: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(inner),
            // No file name, no comment, mtime 0, fixed OS byte: the header never varies.
            Compression::Gzip => Encoder::Gzip(
                GzBuilder::new()
                    .mtime(0)
                    .operating_system(255)
                    .write(inner, flate2::Compression::new(GZIP_LEVEL)),
            ),
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(inner, ZSTD_LEVEL)?;
                enc.include_checksum(true)?;
                Encoder::Zstd(enc)
            }
        })
    }

    /// Writes the trailer and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(w) => w.finish(),
            Encoder::Zstd(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Compression) {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
        let mut enc = Encoder::new(Vec::new(), c).unwrap();
        enc.write_all(&data).unwrap();
        let compressed = enc.finish().unwrap();
        let (mut dec, detected) = Decoder::new(&compressed[..]).unwrap();
        assert!(matches!(detected, Detected::Known(d) if d == c));
        let mut back = Vec::new();
        dec.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);

        // Same input, same bytes.
        let mut enc = Encoder::new(Vec::new(), c).unwrap();
        enc.write_all(&data).unwrap();
        assert_eq!(enc.finish().unwrap(), compressed);
    }

    #[test]
    fn all_compressions_round_trip_reproducibly() {
        round_trip(Compression::None);
        round_trip(Compression::Gzip);
        round_trip(Compression::Zstd);
    }

    #[test]
    fn gzip_header_has_no_time_or_name() {
        let enc = Encoder::new(Vec::new(), Compression::Gzip).unwrap();
        let out = enc.finish().unwrap();
        assert_eq!(
            &out[..4],
            &[0x1f, 0x8b, 8, 0],
            "no FNAME/FCOMMENT/FEXTRA flags"
        );
        assert_eq!(&out[4..8], &[0, 0, 0, 0], "mtime 0");
    }

    #[test]
    fn detection() {
        assert!(matches!(detect(b"BZh91AY"), Detected::Unsupported("bzip2")));
        assert!(matches!(
            detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
            Detected::Unsupported("xz")
        ));
        assert!(matches!(detect(b""), Detected::Known(Compression::None)));
        assert!(matches!(
            detect(b"\x1f"),
            Detected::Known(Compression::None)
        ));
        let (mut short, _) = Decoder::new(&b"ab"[..]).unwrap();
        let mut out = Vec::new();
        short.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab");
        assert_eq!(Compression::Zstd.media_type(), MediaType::ImageLayerZstd);
        assert_eq!(Compression::default(), Compression::Gzip);
    }
}
