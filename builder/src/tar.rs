//! The tar format, streamed: a reader that never trusts a header and a writer that emits
//! deterministic POSIX (ustar + PAX) archives.
//!
//! The reader understands ustar, GNU (`L`/`K` long names, base-256 numbers) and PAX
//! (`x` local headers; `g` global headers are read and ignored, as Docker does). Every
//! extension header is bounded by [`MAX_EXTENSION_SIZE`] before anything is allocated,
//! entry data is never buffered, and every numeric field is checked.
//!
//! The writer emits a plain ustar header, preceded by a PAX header only when a value
//! does not fit (long names, large sizes or ids) or xattrs must be carried. Owner names
//! and device fields are left empty or zero, so the output depends only on the entry.

use std::io::{self, Read, Write};

/// Size of a tar block.
pub(crate) const BLOCK: u64 = 512;

/// Largest PAX or GNU long-name payload accepted (real ones are a few hundred bytes).
pub(crate) const MAX_EXTENSION_SIZE: u64 = 1 << 20;

/// Extended attributes: (name, value) pairs.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// The kinds of entry a layer can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
    /// Any other type flag (GNU sparse `S`, vendor extensions, ...).
    Other(u8),
}

impl EntryKind {
    fn from_flag(flag: u8) -> Self {
        match flag {
            b'0' | b'\0' | b'7' => EntryKind::File,
            b'1' => EntryKind::HardLink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'5' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            other => EntryKind::Other(other),
        }
    }

    fn flag(self) -> u8 {
        match self {
            EntryKind::File => b'0',
            EntryKind::HardLink => b'1',
            EntryKind::Symlink => b'2',
            EntryKind::CharDevice => b'3',
            EntryKind::BlockDevice => b'4',
            EntryKind::Directory => b'5',
            EntryKind::Fifo => b'6',
            EntryKind::Other(flag) => flag,
        }
    }

    /// Types whose size field is ignored: they never carry data (as Go's archive/tar,
    /// and so Docker, read them).
    fn header_only(self) -> bool {
        matches!(
            self,
            EntryKind::HardLink
                | EntryKind::Symlink
                | EntryKind::CharDevice
                | EntryKind::BlockDevice
                | EntryKind::Directory
                | EntryKind::Fifo
        )
    }
}

/// One archive member, as read or to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) kind: EntryKind,
    /// The member name, raw bytes, without a trailing `/` for directories.
    pub(crate) path: Vec<u8>,
    /// Link target for symlinks and hard links.
    pub(crate) link: Vec<u8>,
    /// Permission bits (`0o7777`).
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: i64,
    /// Sub-second part of `mtime` (PAX only; the writer ignores it).
    pub(crate) mtime_nsec: u32,
    /// Bytes of data (regular files only).
    pub(crate) size: u64,
    pub(crate) dev_major: u32,
    pub(crate) dev_minor: u32,
    /// Extended attributes (PAX `SCHILY.xattr.*`), in archive order.
    pub(crate) xattrs: Xattrs,
}

impl Entry {
    pub(crate) fn new(kind: EntryKind, path: Vec<u8>) -> Self {
        Self {
            kind,
            path,
            link: Vec::new(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            mtime_nsec: 0,
            size: 0,
            dev_major: 0,
            dev_minor: 0,
            xattrs: Vec::new(),
        }
    }

    /// The name for messages.
    pub(crate) fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// What can be wrong with an archive.
#[derive(Debug)]
pub(crate) enum TarError {
    Io(io::Error),
    /// The stream ended inside a header or an entry's data.
    Truncated {
        offset: u64,
    },
    /// A header block's checksum does not match.
    BadChecksum {
        offset: u64,
    },
    /// A header field is not a valid number.
    BadField {
        offset: u64,
        field: &'static str,
    },
    /// A PAX or GNU long-name header announces more data than we accept.
    ExtensionTooLarge {
        offset: u64,
        name: String,
        size: u64,
    },
    /// A PAX record is malformed.
    BadPax {
        offset: u64,
        reason: &'static str,
    },
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        TarError::Io(e)
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// Reads entries one at a time; the data of the current entry is read through
/// [`TarReader::data`] (what is not read is skipped by the next call to `next`).
pub(crate) struct TarReader<R> {
    inner: R,
    offset: u64,
    remaining: u64,
    padding: u64,
    ended: bool,
}

impl<R: Read> TarReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            ended: false,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Fills `buf` completely; `Ok(false)` when the stream ended before its first byte.
    fn read_block(&mut self, buf: &mut [u8; BLOCK as usize]) -> Result<bool, TarError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => {
                    return Err(TarError::Truncated {
                        offset: self.offset,
                    })
                }
                Ok(n) => {
                    filled += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    fn skip(&mut self, count: u64) -> Result<(), TarError> {
        let copied = io::copy(&mut (&mut self.inner).take(count), &mut io::sink())?;
        self.offset += copied;
        if copied != count {
            return Err(TarError::Truncated {
                offset: self.offset,
            });
        }
        Ok(())
    }

    /// Reads an extension header's payload (already checked against the limit).
    fn read_payload(&mut self, size: u64) -> Result<Vec<u8>, TarError> {
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let got = (&mut self.inner).take(size).read_to_end(&mut data)?;
        self.offset += got as u64;
        if got as u64 != size {
            return Err(TarError::Truncated {
                offset: self.offset,
            });
        }
        self.skip(padding(size))?;
        Ok(data)
    }

    /// The next entry, or `None` at the end of the archive.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.ended {
            return Ok(None);
        }
        let rest = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        self.skip(rest)?;

        let mut pax: Xattrs = Vec::new();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        loop {
            let start = self.offset;
            let mut block = [0u8; BLOCK as usize];
            if !self.read_block(&mut block)? || block.iter().all(|&b| b == 0) {
                // End of archive (a lone zero block, or end of stream at a boundary, as
                // Go's reader accepts too).
                self.ended = true;
                return Ok(None);
            }
            verify_checksum(&block, start)?;
            let flag = block[156];
            let size = numeric(&block[124..136], start, "size")?;
            match flag {
                b'x' | b'g' | b'L' | b'K' => {
                    if size > MAX_EXTENSION_SIZE {
                        return Err(TarError::ExtensionTooLarge {
                            offset: start,
                            name: String::from_utf8_lossy(cstr(&block[0..100])).into_owned(),
                            size,
                        });
                    }
                    let data = self.read_payload(size)?;
                    match flag {
                        b'x' => pax = parse_pax(&data, start)?,
                        b'g' => {
                            parse_pax(&data, start)?;
                        }
                        b'L' => long_name = Some(cstr(&data).to_vec()),
                        _ => long_link = Some(cstr(&data).to_vec()),
                    }
                }
                _ => {
                    let entry =
                        self.finish_entry(&block, start, size, &pax, long_name, long_link)?;
                    if !entry.kind.header_only() {
                        self.remaining = entry.size;
                        self.padding = padding(entry.size);
                    }
                    return Ok(Some(entry));
                }
            }
        }
    }

    fn finish_entry(
        &self,
        block: &[u8; BLOCK as usize],
        start: u64,
        size: u64,
        pax: &[(Vec<u8>, Vec<u8>)],
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
    ) -> Result<Entry, TarError> {
        let posix = &block[257..263] == b"ustar\0";
        let mut path = match long_name {
            Some(name) => name,
            None => {
                let name = cstr(&block[0..100]);
                let prefix = if posix { cstr(&block[345..500]) } else { &[] };
                if prefix.is_empty() {
                    name.to_vec()
                } else {
                    let mut p = prefix.to_vec();
                    p.push(b'/');
                    p.extend_from_slice(name);
                    p
                }
            }
        };
        let mut entry = Entry {
            kind: EntryKind::from_flag(block[156]),
            path: Vec::new(),
            link: long_link.unwrap_or_else(|| cstr(&block[157..257]).to_vec()),
            mode: (numeric(&block[100..108], start, "mode")? & 0o7777) as u32,
            uid: numeric(&block[108..116], start, "uid")?,
            gid: numeric(&block[116..124], start, "gid")?,
            mtime: i64::try_from(numeric(&block[136..148], start, "mtime")?).map_err(|_| {
                TarError::BadField {
                    offset: start,
                    field: "mtime",
                }
            })?,
            mtime_nsec: 0,
            size,
            dev_major: 0,
            dev_minor: 0,
            xattrs: Vec::new(),
        };
        if matches!(entry.kind, EntryKind::CharDevice | EntryKind::BlockDevice) {
            let dev = |range: std::ops::Range<usize>, field| {
                u32::try_from(numeric(&block[range], start, field)?).map_err(|_| {
                    TarError::BadField {
                        offset: start,
                        field,
                    }
                })
            };
            entry.dev_major = dev(329..337, "devmajor")?;
            entry.dev_minor = dev(337..345, "devminor")?;
        }
        let bad = |field| TarError::BadField {
            offset: start,
            field,
        };
        for (key, value) in pax {
            match key.as_slice() {
                b"path" => path = value.clone(),
                b"linkpath" => entry.link = value.clone(),
                b"size" => entry.size = decimal(value).ok_or(bad("PAX size"))?,
                b"uid" => entry.uid = decimal(value).ok_or(bad("PAX uid"))?,
                b"gid" => entry.gid = decimal(value).ok_or(bad("PAX gid"))?,
                b"mtime" => {
                    (entry.mtime, entry.mtime_nsec) = pax_time(value).ok_or(bad("PAX mtime"))?;
                }
                k => {
                    if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
                        entry.xattrs.push((name.to_vec(), value.clone()));
                    }
                }
            }
        }
        if entry.kind == EntryKind::File && path.last() == Some(&b'/') {
            // Pre-POSIX archives mark directories with a trailing slash only.
            entry.kind = EntryKind::Directory;
        }
        while path.len() > 1 && path.last() == Some(&b'/') {
            path.pop();
        }
        if path.contains(&0) || entry.link.contains(&0) {
            return Err(TarError::BadPax {
                offset: start,
                reason: "NUL byte in a name",
            });
        }
        entry.path = path;
        Ok(entry)
    }

    /// A reader over the current entry's data.
    pub(crate) fn data(&mut self) -> EntryData<'_, R> {
        EntryData { tar: self }
    }
}

/// The data of the current entry; reading past it returns end of file, and a stream
/// that ends early is an `UnexpectedEof` error.
pub(crate) struct EntryData<'a, R> {
    tar: &'a mut TarReader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tar.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = usize::try_from(self.tar.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.tar.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("archive truncated at byte {}", self.tar.offset),
            ));
        }
        self.tar.remaining -= n as u64;
        self.tar.offset += n as u64;
        Ok(n)
    }
}

/// The bytes of a NUL-terminated field.
fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(end) => &field[..end],
        None => field,
    }
}

fn verify_checksum(block: &[u8; BLOCK as usize], offset: u64) -> Result<(), TarError> {
    let stored = numeric(&block[148..156], offset, "checksum")?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(TarError::BadChecksum { offset })
    }
}

/// A numeric header field: octal text, or GNU base-256 when the high bit is set.
fn numeric(field: &[u8], offset: u64, name: &'static str) -> Result<u64, TarError> {
    let bad = TarError::BadField {
        offset,
        field: name,
    };
    if let Some(&first) = field.first() {
        if first & 0x80 != 0 {
            if first & 0x40 != 0 {
                // Negative base-256 values have no meaning for us.
                return Err(bad);
            }
            let mut value = u64::from(first & 0x3f);
            for &b in &field[1..] {
                value = value
                    .checked_mul(256)
                    .and_then(|v| v.checked_add(u64::from(b)))
                    .ok_or(TarError::BadField {
                        offset,
                        field: name,
                    })?;
            }
            return Ok(value);
        }
    }
    let text = field
        .iter()
        .position(|&b| b != b' ' && b != 0)
        .map_or(&[][..], |start| &field[start..]);
    let digits_end = text
        .iter()
        .position(|&b| b == b' ' || b == 0)
        .unwrap_or(text.len());
    if text[digits_end..].iter().any(|&b| b != b' ' && b != 0) {
        return Err(bad);
    }
    let mut value: u64 = 0;
    for &b in &text[..digits_end] {
        if !(b'0'..=b'7').contains(&b) {
            return Err(bad);
        }
        value = value
            .checked_mul(8)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(TarError::BadField {
                offset,
                field: name,
            })?;
    }
    Ok(value)
}

fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A PAX time: `[-]seconds[.fraction]`.
fn pax_time(text: &[u8]) -> Option<(i64, u32)> {
    let (negative, text) = match text.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, frac) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &[][..]),
    };
    let secs = i64::try_from(decimal(secs)?).ok()?;
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut nsec: u32 = 0;
    for i in 0..9 {
        nsec = nsec * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    if negative {
        // -1.5 is 1.5 s before the epoch: (-2 s, 0.5 s).
        if nsec == 0 {
            Some((-secs, 0))
        } else {
            Some((-secs - 1, 1_000_000_000 - nsec))
        }
    } else {
        Some((secs, nsec))
    }
}

/// Records of a PAX header: `<len> <key>=<value>\n`, where `len` counts the whole record.
fn parse_pax(data: &[u8], offset: u64) -> Result<Xattrs, TarError> {
    let bad = |reason| TarError::BadPax { offset, reason };
    let mut records = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let space = rest
            .iter()
            .take(21)
            .position(|&b| b == b' ')
            .ok_or(bad("record without a length"))?;
        let len = decimal(&rest[..space]).ok_or(bad("record length is not a number"))?;
        let len = usize::try_from(len).map_err(|_| bad("record length too large"))?;
        if len <= space + 1 || len > rest.len() {
            return Err(bad("record length out of range"));
        }
        let record = &rest[space + 1..len];
        let Some((&b'\n', record)) = record.split_last() else {
            return Err(bad("record does not end with a newline"));
        };
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or(bad("record without '='"))?;
        records.push((record[..eq].to_vec(), record[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(records)
}

// ---------------------------------------------------------------------------------------
// Writing

const MAX_OCTAL_7: u64 = 0o7_777_777;
const MAX_OCTAL_11: u64 = 0o77_777_777_777;

/// Writes entries; [`TarWriter::finish`] writes the end-of-archive marker.
pub(crate) struct TarWriter<W> {
    inner: W,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner }
    }

    /// Appends an entry. For regular files `data` must yield exactly `entry.size` bytes
    /// (fewer is an `UnexpectedEof` error; more is not read).
    pub(crate) fn append(&mut self, entry: &Entry, data: Option<&mut dyn Read>) -> io::Result<()> {
        let mut name = entry.path.clone();
        if entry.kind == EntryKind::Directory {
            name.push(b'/');
        }
        let size = if entry.kind == EntryKind::File {
            entry.size
        } else {
            0
        };

        let mut pax: Xattrs = Vec::new();
        let split = split_ustar(&name);
        if split.is_none() {
            pax.push((b"path".to_vec(), name.clone()));
        }
        if entry.link.len() > 100 {
            pax.push((b"linkpath".to_vec(), entry.link.clone()));
        }
        if size > MAX_OCTAL_11 {
            pax.push((b"size".to_vec(), size.to_string().into_bytes()));
        }
        if entry.uid > MAX_OCTAL_7 {
            pax.push((b"uid".to_vec(), entry.uid.to_string().into_bytes()));
        }
        if entry.gid > MAX_OCTAL_7 {
            pax.push((b"gid".to_vec(), entry.gid.to_string().into_bytes()));
        }
        let mtime_fits = u64::try_from(entry.mtime).is_ok_and(|m| m <= MAX_OCTAL_11);
        if !mtime_fits {
            pax.push((b"mtime".to_vec(), entry.mtime.to_string().into_bytes()));
        }
        for (key, value) in &entry.xattrs {
            if key.contains(&b'=') || key.contains(&0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "xattr name {:?} of {} cannot be stored in a tar",
                        String::from_utf8_lossy(key),
                        entry.display_path()
                    ),
                ));
            }
            let mut k = b"SCHILY.xattr.".to_vec();
            k.extend_from_slice(key);
            pax.push((k, value.clone()));
        }
        if !pax.is_empty() {
            let payload = pax_payload(&pax);
            let mut h = [0u8; BLOCK as usize];
            put_bytes(&mut h[0..100], b"././@PaxHeader");
            put_octal(&mut h[100..108], 0o644);
            put_octal(&mut h[108..116], 0);
            put_octal(&mut h[116..124], 0);
            put_octal(&mut h[124..136], payload.len() as u64);
            put_octal(&mut h[136..148], 0);
            h[156] = b'x';
            finish_header(&mut h);
            self.inner.write_all(&h)?;
            self.inner.write_all(&payload)?;
            self.pad(payload.len() as u64)?;
        }

        let mut h = [0u8; BLOCK as usize];
        match split {
            Some((prefix, rest)) => {
                put_bytes(&mut h[0..100], rest);
                put_bytes(&mut h[345..500], prefix);
            }
            None => put_bytes(&mut h[0..100], &name[..name.len().min(100)]),
        }
        put_octal(&mut h[100..108], u64::from(entry.mode & 0o7777));
        put_octal(
            &mut h[108..116],
            if entry.uid > MAX_OCTAL_7 {
                0
            } else {
                entry.uid
            },
        );
        put_octal(
            &mut h[116..124],
            if entry.gid > MAX_OCTAL_7 {
                0
            } else {
                entry.gid
            },
        );
        put_octal(&mut h[124..136], if size > MAX_OCTAL_11 { 0 } else { size });
        put_octal(
            &mut h[136..148],
            if mtime_fits {
                entry.mtime.unsigned_abs()
            } else {
                0
            },
        );
        h[156] = entry.kind.flag();
        put_bytes(&mut h[157..257], &entry.link[..entry.link.len().min(100)]);
        if matches!(entry.kind, EntryKind::CharDevice | EntryKind::BlockDevice) {
            put_octal(&mut h[329..337], u64::from(entry.dev_major));
            put_octal(&mut h[337..345], u64::from(entry.dev_minor));
        }
        finish_header(&mut h);
        self.inner.write_all(&h)?;

        if size > 0 {
            let data = data.ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "file entry without data")
            })?;
            let copied = io::copy(&mut data.take(size), &mut self.inner)?;
            if copied != size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: expected {size} bytes, got {copied}",
                        entry.display_path()
                    ),
                ));
            }
            self.pad(size)?;
        }
        Ok(())
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let zeros = [0u8; BLOCK as usize];
        let n = usize::try_from(padding(size)).unwrap_or(0);
        self.inner.write_all(&zeros[..n])
    }

    /// Writes the two zero blocks that end an archive and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0u8; 2 * BLOCK as usize])?;
        Ok(self.inner)
    }
}

/// Splits a name into ustar `prefix` and `name` fields, if it fits.
fn split_ustar(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= 100 {
        return Some((&[], name));
    }
    if name.len() > 256 {
        return None;
    }
    // The name part must fit in 100 bytes and the prefix in 155; split at the first
    // slash that allows both. (A directory's trailing slash never counts.)
    let body = name.len() - usize::from(name.last() == Some(&b'/'));
    (name.len().saturating_sub(101)..body.min(156))
        .find(|&i| name[i] == b'/' && i > 0)
        .map(|i| (&name[..i], &name[i + 1..]))
}

fn put_bytes(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// Zero-padded octal, NUL-terminated, filling the field.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    let text = text.as_bytes();
    let start = text.len().saturating_sub(digits);
    field[..digits].copy_from_slice(&text[start..]);
    field[digits] = 0;
}

fn finish_header(h: &mut [u8; BLOCK as usize]) {
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
}

fn pax_payload(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        // The length counts its own digits: grow until it is consistent.
        let body = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(key);
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(entries: &[(Entry, &[u8])]) -> Vec<u8> {
        let mut w = TarWriter::new(Vec::new());
        for (e, data) in entries {
            let mut d: &[u8] = data;
            w.append(e, Some(&mut d)).unwrap();
        }
        w.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> Vec<(Entry, Vec<u8>)> {
        let mut r = TarReader::new(bytes);
        let mut out = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            let mut data = Vec::new();
            r.data().read_to_end(&mut data).unwrap();
            out.push((e, data));
        }
        out
    }

    fn file(path: &str, size: u64) -> Entry {
        let mut e = Entry::new(EntryKind::File, path.as_bytes().to_vec());
        e.size = size;
        e
    }

    #[test]
    fn writer_output_round_trips_through_our_reader_and_the_tar_crate() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let very_long = "x/".repeat(200) + "end";
        let mut dir = Entry::new(EntryKind::Directory, b"dir".to_vec());
        dir.mode = 0o755;
        dir.uid = 3_000_000; // needs PAX
        dir.gid = 7;
        dir.mtime = 1_700_000_000;
        let mut link = Entry::new(EntryKind::Symlink, b"dir/link".to_vec());
        link.link = "t".repeat(150).into_bytes();
        let mut xf = file("dir/caps", 3);
        xf.xattrs = vec![(b"security.capability".to_vec(), vec![1, 0, b'\n', 0xff])];
        xf.mode = 0o4755;
        let mut dev = Entry::new(EntryKind::CharDevice, b"dev/null".to_vec());
        dev.dev_major = 1;
        dev.dev_minor = 3;
        let mut old = file("old", 0);
        old.mtime = -5;
        let entries: Vec<(Entry, &[u8])> = vec![
            (dir, b""),
            (file(&long, 5), b"hello"),
            (file(&very_long, 600), &[9u8; 600]),
            (link, b""),
            (xf, b"abc"),
            (dev, b""),
            (old, b""),
        ];
        let bytes = write(&entries);
        assert_eq!(bytes.len() as u64 % BLOCK, 0);

        let back = read_all(&bytes);
        assert_eq!(back.len(), entries.len());
        for ((want, data), (got, got_data)) in entries.iter().zip(&back) {
            assert_eq!(want, got);
            assert_eq!(*data, &got_data[..]);
        }

        // An independent reader agrees.
        let mut ar = ::tar::Archive::new(&bytes[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                e.path().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(names[0], "dir/");
        assert_eq!(names[1], long);
        assert_eq!(names[2], very_long);
    }

    #[test]
    fn pax_only_when_needed() {
        let plain = write(&[(file("a/short/name", 1), b"x")]);
        // header + one data block + two end blocks: no PAX header.
        assert_eq!(plain.len(), 4 * 512);
        let long = write(&[(file(&"n".repeat(101), 0), b"")]);
        assert_eq!(&long[156..157], b"x");
    }

    #[test]
    fn reads_what_the_tar_crate_writes() {
        let mut b = ::tar::Builder::new(Vec::new());
        let mut h = ::tar::Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o600);
        h.set_entry_type(::tar::EntryType::Regular);
        let long = format!("{}/file", "g".repeat(200));
        b.append_data(&mut h, &long, &b"data"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let back = read_all(&bytes);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].0.path, long.as_bytes());
        assert_eq!(back[0].0.mode, 0o600);
        assert_eq!(back[0].1, b"data");
    }

    #[test]
    fn hostile_headers_are_errors_not_allocations() {
        // A PAX header announcing 4 GiB.
        let mut h = [0u8; 512];
        put_bytes(&mut h[0..100], b"PaxHeaders/huge");
        put_octal(&mut h[100..108], 0o644);
        put_octal(&mut h[124..136], 4 << 30);
        h[156] = b'x';
        finish_header(&mut h);
        let err = TarReader::new(&h[..]).next_entry().unwrap_err();
        assert!(
            matches!(err, TarError::ExtensionTooLarge { size, ref name, .. }
            if size == 4 << 30 && name == "PaxHeaders/huge")
        );

        // Bad checksum.
        let mut bytes = write(&[(file("f", 0), b"")]);
        bytes[0] = b'g';
        assert!(matches!(
            TarReader::new(&bytes[..]).next_entry(),
            Err(TarError::BadChecksum { offset: 0 })
        ));

        // Truncated data.
        let bytes = write(&[(file("f", 100), &[1u8; 100])]);
        let mut r = TarReader::new(&bytes[..600]);
        r.next_entry().unwrap().unwrap();
        assert!(r.data().read_to_end(&mut Vec::new()).is_err());

        // Malformed PAX records.
        for bad in [
            &b"5 a=b\n"[..],
            b"99 path=x\n",
            b"x path=y\n",
            b"9 pathxy\n",
        ] {
            assert!(parse_pax(bad, 0).is_err(), "{bad:?}");
        }
        // Numeric fields.
        assert!(numeric(b"0000009\0", 0, "f").is_err());
        assert!(numeric(
            &[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            0,
            "f"
        )
        .is_err());
        assert_eq!(numeric(&[0x80, 0, 0, 1, 0], 0, "f").unwrap(), 256);
        assert_eq!(numeric(b"  755 \0\0", 0, "f").unwrap(), 0o755);
        assert_eq!(numeric(b"\0\0\0\0", 0, "f").unwrap(), 0);
        assert_eq!(pax_time(b"-1.5"), Some((-2, 500_000_000)));
        assert_eq!(pax_time(b"12.000000001"), Some((12, 1)));
        assert_eq!(pax_time(b"1e5"), None);
    }

    #[test]
    fn ustar_split() {
        let name = format!("{}/{}", "p".repeat(150), "n".repeat(100));
        let (prefix, rest) = split_ustar(name.as_bytes()).unwrap();
        assert_eq!(prefix.len(), 150);
        assert_eq!(rest.len(), 100);
        assert!(split_ustar("n".repeat(101).as_bytes()).is_none());
        assert!(split_ustar(format!("{}/x", "p".repeat(156)).as_bytes()).is_none());
    }
}
