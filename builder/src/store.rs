//! The content store: content-addressed blobs on disk, shared safely between processes;
//! the details are on [`Store`].

use std::collections::{HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageManifest, MediaType};

use crate::digest::{sha256_hex, Hasher};

/// Manifests and indexes larger than this are not parsed when following references
/// (registries commonly refuse manifests over 4 MiB).
const MAX_MANIFEST_SIZE: u64 = 4 << 20;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Errors from the content store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store only holds SHA-256 blobs.
    #[error("unsupported digest {digest}: the store holds sha256 blobs only")]
    UnsupportedAlgorithm {
        /// The digest asked for.
        digest: Digest,
    },
    /// No blob with this digest is in the store.
    #[error("blob {digest} is not in the store")]
    NotFound {
        /// The digest asked for.
        digest: Digest,
    },
    /// Content written did not hash to the digest it was expected to have.
    #[error("digest mismatch: expected {expected}, content is {actual}")]
    DigestMismatch {
        /// The digest the caller expected.
        expected: Digest,
        /// The digest of the content received.
        actual: Digest,
    },
    /// Content written did not have the size it was expected to have.
    #[error("size mismatch for {digest}: expected {expected} bytes, received {actual}")]
    SizeMismatch {
        /// The digest of the content received.
        digest: Digest,
        /// The size the caller expected.
        expected: u64,
        /// The size received (when larger than expected, counted up to the first excess write).
        actual: u64,
    },
    /// A stored blob no longer matches its name; it has been removed from the store.
    #[error(
        "corrupted blob {digest} in the store (its content hashes to {actual}); \
         removed, fetch it again"
    )]
    Corrupted {
        /// The blob's name.
        digest: Digest,
        /// What its content hashed to.
        actual: Digest,
    },
    /// A manifest or index reached during garbage collection is not valid JSON of its kind.
    #[error("blob {digest} is not a valid {kind}: {source}")]
    InvalidManifest {
        /// The blob.
        digest: Digest,
        /// `image index` or `image manifest`.
        kind: &'static str,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A filesystem operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb.
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl StoreError {
    /// Recovers a store error carried inside an [`io::Error`] (as [`BlobReader`] and
    /// [`BlobWriter`] return through the `Read`/`Write` traits), or wraps the I/O error.
    pub fn from_io(err: io::Error, op: &'static str, path: &Path) -> Self {
        match err.downcast::<StoreError>() {
            Ok(store) => store,
            Err(source) => StoreError::Io {
                op,
                path: path.to_owned(),
                source,
            },
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// A blob as committed: its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>` of the content.
    pub digest: Digest,
    /// Size of the content in bytes.
    pub size: u64,
}

impl Blob {
    /// An OCI descriptor for this blob with the given media type.
    pub fn descriptor(&self, media_type: MediaType) -> Descriptor {
        Descriptor::new(media_type, self.size, self.digest.clone())
    }
}

/// Settings for [`Store::gc`].
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Unreferenced blobs modified more recently than this are kept, so a blob committed
    /// by another process a moment ago (whose manifest is not written yet) survives.
    pub min_blob_age: Duration,
    /// Temp files not locked by a live writer are removed once older than this.
    pub min_temp_age: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            min_blob_age: Duration::from_secs(60 * 60),
            min_temp_age: Duration::from_secs(60 * 60),
        }
    }
}

/// What [`Store::gc`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs reachable from the roots (present in the store or not).
    pub reachable: u64,
    /// Unreferenced blobs removed.
    pub removed_blobs: u64,
    /// Bytes freed by removing blobs.
    pub removed_bytes: u64,
    /// Stale temp files removed.
    pub removed_temp_files: u64,
}

/// A content-addressed blob store rooted at a directory, shared safely between processes.
///
/// Layout under the store's root:
///
/// ```text
/// blobs/sha256/<hex>   committed blobs, named by the SHA-256 of their content
/// ingest/<name>.tmp    blobs being written (each locked by its writer while alive)
/// lock                 shared by commits, exclusive for garbage collection
/// ```
///
/// Every byte is hashed as it streams: [`BlobWriter`] hashes while writing to its temp
/// file and [`BlobWriter::commit`] renames it into place only if the digest (and the size,
/// when one is expected) matches; [`BlobReader`] hashes while reading and fails at end of
/// file if the content no longer matches its name, removing the corrupted file so the
/// blob will be fetched again.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self { root: root.into() };
        for dir in [store.blobs_dir(), store.ingest_dir()] {
            fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        let lock = store.lock_path();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&lock)
            .map_err(io_err("create", &lock))?;
        Ok(store)
    }

    /// The default root: `$XDG_CACHE_HOME/crossdock`, else `$HOME/.cache/crossdock`.
    /// `None` when neither variable names an absolute path.
    pub fn default_root() -> Option<PathBuf> {
        let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").and_then(abs) {
            return Some(cache.join("crossdock"));
        }
        std::env::var_os("HOME")
            .and_then(abs)
            .map(|home| home.join(".cache").join("crossdock"))
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn ingest_dir(&self) -> PathBuf {
        self.root.join("ingest")
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Where the blob named `digest` lives (whether or not it is there).
    pub fn blob_path(&self, digest: &Digest) -> Result<PathBuf, StoreError> {
        let hex = sha256_hex(digest).ok_or_else(|| StoreError::UnsupportedAlgorithm {
            digest: digest.clone(),
        })?;
        Ok(self.blobs_dir().join(hex))
    }

    /// Takes the store-wide lock: shared for commits, exclusive for garbage collection.
    /// Released when the returned file is dropped.
    fn lock(&self, exclusive: bool) -> Result<File, StoreError> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("open", &path))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(io_err("lock", &path))?;
        Ok(file)
    }

    /// Whether the blob is in the store.
    pub fn exists(&self, digest: &Digest) -> bool {
        self.blob_path(digest)
            .map(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
            .unwrap_or(false)
    }

    /// The size of a stored blob.
    pub fn size(&self, digest: &Digest) -> Result<u64, StoreError> {
        let path = self.blob_path(digest)?;
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => Ok(m.len()),
            Ok(_) => Err(StoreError::NotFound {
                digest: digest.clone(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound {
                digest: digest.clone(),
            }),
            Err(e) => Err(io_err("stat", &path)(e)),
        }
    }

    /// A writer for a new blob. Content streams to a temp file inside the store while
    /// it is hashed; [`BlobWriter::commit`] checks it against `expected` (when given) and
    /// moves it into place. Dropping the writer without committing removes the temp file.
    ///
    /// Writing a blob that is already stored is allowed and changes nothing (callers that
    /// know the digest can skip the transfer with [`Store::exists`]).
    pub fn writer(&self, expected: Option<&Digest>) -> Result<BlobWriter, StoreError> {
        if let Some(d) = expected {
            if sha256_hex(d).is_none() {
                return Err(StoreError::UnsupportedAlgorithm { digest: d.clone() });
            }
        }
        let (file, temp) = self.create_temp()?;
        Ok(BlobWriter {
            store: self.clone(),
            file: Some(BufWriter::with_capacity(128 * 1024, file)),
            temp,
            hasher: Hasher::new(),
            expected: expected.cloned(),
            expected_size: None,
            committed: false,
        })
    }

    fn create_temp(&self) -> Result<(File, PathBuf), StoreError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = self.ingest_dir();
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut attempt = 0;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{}-{nanos}-{n}.tmp", std::process::id()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(file) => {
                    // Held until the writer is dropped: tells garbage collection in other
                    // processes that this temp file is alive.
                    file.lock().map_err(io_err("lock", &path))?;
                    return Ok((file, path));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(io_err("create", &path)(e)),
            }
        }
    }

    /// Opens a stored blob for reading. The reader hashes what it reads and, at end of
    /// file, fails with [`StoreError::Corrupted`] (inside the `io::Error`; see
    /// [`StoreError::from_io`]) if the content does not match `digest`, removing the bad
    /// file. Only a reader read to the end has been verified.
    pub fn open(&self, digest: &Digest) -> Result<BlobReader, StoreError> {
        let path = self.blob_path(digest)?;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    digest: digest.clone(),
                })
            }
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let meta = file.metadata().map_err(io_err("stat", &path))?;
        Ok(BlobReader {
            file,
            path,
            hasher: Some(Hasher::new()),
            digest: digest.clone(),
            size: meta.len(),
            identity: (meta.dev(), meta.ino()),
            failed: None,
        })
    }

    /// Reads a whole small blob, verified. Blobs over `limit` bytes give `Ok(None)`.
    fn read_small(&self, digest: &Digest, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let mut reader = self.open(digest)?;
        if reader.size() > limit {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let path = reader.path.clone();
        (&mut reader)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| StoreError::from_io(e, "read", &path))?;
        if buf.len() as u64 > limit {
            return Ok(None);
        }
        // The reader verifies only once it sees end of file.
        let mut probe = [0u8; 1];
        reader
            .read(&mut probe)
            .map_err(|e| StoreError::from_io(e, "read", &path))?;
        Ok(Some(buf))
    }

    /// Removes blobs not reachable from `roots`, and stale temp files.
    ///
    /// Reachability follows OCI (and Docker v2.2) indexes to their manifests, and
    /// manifests to their config, layers and subject. A root whose media type is unknown
    /// is parsed as an index or manifest when it looks like one; any other blob is a leaf.
    /// Referenced blobs missing from the store are skipped. Runs under the store's
    /// exclusive lock, so commits from other processes wait for it; unreferenced blobs
    /// younger than [`GcOptions::min_blob_age`] are kept.
    pub fn gc(&self, roots: &[Digest], options: &GcOptions) -> Result<GcReport, StoreError> {
        for root in roots {
            if sha256_hex(root).is_none() {
                return Err(StoreError::UnsupportedAlgorithm {
                    digest: root.clone(),
                });
            }
        }
        let _lock = self.lock(true)?;
        let live = self.mark(roots)?;
        let mut report = GcReport {
            reachable: live.len() as u64,
            ..GcReport::default()
        };
        let now = SystemTime::now();
        let age = |m: &fs::Metadata| {
            m.modified()
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or(Duration::ZERO)
        };

        let blobs = self.blobs_dir();
        for entry in fs::read_dir(&blobs).map_err(io_err("list", &blobs))? {
            let entry = entry.map_err(io_err("list", &blobs))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            // Only touch what looks like ours.
            if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            if live.contains(name) {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if age(&meta) < options.min_blob_age {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    report.removed_blobs += 1;
                    report.removed_bytes += meta.len();
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &path)(e)),
            }
        }

        let ingest = self.ingest_dir();
        for entry in fs::read_dir(&ingest).map_err(io_err("list", &ingest))? {
            let entry = entry.map_err(io_err("list", &ingest))?;
            let path = entry.path();
            let Ok(file) = File::open(&path) else {
                continue;
            };
            // A live writer holds the lock on its temp file.
            if file.try_lock().is_err() {
                continue;
            }
            let Ok(meta) = file.metadata() else { continue };
            if !meta.is_file() || age(&meta) < options.min_temp_age {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => report.removed_temp_files += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &path)(e)),
            }
        }
        Ok(report)
    }

    /// The hex names of every blob reachable from `roots`.
    fn mark(&self, roots: &[Digest]) -> Result<HashSet<String>, StoreError> {
        let mut live = HashSet::new();
        let mut queue: VecDeque<(Digest, Option<MediaType>)> =
            roots.iter().map(|d| (d.clone(), None)).collect();
        while let Some((digest, media_type)) = queue.pop_front() {
            let Some(hex) = sha256_hex(&digest) else {
                continue;
            };
            if !live.insert(hex.to_owned()) || !self.exists(&digest) {
                continue;
            }
            let known = match &media_type {
                None => None,
                Some(mt) => match manifest_kind(mt) {
                    Some(kind) => Some(kind),
                    None => continue,
                },
            };
            let Some(bytes) = self.read_small(&digest, MAX_MANIFEST_SIZE)? else {
                continue;
            };
            let kind = match known {
                Some(kind) => kind,
                None => match sniff_kind(&bytes) {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            for child in references(kind, &digest, &bytes)? {
                queue.push_back((child.digest().clone(), Some(child.media_type().clone())));
            }
        }
        Ok(live)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Index,
    Manifest,
}

/// The descriptors an index or manifest refers to.
fn references(kind: Kind, digest: &Digest, bytes: &[u8]) -> Result<Vec<Descriptor>, StoreError> {
    let invalid = |kind: &'static str| {
        move |source| StoreError::InvalidManifest {
            digest: digest.clone(),
            kind,
            source,
        }
    };
    Ok(match kind {
        Kind::Index => {
            let index: ImageIndex =
                serde_json::from_slice(bytes).map_err(invalid("image index"))?;
            let mut children = index.manifests().clone();
            children.extend(index.subject().clone());
            children
        }
        Kind::Manifest => {
            let manifest: ImageManifest =
                serde_json::from_slice(bytes).map_err(invalid("image manifest"))?;
            let mut children = vec![manifest.config().clone()];
            children.extend(manifest.layers().iter().cloned());
            children.extend(manifest.subject().clone());
            children
        }
    })
}

fn manifest_kind(media_type: &MediaType) -> Option<Kind> {
    match media_type {
        MediaType::ImageIndex => Some(Kind::Index),
        MediaType::ImageManifest => Some(Kind::Manifest),
        MediaType::Other(s) if s == DOCKER_MANIFEST_LIST => Some(Kind::Index),
        MediaType::Other(s) if s == DOCKER_MANIFEST => Some(Kind::Manifest),
        _ => None,
    }
}

/// Guesses whether an untyped root is an index or a manifest from its JSON shape.
fn sniff_kind(bytes: &[u8]) -> Option<Kind> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let object = value.as_object()?;
    if let Some(kind) = object
        .get("mediaType")
        .and_then(|m| m.as_str())
        .and_then(|m| manifest_kind(&MediaType::from(m)))
    {
        return Some(kind);
    }
    if object.get("manifests").is_some_and(|m| m.is_array()) {
        Some(Kind::Index)
    } else if object.contains_key("config") && object.contains_key("layers") {
        Some(Kind::Manifest)
    } else {
        None
    }
}

/// Streams a new blob into the store; see [`Store::writer`].
pub struct BlobWriter {
    store: Store,
    file: Option<BufWriter<File>>,
    temp: PathBuf,
    hasher: Hasher,
    expected: Option<Digest>,
    expected_size: Option<u64>,
    committed: bool,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("temp", &self.temp)
            .field("written", &self.hasher.len())
            .field("expected", &self.expected)
            .field("expected_size", &self.expected_size)
            .finish()
    }
}

impl BlobWriter {
    /// Also require the content to be exactly `size` bytes: a write past it fails at
    /// once (so a peer sending too much is cut off), and a short blob fails on commit.
    pub fn expect_size(mut self, size: u64) -> Self {
        self.expected_size = Some(size);
        self
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.hasher.len()
    }

    /// Verifies the content and moves it into place, durably (file and directory
    /// synced). Committing content that is already stored leaves the stored copy.
    /// On any error the temp file is removed and the store is unchanged.
    pub fn commit(mut self) -> Result<Blob, StoreError> {
        let temp = self.temp.clone();
        let file = match self.file.take() {
            Some(w) => w
                .into_inner()
                .map_err(|e| io_err("write", &temp)(e.into_error()))?,
            None => {
                return Err(io_err("write", &temp)(io::Error::other(
                    "writer already failed",
                )))
            }
        };
        file.sync_all().map_err(io_err("sync", &temp))?;
        let (digest, size) = std::mem::take(&mut self.hasher).finish();
        if let Some(expected) = &self.expected {
            if *expected != digest {
                return Err(StoreError::DigestMismatch {
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        if let Some(expected) = self.expected_size {
            if expected != size {
                return Err(StoreError::SizeMismatch {
                    digest,
                    expected,
                    actual: size,
                });
            }
        }
        let dest = self.store.blob_path(&digest)?;
        let _lock = self.store.lock(false)?;
        if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_file()) {
            // Already stored (perhaps by a concurrent writer): keep that copy, and mark
            // it fresh so a garbage collection running next does not take it yet.
            if let Ok(existing) = File::open(&dest) {
                let _ = existing.set_modified(SystemTime::now());
            }
        } else {
            fs::rename(&temp, &dest).map_err(io_err("rename into", &dest))?;
            self.committed = true;
            let dir = self.store.blobs_dir();
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err("sync", &dir))?;
        }
        drop(file);
        Ok(Blob { digest, size })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(limit) = self.expected_size {
            let after = self.hasher.len().saturating_add(buf.len() as u64);
            if after > limit {
                let digest = self
                    .expected
                    .clone()
                    .unwrap_or_else(|| self.hasher.clone().finish().0);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    StoreError::SizeMismatch {
                        digest,
                        expected: limit,
                        actual: after,
                    },
                ));
            }
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob writer already committed"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.committed {
            // Unlinking first: the file's lock goes with the descriptor afterwards.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Reads a stored blob, verifying its digest at end of file; see [`Store::open`].
pub struct BlobReader {
    file: File,
    path: PathBuf,
    hasher: Option<Hasher>,
    digest: Digest,
    size: u64,
    identity: (u64, u64),
    failed: Option<Digest>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("path", &self.path)
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish()
    }
}

impl BlobReader {
    /// The digest this blob must have.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The blob's size on disk when opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn corrupted(&self, actual: &Digest) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            StoreError::Corrupted {
                digest: self.digest.clone(),
                actual: actual.clone(),
            },
        )
    }

    fn verify(&mut self) -> io::Result<()> {
        let Some(hasher) = self.hasher.take() else {
            return match &self.failed {
                Some(actual) => Err(self.corrupted(actual)),
                None => Ok(()),
            };
        };
        let (actual, _) = hasher.finish();
        if actual == self.digest {
            return Ok(());
        }
        // Remove the bad copy, unless another process already replaced it with a new
        // (presumably good) one.
        if fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.identity) {
            let _ = fs::remove_file(&self.path);
        }
        let err = self.corrupted(&actual);
        self.failed = Some(actual);
        Err(err)
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.hasher.is_none() {
            // Already at end of file (verified, or failed).
            self.verify()?;
            return Ok(0);
        }
        let n = self.file.read(buf)?;
        if n == 0 {
            self.verify()?;
            return Ok(0);
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::{DescriptorBuilder, ImageIndexBuilder, ImageManifestBuilder};
    use std::sync::{Arc, Barrier};

    fn digest_of(data: &[u8]) -> Digest {
        let mut h = Hasher::new();
        h.update(data);
        h.finish().0
    }

    fn put(store: &Store, data: &[u8]) -> Blob {
        let mut w = store.writer(None).unwrap();
        w.write_all(data).unwrap();
        w.commit().unwrap()
    }

    fn ingest_is_empty(store: &Store) -> bool {
        fs::read_dir(store.ingest_dir()).unwrap().next().is_none()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store")).unwrap();
        let data = b"hello, store".repeat(10_000);
        let d = digest_of(&data);
        assert!(!store.exists(&d));
        assert!(matches!(store.size(&d), Err(StoreError::NotFound { .. })));

        let mut w = store
            .writer(Some(&d))
            .unwrap()
            .expect_size(data.len() as u64);
        for chunk in data.chunks(777) {
            w.write_all(chunk).unwrap();
        }
        assert_eq!(w.written(), data.len() as u64);
        let blob = w.commit().unwrap();
        assert_eq!(blob.digest, d);
        assert_eq!(blob.size, data.len() as u64);
        assert!(store.exists(&d));
        assert_eq!(store.size(&d).unwrap(), data.len() as u64);
        assert!(store
            .blob_path(&d)
            .unwrap()
            .ends_with(format!("blobs/sha256/{}", d.digest())));
        assert!(ingest_is_empty(&store));

        let mut back = Vec::new();
        store.open(&d).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(blob.descriptor(MediaType::ImageLayer).size(), blob.size);

        // Ingesting it again is a no-op that succeeds.
        let again = put(&store, &data);
        assert_eq!(again, blob);
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn wrong_digest_is_rejected_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let claimed = digest_of(b"what was promised");
        let mut w = store.writer(Some(&claimed)).unwrap();
        w.write_all(b"what was sent").unwrap();
        match w.commit() {
            Err(StoreError::DigestMismatch { expected, actual }) => {
                assert_eq!(expected, claimed);
                assert_eq!(actual, digest_of(b"what was sent"));
            }
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
        assert!(!store.exists(&claimed));
        assert!(!store.exists(&digest_of(b"what was sent")));
        assert!(ingest_is_empty(&store));
        assert_eq!(fs::read_dir(store.blobs_dir()).unwrap().count(), 0);
    }

    #[test]
    fn wrong_size_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        // Too short: detected on commit.
        let mut w = store.writer(None).unwrap().expect_size(10);
        w.write_all(b"short").unwrap();
        assert!(matches!(
            w.commit(),
            Err(StoreError::SizeMismatch {
                expected: 10,
                actual: 5,
                ..
            })
        ));
        // Too long: cut off at the first excess write.
        let mut w = store.writer(None).unwrap().expect_size(4);
        w.write_all(b"abc").unwrap();
        let err = w.write_all(b"de").unwrap_err();
        assert!(matches!(
            StoreError::from_io(err, "write", Path::new("x")),
            StoreError::SizeMismatch {
                expected: 4,
                actual: 5,
                ..
            }
        ));
        drop(w);
        assert!(ingest_is_empty(&store));
        assert_eq!(fs::read_dir(store.blobs_dir()).unwrap().count(), 0);
    }

    #[test]
    fn unsupported_algorithms_are_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let d: Digest = format!("sha512:{}", "ab".repeat(64)).parse().unwrap();
        assert!(matches!(
            store.writer(Some(&d)),
            Err(StoreError::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            store.open(&d),
            Err(StoreError::UnsupportedAlgorithm { .. })
        ));
        assert!(!store.exists(&d));
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn corrupted_blob_is_detected_on_read_removed_and_reingestable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let data = vec![42u8; 300_000];
        let blob = put(&store, &data);
        let path = store.blob_path(&blob.digest).unwrap();
        // Flip one byte in the middle, as a bad disk would.
        let mut bad = fs::read(&path).unwrap();
        bad[150_000] ^= 0xff;
        fs::write(&path, &bad).unwrap();

        let mut reader = store.open(&blob.digest).unwrap();
        let mut sink = Vec::new();
        let err = reader.read_to_end(&mut sink).unwrap_err();
        let err = StoreError::from_io(err, "read", &path);
        match &err {
            StoreError::Corrupted { digest, actual } => {
                assert_eq!(digest, &blob.digest);
                assert_eq!(actual, &digest_of(&bad));
            }
            other => panic!("expected corruption, got {other:?}"),
        }
        assert!(err.to_string().contains(&blob.digest.to_string()));
        // Reading again keeps failing rather than pretending success.
        assert!(reader.read(&mut [0u8; 8]).is_err());
        assert!(!store.exists(&blob.digest), "corrupted file removed");

        // Fetched again: ingestable and readable.
        let again = put(&store, &data);
        assert_eq!(again, blob);
        let mut back = Vec::new();
        store
            .open(&blob.digest)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let mut w = store.writer(None).unwrap();
        w.write_all(b"partial download").unwrap();
        assert!(!ingest_is_empty(&store));
        drop(w);
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn concurrent_writers_of_the_same_blob_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let data: Arc<Vec<u8>> = Arc::new((0..2_000_000u32).map(|i| (i % 251) as u8).collect());
        let expected = digest_of(&data);
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (store, data, barrier, expected) = (
                    store.clone(),
                    data.clone(),
                    barrier.clone(),
                    expected.clone(),
                );
                std::thread::spawn(move || {
                    let mut w = store.writer(Some(&expected)).unwrap();
                    barrier.wait();
                    for chunk in data.chunks(65_536) {
                        w.write_all(chunk).unwrap();
                    }
                    w.commit().unwrap()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().digest, expected);
        }
        assert!(ingest_is_empty(&store));
        let mut back = Vec::new();
        store
            .open(&expected)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, *data);
    }

    const CHILD_ENV: &str = "CROSSDOCK_STORE_TEST_CHILD";

    /// Not a test on its own: the body of the child processes spawned by
    /// `concurrent_processes_share_a_store`.
    #[test]
    fn child_writer_process() {
        let Some(root) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        let store = Store::new(PathBuf::from(root)).unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        for _ in 0..5 {
            let mut w = store.writer(Some(&digest_of(&data))).unwrap();
            for chunk in data.chunks(100_000) {
                w.write_all(chunk).unwrap();
            }
            w.commit().unwrap();
            // Interleave with garbage collection from the other processes.
            store
                .gc(
                    &[digest_of(&data)],
                    &GcOptions {
                        min_blob_age: Duration::ZERO,
                        min_temp_age: Duration::ZERO,
                    },
                )
                .unwrap();
        }
    }

    #[test]
    fn concurrent_processes_share_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..3)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "store::tests::child_writer_process",
                        "--test-threads=1",
                    ])
                    .env(CHILD_ENV, dir.path())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "a child writer failed");
        }
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let d = digest_of(&data);
        assert!(store.exists(&d));
        let mut back = Vec::new();
        store.open(&d).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        assert!(ingest_is_empty(&store));
    }

    fn json_blob(store: &Store, value: &impl serde::Serialize) -> Blob {
        put(store, &serde_json::to_vec(value).unwrap())
    }

    fn now_gc() -> GcOptions {
        GcOptions {
            min_blob_age: Duration::ZERO,
            min_temp_age: Duration::ZERO,
        }
    }

    #[test]
    fn gc_keeps_what_is_referenced_and_removes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let config = put(&store, br#"{"architecture":"amd64","os":"linux"}"#);
        let layer1 = put(&store, b"layer one");
        let layer2 = put(&store, b"layer two");
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config.descriptor(MediaType::ImageConfig))
            .layers(vec![
                layer1.descriptor(MediaType::ImageLayerGzip),
                layer2.descriptor(MediaType::ImageLayerGzip),
            ])
            .build()
            .unwrap();
        let manifest = json_blob(&store, &manifest);
        // A second image, Docker-typed, only reachable through a nested index.
        let config2 = put(&store, br#"{"architecture":"arm64","os":"linux"}"#);
        let layer3 = put(&store, b"layer three");
        let docker_manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": config2.digest, "size": config2.size},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": layer3.digest, "size": layer3.size}],
        });
        let docker_manifest = json_blob(&store, &docker_manifest);
        let inner_index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(vec![DescriptorBuilder::default()
                .media_type(MediaType::Other(DOCKER_MANIFEST.into()))
                .digest(docker_manifest.digest.clone())
                .size(docker_manifest.size)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        let inner_index = json_blob(&store, &inner_index);
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(vec![
                manifest.descriptor(MediaType::ImageManifest),
                inner_index.descriptor(MediaType::ImageIndex),
                // Referenced but never pulled: skipped, not an error.
                Blob {
                    digest: digest_of(b"absent"),
                    size: 6,
                }
                .descriptor(MediaType::ImageManifest),
            ])
            .build()
            .unwrap();
        let index = json_blob(&store, &index);

        let garbage = put(&store, b"unreferenced");
        let garbage2 = put(&store, br#"{"not":"a manifest"}"#);
        // A stale temp file from a crashed writer, and one from a live writer.
        fs::write(store.ingest_dir().join("crashed.tmp"), b"junk").unwrap();
        let mut live_writer = store.writer(None).unwrap();
        live_writer.write_all(b"in progress").unwrap();
        live_writer.flush().unwrap();

        let report = store
            .gc(std::slice::from_ref(&index.digest), &now_gc())
            .unwrap();
        for kept in [
            &index,
            &manifest,
            &config,
            &layer1,
            &layer2,
            &inner_index,
            &docker_manifest,
            &config2,
            &layer3,
        ] {
            assert!(store.exists(&kept.digest), "{} was removed", kept.digest);
        }
        assert!(!store.exists(&garbage.digest));
        assert!(!store.exists(&garbage2.digest));
        assert_eq!(report.removed_blobs, 2);
        assert_eq!(report.removed_bytes, garbage.size + garbage2.size);
        assert_eq!(report.removed_temp_files, 1);
        assert_eq!(report.reachable, 10);
        assert!(!store.ingest_dir().join("crashed.tmp").exists());
        // The live writer was left alone and still commits.
        let live = live_writer.commit().unwrap();
        assert!(store.exists(&live.digest));

        // With only the manifest as root, the index goes too.
        let report = store
            .gc(std::slice::from_ref(&manifest.digest), &now_gc())
            .unwrap();
        assert!(store.exists(&layer1.digest));
        assert!(!store.exists(&index.digest));
        assert!(!store.exists(&layer3.digest));
        assert!(report.removed_blobs >= 5);
    }

    #[test]
    fn gc_spares_young_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let fresh = put(&store, b"just committed by someone");
        let report = store.gc(&[], &GcOptions::default()).unwrap();
        assert_eq!(report.removed_blobs, 0);
        assert!(store.exists(&fresh.digest));
        store.gc(&[], &now_gc()).unwrap();
        assert!(!store.exists(&fresh.digest));
    }

    #[test]
    fn gc_refuses_a_broken_manifest_and_deletes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).unwrap();
        let layer = put(&store, b"layer");
        let bogus = json_blob(
            &store,
            &serde_json::json!({"schemaVersion": 2, "manifests": "not a list"}),
        );
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .manifests(vec![bogus.descriptor(MediaType::ImageIndex)])
            .build()
            .unwrap();
        let index = json_blob(&store, &index);
        let err = store
            .gc(std::slice::from_ref(&index.digest), &now_gc())
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidManifest { digest, .. } if *digest == bogus.digest),
            "{err:?}"
        );
        assert!(store.exists(&layer.digest));
    }
}
