//! Creating layers from directories, streamed into the content store; the details are
//! on [`LayerBuilder`].

use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, Digest, MediaType};

use crate::compress::{Compression, Encoder};
use crate::digest::HashingWriter;
use crate::store::{Store, StoreError};
use crate::tar::{Entry, EntryKind, TarWriter, Xattrs};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];
/// Overlay features whose meaning needs the lower layers; we refuse rather than
/// produce a wrong layer.
const UNSUPPORTED_OVERLAY_XATTRS: [&str; 4] = [
    "trusted.overlay.redirect",
    "trusted.overlay.metacopy",
    "user.overlay.redirect",
    "user.overlay.metacopy",
];
/// Linux's own limit on one xattr value.
const MAX_XATTR_SIZE: usize = 64 * 1024;

/// Errors from creating a layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// The source is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The source given.
        path: PathBuf,
    },
    /// Reading the source tree failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb.
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file's size changed while it was being archived.
    #[error("{} changed while it was being archived", path.display())]
    FileChanged {
        /// The file.
        path: PathBuf,
    },
    /// A name that unpacking would read as a whiteout.
    #[error("{}: names starting with .wh. are reserved for whiteouts", path.display())]
    ReservedName {
        /// The file.
        path: PathBuf,
    },
    /// An overlay feature (redirect_dir, metacopy) whose changes cannot be expressed
    /// without the lower layers.
    #[error(
        "{}: overlay attribute {attr} is not supported (mount without redirect_dir and metacopy)",
        path.display()
    )]
    UnsupportedOverlay {
        /// The file or directory.
        path: PathBuf,
        /// The xattr found.
        attr: String,
    },
    /// Writing the layer (compression, the store's temp file) failed.
    #[error("cannot write the layer: {source}")]
    Write {
        /// The underlying error.
        source: io::Error,
    },
    /// The content store refused the blob.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A layer written to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Digest of the compressed blob (what manifests reference).
    pub digest: Digest,
    /// Size of the compressed blob.
    pub size: u64,
    /// Digest of the uncompressed tar (what the image config's `rootfs.diff_ids` lists).
    pub diff_id: Digest,
    /// The OCI layer media type for its compression.
    pub media_type: MediaType,
}

impl Layer {
    /// The manifest descriptor for this layer.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.size, self.digest.clone())
    }
}

/// Builds a layer: a directory (a whole root filesystem, or the upper directory of an
/// overlay mount holding only a step's changes) becomes a deterministic tar, compressed
/// and streamed straight into the content store.
///
/// Determinism: entries in depth-first order with each directory's names sorted by
/// byte; numeric owners only (no user or group names); permission bits as found; mtimes
/// in whole seconds, clamped to SOURCE_DATE_EPOCH when one is given; PAX headers only
/// for what ustar cannot hold; the second path of an inode becomes a hard link to the
/// first; only `security.capability` and `user.*` xattrs are kept (not SELinux labels,
/// which differ between hosts). Sockets are skipped (a tar cannot hold them).
///
/// Overlay upper directories mark deletions with a 0/0 character device and directories
/// that replace their lower counterpart with the `trusted.overlay.opaque` (or
/// `user.overlay.opaque`) xattr set to `y`; these become OCI whiteouts (`.wh.<name>`)
/// and opaque markers (`.wh..wh..opq`).
#[derive(Debug, Clone)]
pub struct LayerBuilder {
    dir: PathBuf,
    overlay_upper: bool,
    compression: Compression,
    source_date_epoch: Option<u64>,
}

impl LayerBuilder {
    /// A layer holding the whole tree under `dir` (a root filesystem).
    pub fn rootfs(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            overlay_upper: false,
            compression: Compression::default(),
            source_date_epoch: None,
        }
    }

    /// A diff layer from an overlay upper directory: overlay whiteouts and opaque
    /// directories become OCI whiteouts.
    pub fn overlay_upper(dir: impl Into<PathBuf>) -> Self {
        Self {
            overlay_upper: true,
            ..Self::rootfs(dir)
        }
    }

    /// The compression (gzip by default).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Clamp every mtime to this time (seconds since the epoch), as SOURCE_DATE_EPOCH
    /// asks for reproducible builds. `None` (the default) keeps mtimes as found.
    pub fn source_date_epoch(mut self, epoch: Option<u64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Writes the layer into `store`, streaming: the tar is hashed (diff_id),
    /// compressed, hashed again (digest) and written to the store in one pass.
    pub fn write(&self, store: &Store) -> Result<Layer, LayerError> {
        self.write_with(&HostFs, store)
    }

    pub(crate) fn write_with(&self, fs: &dyn SourceFs, store: &Store) -> Result<Layer, LayerError> {
        let top = fs.lstat(&self.dir).map_err(io_err("inspect", &self.dir))?;
        if top.kind != Kind::Dir {
            return Err(LayerError::NotADirectory {
                path: self.dir.clone(),
            });
        }
        let write_err = |source: io::Error| match source.downcast::<StoreError>() {
            Ok(store) => LayerError::Store(store),
            Err(source) => LayerError::Write { source },
        };
        let blob = store.writer(None)?;
        let encoder = Encoder::new(blob, self.compression).map_err(write_err)?;
        let sink = BufWriter::with_capacity(256 * 1024, HashingWriter::new(encoder));
        let mut walker = Walker {
            fs,
            options: self,
            tar: TarWriter::new(sink),
            links: HashMap::new(),
        };
        walker.walk()?;
        let sink = walker.tar.finish().map_err(write_err)?;
        let hashing = sink.into_inner().map_err(|e| write_err(e.into_error()))?;
        let (encoder, diff_id, _) = hashing.finish();
        let blob = encoder.finish().map_err(write_err)?.commit()?;
        Ok(Layer {
            digest: blob.digest,
            size: blob.size,
            diff_id,
            media_type: self.compression.media_type(),
        })
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LayerError + 'a {
    move |source| LayerError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// File types, as the walk cares about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// What the walk needs to know about a file (from `lstat`).
#[derive(Debug, Clone)]
pub(crate) struct Stat {
    pub(crate) kind: Kind,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) size: u64,
    pub(crate) mtime: i64,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) nlink: u64,
    pub(crate) rdev_major: u32,
    pub(crate) rdev_minor: u32,
}

/// The source tree, behind a seam: tests present overlay whiteouts (0/0 character
/// devices, trusted xattrs) without needing root to create them.
pub(crate) trait SourceFs {
    fn lstat(&self, path: &Path) -> io::Result<Stat>;
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    fn open(&self, path: &Path) -> io::Result<File>;
    /// Names of the xattrs of `path` (not following a symlink); none where unsupported.
    fn xattr_names(&self, path: &Path) -> io::Result<Vec<OsString>>;
    /// One xattr's value, `None` if absent.
    fn xattr(&self, path: &Path, name: &OsStr) -> io::Result<Option<Vec<u8>>>;
}

/// The real filesystem.
pub(crate) struct HostFs;

impl SourceFs for HostFs {
    fn lstat(&self, path: &Path) -> io::Result<Stat> {
        let m = fs::symlink_metadata(path)?;
        let ft = m.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else if ft.is_char_device() {
            Kind::CharDevice
        } else if ft.is_block_device() {
            Kind::BlockDevice
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            Kind::Socket
        };
        Ok(Stat {
            kind,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            size: m.size(),
            mtime: m.mtime(),
            dev: m.dev(),
            ino: m.ino(),
            nlink: m.nlink(),
            rdev_major: rustix::fs::major(m.rdev()),
            rdev_minor: rustix::fs::minor(m.rdev()),
        })
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        fs::read_link(path)
    }

    fn open(&self, path: &Path) -> io::Result<File> {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
    }

    fn xattr_names(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let mut buf = Vec::new();
        for _ in 0..4 {
            let size = match rustix::fs::llistxattr_query(path) {
                Ok(n) => n,
                Err(e) if e == rustix::io::Errno::OPNOTSUPP => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            if size == 0 {
                return Ok(Vec::new());
            }
            buf.resize(size, 0);
            match rustix::fs::llistxattr(path, &mut buf[..]) {
                Ok(n) => {
                    return Ok(buf[..n]
                        .split(|&b| b == 0)
                        .filter(|n| !n.is_empty())
                        .map(|n| OsStr::from_bytes(n).to_os_string())
                        .collect())
                }
                // The list grew between the two calls.
                Err(e) if e == rustix::io::Errno::RANGE => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::other("xattr list keeps changing"))
    }

    fn xattr(&self, path: &Path, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; MAX_XATTR_SIZE];
        match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Err(e) if e == rustix::io::Errno::NODATA || e == rustix::io::Errno::OPNOTSUPP => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A reader that remembers whether the source failed, to tell read errors (the tree)
/// from write errors (the layer) when both pass through one copy.
struct Tracked<'a> {
    inner: &'a mut File,
    read: u64,
    failed: bool,
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

type Sink = BufWriter<HashingWriter<Encoder<crate::store::BlobWriter>>>;

struct Walker<'a> {
    fs: &'a dyn SourceFs,
    options: &'a LayerBuilder,
    tar: TarWriter<Sink>,
    /// First path seen for each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
}

fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    if parent.is_empty() {
        return name.to_vec();
    }
    let mut p = Vec::with_capacity(parent.len() + 1 + name.len());
    p.extend_from_slice(parent);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

impl Walker<'_> {
    fn sorted_children(&self, dir: &Path) -> Result<VecDeque<OsString>, LayerError> {
        let mut names = self.fs.read_dir(dir).map_err(io_err("list", dir))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(names.into())
    }

    fn walk(&mut self) -> Result<(), LayerError> {
        let root = self.options.dir.clone();
        // Each level: (relative path bytes, absolute path, names still to visit).
        let mut stack = vec![(Vec::new(), root.clone(), self.sorted_children(&root)?)];
        while let Some((rel_dir, abs_dir, names)) = stack.last_mut() {
            let Some(name) = names.pop_front() else {
                stack.pop();
                continue;
            };
            let rel = join(rel_dir, name.as_bytes());
            let abs = abs_dir.join(&name);
            if let Some(children) = self.entry(&name, rel.clone(), &abs)? {
                stack.push((rel, abs, children));
            }
        }
        Ok(())
    }

    fn mtime(&self, mtime: i64) -> i64 {
        match self.options.source_date_epoch {
            Some(epoch) => mtime.min(i64::try_from(epoch).unwrap_or(i64::MAX)),
            None => mtime,
        }
    }

    fn xattrs(&self, abs: &Path) -> Result<Xattrs, LayerError> {
        let mut names = self
            .fs
            .xattr_names(abs)
            .map_err(io_err("list xattrs of", abs))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut out = Vec::new();
        for name in names {
            let n = name.as_bytes();
            if self.options.overlay_upper {
                if let Some(attr) = UNSUPPORTED_OVERLAY_XATTRS
                    .iter()
                    .find(|a| a.as_bytes() == n)
                {
                    return Err(LayerError::UnsupportedOverlay {
                        path: abs.to_owned(),
                        attr: (*attr).to_owned(),
                    });
                }
            }
            let keep = n == b"security.capability"
                || (n.starts_with(b"user.") && !n.starts_with(b"user.overlay."));
            if !keep {
                continue;
            }
            if let Some(value) = self
                .fs
                .xattr(abs, &name)
                .map_err(io_err("read xattr of", abs))?
            {
                out.push((n.to_vec(), value));
            }
        }
        Ok(out)
    }

    fn is_opaque(&self, abs: &Path) -> Result<bool, LayerError> {
        for attr in OPAQUE_XATTRS {
            let value = self
                .fs
                .xattr(abs, OsStr::new(attr))
                .map_err(io_err("read xattr of", abs))?;
            if value.as_deref() == Some(b"y") {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn append(
        &mut self,
        entry: &Entry,
        abs: &Path,
        data: Option<&mut File>,
    ) -> Result<(), LayerError> {
        let Some(file) = data else {
            return self
                .tar
                .append(entry, None)
                .map_err(|source| LayerError::Write { source });
        };
        let mut tracked = Tracked {
            inner: file,
            read: 0,
            failed: false,
        };
        let result = self.tar.append(entry, Some(&mut tracked));
        let (read, failed) = (tracked.read, tracked.failed);
        match result {
            Ok(()) => {
                // The file must not have grown either.
                let mut probe = [0u8; 1];
                match file.read(&mut probe) {
                    Ok(0) => Ok(()),
                    Ok(_) => Err(LayerError::FileChanged {
                        path: abs.to_owned(),
                    }),
                    Err(e) => Err(io_err("read", abs)(e)),
                }
            }
            Err(source) if failed => Err(io_err("read", abs)(source)),
            Err(_) if read < entry.size => Err(LayerError::FileChanged {
                path: abs.to_owned(),
            }),
            Err(source) => Err(LayerError::Write { source }),
        }
    }

    /// Writes the entry for one path; for a directory, returns its children to visit.
    fn entry(
        &mut self,
        name: &OsStr,
        rel: Vec<u8>,
        abs: &Path,
    ) -> Result<Option<VecDeque<OsString>>, LayerError> {
        let stat = self.fs.lstat(abs).map_err(io_err("inspect", abs))?;
        if name.as_bytes().starts_with(WHITEOUT_PREFIX) {
            return Err(LayerError::ReservedName {
                path: abs.to_owned(),
            });
        }
        let overlay = self.options.overlay_upper;
        let mut entry = Entry::new(EntryKind::File, rel);
        entry.mode = stat.mode;
        entry.uid = u64::from(stat.uid);
        entry.gid = u64::from(stat.gid);
        entry.mtime = self.mtime(stat.mtime);

        if overlay && stat.kind == Kind::CharDevice && (stat.rdev_major, stat.rdev_minor) == (0, 0)
        {
            // An overlay whiteout: the same path with `.wh.` before its last component.
            let mut whiteout = WHITEOUT_PREFIX.to_vec();
            whiteout.extend_from_slice(name.as_bytes());
            let parent_len = entry.path.len() - name.as_bytes().len();
            entry.path.truncate(parent_len);
            entry.path.extend_from_slice(&whiteout);
            entry.mode = 0o600;
            self.append(&entry, abs, None)?;
            return Ok(None);
        }
        if stat.kind == Kind::Socket {
            return Ok(None);
        }
        if stat.kind != Kind::Dir && stat.nlink > 1 {
            match self.links.get(&(stat.dev, stat.ino)) {
                Some(first) => {
                    entry.kind = EntryKind::HardLink;
                    entry.link = first.clone();
                    entry.mode = stat.mode;
                    self.append(&entry, abs, None)?;
                    return Ok(None);
                }
                None => {
                    self.links.insert((stat.dev, stat.ino), entry.path.clone());
                }
            }
        }
        entry.xattrs = self.xattrs(abs)?;
        match stat.kind {
            Kind::Dir => {
                entry.kind = EntryKind::Directory;
                self.append(&entry, abs, None)?;
                if overlay && self.is_opaque(abs)? {
                    let mut marker = Entry::new(EntryKind::File, join(&entry.path, OPAQUE_MARKER));
                    marker.mode = stat.mode & 0o777;
                    marker.uid = entry.uid;
                    marker.gid = entry.gid;
                    marker.mtime = entry.mtime;
                    self.append(&marker, abs, None)?;
                }
                return Ok(Some(self.sorted_children(abs)?));
            }
            Kind::File => {
                entry.size = stat.size;
                let mut file = self.fs.open(abs).map_err(io_err("open", abs))?;
                self.append(&entry, abs, Some(&mut file))?;
            }
            Kind::Symlink => {
                entry.kind = EntryKind::Symlink;
                entry.link = self
                    .fs
                    .read_link(abs)
                    .map_err(io_err("read link", abs))?
                    .into_os_string()
                    .into_vec();
                self.append(&entry, abs, None)?;
            }
            Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => {
                entry.kind = match stat.kind {
                    Kind::CharDevice => EntryKind::CharDevice,
                    Kind::BlockDevice => EntryKind::BlockDevice,
                    _ => EntryKind::Fifo,
                };
                entry.dev_major = stat.rdev_major;
                entry.dev_minor = stat.rdev_minor;
                self.append(&entry, abs, None)?;
            }
            Kind::Socket => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::Decoder;
    use crate::tar::TarReader;
    use crate::unpack::unpack;
    use rustix::fs::{AtFlags, Timespec, Timestamps, CWD};
    use std::io::Write;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn set_mtime(path: &Path, secs: i64) {
        let t = Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        };
        rustix::fs::utimensat(
            CWD,
            path,
            &Timestamps {
                last_access: t,
                last_modification: t,
            },
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
    }

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    fn user_xattrs_supported(dir: &Path) -> bool {
        let probe = dir.join(".xattr-probe");
        fs::write(&probe, b"").unwrap();
        let ok = rustix::fs::lsetxattr(&probe, "user.probe", b"1", rustix::fs::XattrFlags::empty())
            .is_ok();
        fs::remove_file(&probe).unwrap();
        ok
    }

    /// A small root filesystem with every kind of entry a layer holds without root.
    /// `reverse` creates it in the opposite order (different inode numbers and
    /// directory order on disk, same content).
    fn sample_tree(dir: &Path, reverse: bool) {
        let long_dir = format!("usr/share/{}/{}", "d".repeat(60), "e".repeat(60));
        let mut steps: Vec<Box<dyn Fn()>> = vec![
            Box::new(|| fs::create_dir_all(dir.join("etc/empty")).unwrap()),
            Box::new(|| fs::create_dir_all(dir.join("bin")).unwrap()),
            Box::new(|| fs::create_dir_all(dir.join(&long_dir)).unwrap()),
        ];
        let files: Vec<(String, Vec<u8>, u32)> = vec![
            (
                "etc/passwd".into(),
                b"root:x:0:0::/root:/bin/sh\n".to_vec(),
                0o644,
            ),
            ("etc/shadow".into(), b"root:*:1::::::\n".to_vec(), 0o640),
            (
                "bin/busybox".into(),
                (0..300_000u32).map(|i| (i % 251) as u8).collect(),
                0o755,
            ),
            ("bin/su".into(), b"su".to_vec(), 0o4755),
            (
                format!("{long_dir}/{}", "f".repeat(80)),
                b"long".to_vec(),
                0o600,
            ),
            ("empty-file".into(), Vec::new(), 0o444),
        ];
        if reverse {
            steps.reverse();
        }
        for s in &steps {
            s();
        }
        let mut files = files;
        if reverse {
            files.reverse();
        }
        for (name, data, mode) in &files {
            let p = dir.join(name);
            fs::write(&p, data).unwrap();
            if is_root() && name == "bin/su" {
                // Before chmod: chown clears the setuid bit.
                std::os::unix::fs::lchown(&p, Some(1000), Some(1000)).unwrap();
            }
            fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
        }
        symlink("busybox", dir.join("bin/sh")).unwrap();
        symlink("/bin/busybox", dir.join("bin/abs")).unwrap();
        fs::hard_link(dir.join("bin/busybox"), dir.join("bin/ls")).unwrap();
        fs::set_permissions(dir.join("etc/empty"), fs::Permissions::from_mode(0o700)).unwrap();
        if user_xattrs_supported(dir) {
            rustix::fs::lsetxattr(
                dir.join("etc/passwd"),
                "user.note",
                b"kept",
                rustix::fs::XattrFlags::empty(),
            )
            .unwrap();
        }
        if is_root() {
            std::os::unix::fs::lchown(dir.join("etc/shadow"), Some(0), Some(42)).unwrap();
        }
        // Fixed times, deepest first so parents keep theirs.
        let mut all = Vec::new();
        collect(dir, &mut all);
        all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for (i, p) in all.iter().enumerate() {
            set_mtime(
                p,
                1_500_000_000 + i64::try_from(p.as_os_str().len() * 7 + i % 3).unwrap(),
            );
        }
    }

    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.clone());
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                collect(&p, out);
            }
        }
    }

    /// Everything about a tree a layer must carry, keyed by relative path.
    fn snapshot(root: &Path) -> Vec<String> {
        let mut paths = Vec::new();
        collect(root, &mut paths);
        paths.sort();
        let mut first_of_inode: HashMap<u64, String> = HashMap::new();
        paths
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                let m = fs::symlink_metadata(p).unwrap();
                let what = if m.file_type().is_symlink() {
                    format!("-> {}", fs::read_link(p).unwrap().display())
                } else if m.is_dir() {
                    "dir".to_owned()
                } else {
                    let link = first_of_inode
                        .entry(m.ino())
                        .or_insert_with(|| rel.clone())
                        .clone();
                    let data = fs::read(p).unwrap();
                    let mut h = crate::digest::Hasher::new();
                    h.update(&data);
                    format!("file {} first={link}", h.finish().0)
                };
                let mut xattr = [0u8; 64];
                let note = rustix::fs::lgetxattr(p, "user.note", &mut xattr[..])
                    .map(|n| String::from_utf8_lossy(&xattr[..n]).into_owned())
                    .unwrap_or_default();
                let mode = if m.file_type().is_symlink() {
                    0
                } else {
                    m.mode() & 0o7777
                };
                format!(
                    "{rel} {what} mode={mode:o} owner={}:{} mtime={} xattr={note}",
                    m.uid(),
                    m.gid(),
                    m.mtime()
                )
            })
            .collect()
    }

    fn entries(store: &Store, layer: &Layer) -> Vec<Entry> {
        let (decoder, _) = Decoder::new(store.open(&layer.digest).unwrap()).unwrap();
        let mut tar = TarReader::new(decoder);
        let mut out = Vec::new();
        while let Some(e) = tar.next_entry().unwrap() {
            out.push(e);
        }
        out
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries.iter().map(Entry::display_path).collect()
    }

    fn store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("store")).unwrap();
        (tmp, store)
    }

    #[test]
    fn the_same_tree_gives_the_same_layer() {
        let (tmp, store) = store();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        sample_tree(&a, false);
        sample_tree(&b, true);
        assert_eq!(snapshot(&a), snapshot(&b));
        for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
            let la = LayerBuilder::rootfs(&a)
                .compression(c)
                .write(&store)
                .unwrap();
            let la2 = LayerBuilder::rootfs(&a)
                .compression(c)
                .write(&store)
                .unwrap();
            let lb = LayerBuilder::rootfs(&b)
                .compression(c)
                .write(&store)
                .unwrap();
            assert_eq!(la, la2, "{c}: same directory twice");
            assert_eq!(la, lb, "{c}: same content built in another order");
        }
        // Sorted, depth first, directories with a trailing slash in the tar.
        let es = entries(&store, &LayerBuilder::rootfs(&a).write(&store).unwrap());
        let ns = names(&es);
        assert_eq!(
            &ns[..7],
            [
                "bin",
                "bin/abs",
                "bin/busybox",
                "bin/ls",
                "bin/sh",
                "bin/su",
                "empty-file"
            ]
        );
        let ls = &es[3];
        assert_eq!(ls.kind, EntryKind::HardLink);
        assert_eq!(ls.link, b"bin/busybox");
    }

    #[test]
    fn source_date_epoch_clamps_mtimes() {
        let (tmp, store) = store();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("old"), b"old").unwrap();
        fs::write(src.join("new"), b"new").unwrap();
        set_mtime(&src.join("old"), 500);
        // `new` keeps the current time; so does the directory it sits in.
        let epoch = 1_000;
        let layer = LayerBuilder::rootfs(&src)
            .source_date_epoch(Some(epoch))
            .write(&store)
            .unwrap();
        let es = entries(&store, &layer);
        let mtime = |n: &str| es.iter().find(|e| e.display_path() == n).unwrap().mtime;
        assert_eq!(mtime("old"), 500, "older than the epoch: kept");
        assert_eq!(mtime("new"), 1_000, "newer: clamped");
        assert!(es.iter().all(|e| e.mtime <= 1_000));

        // Touching a file after the epoch does not change the layer.
        fs::write(src.join("new"), b"new").unwrap();
        let again = LayerBuilder::rootfs(&src)
            .source_date_epoch(Some(epoch))
            .write(&store)
            .unwrap();
        assert_eq!(again, layer);

        // Without an epoch, times are kept.
        let unclamped = LayerBuilder::rootfs(&src).write(&store).unwrap();
        let es = entries(&store, &unclamped);
        assert!(es.iter().any(|e| e.mtime > 1_000));
    }

    #[test]
    fn unpacking_a_created_layer_reproduces_the_tree() {
        let (tmp, store) = store();
        let src = tmp.path().join("src");
        sample_tree(&src, false);
        for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
            let layer = LayerBuilder::rootfs(&src)
                .compression(c)
                .write(&store)
                .unwrap();
            let out = tmp.path().join(format!("out-{c}"));
            let report = unpack(store.open(&layer.digest).unwrap(), &out).unwrap();
            assert_eq!(report.diff_id, layer.diff_id);
            assert_eq!(report.compression, c);
            assert!(report.warnings.is_empty(), "{:?}", report.warnings);
            let (want, got) = (snapshot(&src), snapshot(&out));
            if is_root() {
                assert_eq!(want, got);
            } else {
                // Owners cannot be set; compare the rest.
                let strip = |v: Vec<String>| -> Vec<String> {
                    v.into_iter()
                        .map(|l| l.split(" owner=").next().unwrap().to_owned())
                        .collect()
                };
                assert_eq!(strip(want), strip(got));
            }
        }
    }

    #[test]
    fn media_types_digests_and_diff_ids() {
        let (tmp, store) = store();
        let src = tmp.path().join("src");
        sample_tree(&src, false);
        let plain = LayerBuilder::rootfs(&src)
            .compression(Compression::None)
            .write(&store)
            .unwrap();
        let gz = LayerBuilder::rootfs(&src).write(&store).unwrap();
        let zst = LayerBuilder::rootfs(&src)
            .compression(Compression::Zstd)
            .write(&store)
            .unwrap();
        assert_eq!(
            plain.digest, plain.diff_id,
            "an uncompressed layer is its own diff"
        );
        assert_eq!(gz.diff_id, plain.diff_id);
        assert_eq!(zst.diff_id, plain.diff_id);
        assert_ne!(gz.digest, zst.digest);
        assert_eq!(plain.media_type, MediaType::ImageLayer);
        assert_eq!(gz.media_type, MediaType::ImageLayerGzip);
        assert_eq!(zst.media_type, MediaType::ImageLayerZstd);
        assert!(gz.size < plain.size);
        assert_eq!(store.size(&gz.digest).unwrap(), gz.size);
        let d = gz.descriptor();
        assert_eq!(d.media_type(), &MediaType::ImageLayerGzip);
        assert_eq!(d.size(), gz.size);
        assert_eq!(d.digest(), &gz.digest);

        // An independent reader sees every entry under the same name.
        let mut raw = Vec::new();
        store
            .open(&plain.digest)
            .unwrap()
            .read_to_end(&mut raw)
            .unwrap();
        let mut ar = ::tar::Archive::new(&raw[..]);
        let theirs: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path().unwrap().display().to_string();
                p.trim_end_matches('/').to_owned()
            })
            .collect();
        assert_eq!(theirs, names(&entries(&store, &plain)));
        assert!(
            theirs.iter().any(|n| n.len() > 100),
            "a long name went through PAX"
        );
    }

    /// Presents chosen paths as overlay whiteouts or opaque directories, or as files
    /// whose size changes, on top of the real tree.
    #[derive(Default)]
    struct FakeOverlay {
        whiteouts: Vec<PathBuf>,
        opaque: Vec<PathBuf>,
        redirect: Vec<PathBuf>,
        size_delta: Vec<(PathBuf, i64)>,
    }

    impl SourceFs for FakeOverlay {
        fn lstat(&self, path: &Path) -> io::Result<Stat> {
            let mut s = HostFs.lstat(path)?;
            if self.whiteouts.iter().any(|p| p == path) {
                s.kind = Kind::CharDevice;
                (s.rdev_major, s.rdev_minor, s.size) = (0, 0, 0);
            }
            if let Some((_, d)) = self.size_delta.iter().find(|(p, _)| p == path) {
                s.size = s.size.checked_add_signed(*d).unwrap();
            }
            Ok(s)
        }
        fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
            HostFs.read_dir(path)
        }
        fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
            HostFs.read_link(path)
        }
        fn open(&self, path: &Path) -> io::Result<File> {
            HostFs.open(path)
        }
        fn xattr_names(&self, path: &Path) -> io::Result<Vec<OsString>> {
            let mut names = HostFs.xattr_names(path)?;
            if self.opaque.iter().any(|p| p == path) {
                names.push("trusted.overlay.opaque".into());
            }
            if self.redirect.iter().any(|p| p == path) {
                names.push("trusted.overlay.redirect".into());
            }
            Ok(names)
        }
        fn xattr(&self, path: &Path, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
            if name == "trusted.overlay.opaque" && self.opaque.iter().any(|p| p == path) {
                return Ok(Some(b"y".to_vec()));
            }
            if name == "trusted.overlay.redirect" && self.redirect.iter().any(|p| p == path) {
                return Ok(Some(b"/elsewhere".to_vec()));
            }
            HostFs.xattr(path, name)
        }
    }

    /// The lower tree the overlay tests apply their diff to.
    fn lower(dir: &Path) {
        fs::create_dir_all(dir.join("etc/conf.d")).unwrap();
        fs::write(dir.join("etc/conf.d/old"), b"old").unwrap();
        fs::write(dir.join("etc/motd"), b"hello").unwrap();
        fs::write(dir.join("deleted"), b"bye").unwrap();
        fs::create_dir_all(dir.join("var/cache/deep")).unwrap();
        fs::write(dir.join("var/cache/deep/x"), b"x").unwrap();
    }

    /// An upper directory: modifies motd, deletes `deleted` and `var/cache`, replaces
    /// `etc/conf.d` wholesale (opaque) with one new file.
    fn upper(dir: &Path) {
        fs::create_dir_all(dir.join("etc/conf.d")).unwrap();
        fs::write(dir.join("etc/motd"), b"changed").unwrap();
        fs::write(dir.join("etc/conf.d/new"), b"new").unwrap();
        fs::create_dir_all(dir.join("var")).unwrap();
    }

    fn check_overlay_layer(store: &Store, layer: &Layer, tmp: &Path) {
        let es = entries(store, layer);
        assert_eq!(
            names(&es),
            [
                ".wh.deleted",
                "etc",
                "etc/conf.d",
                "etc/conf.d/.wh..wh..opq",
                "etc/conf.d/new",
                "etc/motd",
                "var",
                "var/.wh.cache",
            ]
        );
        let wh = &es[0];
        assert_eq!((wh.kind, wh.size, wh.mode), (EntryKind::File, 0, 0o600));
        assert_eq!(es[3].kind, EntryKind::File);
        assert!(es
            .iter()
            .all(|e| e.xattrs.iter().all(|(k, _)| !k.starts_with(b"trusted."))));

        // Applied to the lower tree, the diff gives the merged view.
        let root = tmp.join("merged");
        lower(&root);
        unpack(store.open(&layer.digest).unwrap(), &root).unwrap();
        let mut all = Vec::new();
        collect(&root, &mut all);
        let mut rel: Vec<String> = all
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        rel.sort();
        assert_eq!(
            rel,
            ["etc", "etc/conf.d", "etc/conf.d/new", "etc/motd", "var"]
        );
        assert_eq!(fs::read(root.join("etc/motd")).unwrap(), b"changed");
    }

    #[test]
    fn overlay_whiteouts_and_opaque_directories_become_oci_whiteouts() {
        let (tmp, store) = store();
        let up = tmp.path().join("upper");
        upper(&up);
        // Placeholders the seam presents as whiteout devices.
        fs::write(up.join("deleted"), b"").unwrap();
        fs::write(up.join("var/cache"), b"").unwrap();
        // overlayfs may hard link whiteouts together: still whiteouts, not links.
        let fs_view = FakeOverlay {
            whiteouts: vec![up.join("deleted"), up.join("var/cache")],
            opaque: vec![up.join("etc/conf.d")],
            ..FakeOverlay::default()
        };
        let layer = LayerBuilder::overlay_upper(&up)
            .source_date_epoch(Some(0))
            .write_with(&fs_view, &store)
            .unwrap();
        check_overlay_layer(&store, &layer, tmp.path());

        // As a rootfs, the same marks are not interpreted (the seam's char device
        // stays a device, the trusted xattr is dropped).
        let rootfs = LayerBuilder::rootfs(&up)
            .source_date_epoch(Some(0))
            .write_with(&fs_view, &store)
            .unwrap();
        let es = entries(&store, &rootfs);
        let deleted = es.iter().find(|e| e.display_path() == "deleted").unwrap();
        assert_eq!(deleted.kind, EntryKind::CharDevice);
        assert!(!names(&es).iter().any(|n| n.contains(".wh.")));
    }

    #[test]
    fn real_overlay_whiteouts_need_root() {
        if !is_root() {
            eprintln!("note: not root, skipping whiteouts made with mknod and trusted xattrs");
            return;
        }
        let (tmp, store) = store();
        let up = tmp.path().join("upper");
        upper(&up);
        for p in [up.join("deleted"), up.join("var/cache")] {
            rustix::fs::mknodat(
                CWD,
                &p,
                rustix::fs::FileType::CharacterDevice,
                rustix::fs::Mode::from_raw_mode(0o000),
                rustix::fs::makedev(0, 0),
            )
            .unwrap();
        }
        rustix::fs::lsetxattr(
            up.join("etc/conf.d"),
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        let layer = LayerBuilder::overlay_upper(&up).write(&store).unwrap();
        check_overlay_layer(&store, &layer, tmp.path());
    }

    #[test]
    fn reserved_names_and_unsupported_overlay_features_are_refused() {
        let (tmp, store) = store();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("d")).unwrap();
        fs::write(src.join("d/.wh.sneaky"), b"").unwrap();
        let err = LayerBuilder::rootfs(&src).write(&store).unwrap_err();
        assert!(
            matches!(&err, LayerError::ReservedName { path } if path.ends_with("d/.wh.sneaky")),
            "{err:?}"
        );
        fs::remove_file(src.join("d/.wh.sneaky")).unwrap();

        let fs_view = FakeOverlay {
            redirect: vec![src.join("d")],
            ..FakeOverlay::default()
        };
        let err = LayerBuilder::overlay_upper(&src)
            .write_with(&fs_view, &store)
            .unwrap_err();
        assert!(
            matches!(&err, LayerError::UnsupportedOverlay { attr, .. } if attr == "trusted.overlay.redirect"),
            "{err:?}"
        );

        let err = LayerBuilder::rootfs(src.join("missing"))
            .write(&store)
            .unwrap_err();
        assert!(
            matches!(err, LayerError::Io { op: "inspect", .. }),
            "{err:?}"
        );
        fs::write(src.join("file"), b"").unwrap();
        let err = LayerBuilder::rootfs(src.join("file"))
            .write(&store)
            .unwrap_err();
        assert!(matches!(err, LayerError::NotADirectory { .. }), "{err:?}");
        // Nothing half-written stays in the store.
        assert_eq!(
            fs::read_dir(store.root().join("ingest")).unwrap().count(),
            0
        );
        assert_eq!(
            fs::read_dir(store.root().join("blobs/sha256"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_file_that_changes_while_archived_is_reported() {
        let (tmp, store) = store();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        let mut f = File::create(src.join("log")).unwrap();
        f.write_all(&[b'x'; 10_000]).unwrap();
        for delta in [-10, 10] {
            // Seen with one size, read with another: it grew, or shrank.
            let fs_view = FakeOverlay {
                size_delta: vec![(src.join("log"), delta)],
                ..FakeOverlay::default()
            };
            let err = LayerBuilder::rootfs(&src)
                .write_with(&fs_view, &store)
                .unwrap_err();
            assert!(
                matches!(&err, LayerError::FileChanged { path } if path.ends_with("log")),
                "{delta}: {err:?}"
            );
        }
        assert_eq!(
            fs::read_dir(store.root().join("ingest")).unwrap().count(),
            0
        );
    }
}
