//! Overlay snapshots: the root filesystem of a RUN step is an overlay mount of unpacked
//! layer directories (read-only, shared) under a fresh upper directory, which afterwards
//! holds exactly the step's changes. Details on [`Snapshotter`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use oci_spec::image::Digest;

use crate::store::{Store, StoreError};
use crate::syscall::{LinuxSyscall, MountFlags, Syscall};
use crate::unpack::{unpack_overlay_lower, UnpackError};

/// The longest mount data `mount(2)` accepts: one page, less the terminating NUL.
const MAX_MOUNT_DATA: usize = 4095;

/// Errors from snapshots.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A file system operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb.
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Reading the layer from the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Unpacking a layer into its lower directory failed.
    #[error("cannot unpack layer {digest}: {source}")]
    Unpack {
        /// The layer blob.
        digest: Digest,
        /// What went wrong.
        source: Box<UnpackError>,
    },
    /// The layer's content does not hash to the diff_id it was asked for under.
    #[error("layer {digest} unpacks to diff_id {actual}, but the image says {expected}")]
    DiffIdMismatch {
        /// The layer blob.
        digest: Digest,
        /// The diff_id the caller gave (from the image config).
        expected: Digest,
        /// What the content hashes to.
        actual: Box<Digest>,
    },
    /// The overlay mount failed.
    #[error(
        "cannot mount the overlay root filesystem at {}: {source} \
         (run `crossdock setup --check` to see whether overlayfs works here)",
        target.display()
    )]
    Mount {
        /// The mount point.
        target: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Unmounting failed even lazily.
    #[error("cannot unmount {}: {source}", target.display())]
    Unmount {
        /// The mount point.
        target: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Too many layers for one overlay mount's option string, even with short names.
    #[error(
        "{layers} layers do not fit in one overlay mount: the options take {length} bytes, \
         the kernel accepts {MAX_MOUNT_DATA}; squash the base image or use a shorter store \
         path (CROSSDOCK_STORE)"
    )]
    TooManyLayers {
        /// How many lower directories were asked for.
        layers: usize,
        /// The length of the shortest option string we could build.
        length: usize,
    },
    /// A path that overlay's option syntax cannot express.
    #[error(
        "{}: overlay mount options cannot hold a path with ',' or ':'; \
         use a store directory without them",
        path.display()
    )]
    UnusablePath {
        /// The path.
        path: PathBuf,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SnapshotError + 'a {
    move |source| SnapshotError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// A read-only layer directory that snapshots stack, named by the layer's diff_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerDir {
    diff_id: Digest,
    path: PathBuf,
}

impl LowerDir {
    /// The diff_id of the layer this directory holds.
    pub fn diff_id(&self) -> &Digest {
        &self.diff_id
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Keeps layer directories and snapshots under `<store root>/snapshots`:
///
/// - `layers/<algorithm>/<hex of diff_id>/`: one directory per layer, unpacked once
///   ([`Snapshotter::lower`]) and shared by every snapshot that stacks it. OCI whiteouts
///   become overlayfs whiteouts (0/0 character devices and the `trusted.overlay.opaque`
///   xattr), so the directory can serve as an overlay lower directory. A step's upper
///   directory joins them by [`Snapshot::commit`], without being re-unpacked.
/// - `active/<id>/`: one per [`Snapshot`], with `upper/`, `work/` and the `rootfs/`
///   mount point; removed when the snapshot is dropped.
///
/// Unpacking goes to a temporary directory renamed into place, so several processes may
/// share a store: whoever renames first wins and the others use that directory.
#[derive(Debug, Clone)]
pub struct Snapshotter {
    root: PathBuf,
    syscall: Arc<dyn Syscall>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and call.
pub(crate) fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}{}-{}-{nanos:x}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}

impl Snapshotter {
    /// Snapshots kept next to the store's blobs, mounted with the real system calls.
    pub fn new(store: &Store) -> Result<Self, SnapshotError> {
        Self::with_syscall(store.root().join("snapshots"), Arc::new(LinuxSyscall))
    }

    pub(crate) fn with_syscall(
        root: PathBuf,
        syscall: Arc<dyn Syscall>,
    ) -> Result<Self, SnapshotError> {
        for dir in ["layers", "active"] {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        }
        Ok(Self { root, syscall })
    }

    fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.root
            .join("layers")
            .join(diff_id.algorithm().as_ref())
            .join(diff_id.digest())
    }

    /// The layer directory of `diff_id`, if it is already there.
    pub fn existing_lower(&self, diff_id: &Digest) -> Option<LowerDir> {
        let path = self.layer_path(diff_id);
        path.is_dir().then(|| LowerDir {
            diff_id: diff_id.clone(),
            path,
        })
    }

    /// The layer directory of the layer blob `digest` whose uncompressed content is
    /// `diff_id`, unpacking it from `store` the first time. The content is checked
    /// against `diff_id` before the directory is published.
    pub fn lower(
        &self,
        store: &Store,
        digest: &Digest,
        diff_id: &Digest,
    ) -> Result<LowerDir, SnapshotError> {
        if let Some(lower) = self.existing_lower(diff_id) {
            return Ok(lower);
        }
        let final_path = self.layer_path(diff_id);
        let parent = final_path.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
        let tmp = parent.join(unique_name(".tmp-"));
        let result = (|| {
            let report = unpack_overlay_lower(store.open(digest)?, &tmp).map_err(|source| {
                SnapshotError::Unpack {
                    digest: digest.clone(),
                    source: Box::new(source),
                }
            })?;
            if report.diff_id != *diff_id {
                return Err(SnapshotError::DiffIdMismatch {
                    digest: digest.clone(),
                    expected: diff_id.clone(),
                    actual: Box::new(report.diff_id),
                });
            }
            publish(&tmp, &final_path)
        })();
        if tmp.exists() {
            let _ = fs::remove_dir_all(&tmp);
        }
        result?;
        Ok(LowerDir {
            diff_id: diff_id.clone(),
            path: final_path,
        })
    }

    /// A new snapshot over `lowers` (bottom layer first, as in an image manifest), with
    /// an empty upper directory. Nothing is mounted yet: see [`Snapshot::mount`].
    pub fn prepare(&self, lowers: &[LowerDir]) -> Result<Snapshot, SnapshotError> {
        let dir = self.root.join("active").join(unique_name(""));
        let snapshot = Snapshot {
            upper: dir.join("upper"),
            rootfs: dir.join("rootfs"),
            dir: dir.clone(),
            lowers: lowers.iter().map(|l| l.path.clone()).collect(),
            layers_root: self.root.join("layers"),
            syscall: Arc::clone(&self.syscall),
        };
        for sub in ["upper", "work", "rootfs", "empty"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        }
        Ok(snapshot)
    }
}

/// Checks that overlayfs works here (the way snapshots use it) by mounting a small
/// overlay under `scratch`, writing through it and deleting a lower file (a whiteout),
/// then unmounting. Needs root.
pub fn probe_overlay(scratch: &Path) -> Result<(), SnapshotError> {
    let dir = tempfile::Builder::new()
        .prefix("overlay-probe")
        .tempdir_in(scratch)
        .map_err(io_err("create a directory in", scratch))?;
    let (lower, upper, work, merged) = (
        dir.path().join("l"),
        dir.path().join("u"),
        dir.path().join("w"),
        dir.path().join("m"),
    );
    for d in [&lower, &upper, &work, &merged] {
        fs::create_dir(d).map_err(io_err("create", d))?;
    }
    fs::write(lower.join("old"), "x").map_err(io_err("write", &lower))?;
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let syscall = LinuxSyscall;
    syscall
        .mount(
            "overlay",
            &merged,
            "overlay",
            MountFlags::empty(),
            Some(&options),
        )
        .map_err(|source| SnapshotError::Mount {
            target: merged.clone(),
            source,
        })?;
    let used = (|| {
        fs::write(merged.join("new"), "y")?;
        fs::remove_file(merged.join("old"))
    })()
    .map_err(io_err("write through the overlay at", &merged));
    unmount(&syscall, &merged)?;
    used?;
    let whiteout = fs::symlink_metadata(upper.join("old")).map_err(io_err("inspect", &upper))?;
    use std::os::unix::fs::FileTypeExt;
    if !whiteout.file_type().is_char_device() || !upper.join("new").is_file() {
        return Err(io_err("find the changes in", &upper)(io::Error::other(
            "the upper directory does not hold a whiteout and the new file",
        )));
    }
    Ok(())
}

/// Renames `tmp` to `target`; losing the race to another unpacker of the same layer is
/// fine (its directory has the same content).
fn publish(tmp: &Path, target: &Path) -> Result<(), SnapshotError> {
    match fs::rename(tmp, target) {
        Ok(()) => Ok(()),
        Err(_) if target.is_dir() => Ok(()),
        Err(e) => Err(io_err("rename into place", target)(e)),
    }
}

/// A stack of lower directories plus a private upper directory; see [`Snapshotter`].
/// Dropping it removes its upper, work and mount point directories (after
/// [`Snapshot::commit`], the upper directory lives on as a layer directory).
#[derive(Debug)]
pub struct Snapshot {
    dir: PathBuf,
    upper: PathBuf,
    rootfs: PathBuf,
    /// Bottom first.
    lowers: Vec<PathBuf>,
    layers_root: PathBuf,
    syscall: Arc<dyn Syscall>,
}

impl Snapshot {
    /// The upper directory: after a RUN, exactly its changes, in overlayfs form (give it
    /// to [`LayerBuilder::overlay_upper`](crate::LayerBuilder::overlay_upper)).
    pub fn upper(&self) -> &Path {
        &self.upper
    }

    /// Where [`Snapshot::mount`] mounts the root filesystem.
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    /// The overlay mount options: `lowerdir=<top>:…:<bottom>,upperdir=…,workdir=…`,
    /// with the directory that holds short symlinks when they are used.
    ///
    /// The kernel reads at most one page of options. When absolute paths make them too
    /// long (many layers under a long store path), the lower directories are reached
    /// through short symlinks `/tmp/cdlXXXXXX/<n>` instead: overlayfs resolves (and
    /// follows) them once, at mount time, so the links are removed right after. If even
    /// that is too long, the error says so.
    pub(crate) fn overlay_options(
        &self,
    ) -> Result<(String, Option<tempfile::TempDir>), SnapshotError> {
        let upper = &self.upper;
        let work = self.dir.join("work");
        let empty = self.dir.join("empty");
        let lowers: Vec<PathBuf> = if self.lowers.is_empty() {
            // overlayfs needs at least one lower directory (FROM scratch).
            vec![empty]
        } else {
            self.lowers.iter().rev().cloned().collect()
        };
        for path in lowers.iter().chain([upper, &work]) {
            let s = path.as_os_str().as_encoded_bytes();
            if s.contains(&b',') || s.contains(&b':') {
                return Err(SnapshotError::UnusablePath { path: path.clone() });
            }
        }
        let build = |lowers: &[PathBuf]| {
            let joined: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
            format!(
                "lowerdir={},upperdir={},workdir={}",
                joined.join(":"),
                upper.display(),
                work.display()
            )
        };
        let options = build(&lowers);
        if options.len() <= MAX_MOUNT_DATA {
            return Ok((options, None));
        }
        let links = tempfile::Builder::new()
            .prefix("cdl")
            .tempdir_in("/tmp")
            .map_err(io_err("create a directory in", Path::new("/tmp")))?;
        let mut short = Vec::with_capacity(lowers.len());
        for (i, lower) in lowers.iter().enumerate() {
            let link = links.path().join(format!("{i:x}"));
            std::os::unix::fs::symlink(lower, &link).map_err(io_err("create symlink", &link))?;
            short.push(link);
        }
        let options = build(&short);
        if options.len() <= MAX_MOUNT_DATA {
            Ok((options, Some(links)))
        } else {
            Err(SnapshotError::TooManyLayers {
                layers: lowers.len(),
                length: options.len(),
            })
        }
    }

    /// Mounts the overlay root filesystem at [`Snapshot::rootfs`]. The mount lasts until
    /// [`MountedRootfs::unmount`] or until the guard is dropped (also on error paths).
    pub fn mount(&self) -> Result<MountedRootfs<'_>, SnapshotError> {
        // The links (if any) must live until the mount call has resolved them.
        let (options, _links) = self.overlay_options()?;
        let target = self.rootfs.clone();
        self.syscall
            .mount(
                "overlay",
                &target,
                "overlay",
                MountFlags::empty(),
                Some(&options),
            )
            .map_err(|source| SnapshotError::Mount {
                target: target.clone(),
                source,
            })?;
        Ok(MountedRootfs {
            snapshot: self,
            target,
            mounted: true,
        })
    }

    /// Keeps the upper directory as the layer directory of `diff_id` (the diff_id of the
    /// layer [`LayerBuilder`](crate::LayerBuilder) made from it), so a later step stacks
    /// it as a lower directory without unpacking the layer again.
    pub fn commit(self, diff_id: &Digest) -> Result<LowerDir, SnapshotError> {
        let target = self
            .layers_root
            .join(diff_id.algorithm().as_ref())
            .join(diff_id.digest());
        if !target.is_dir() {
            let parent = target.parent().unwrap_or(&self.layers_root).to_owned();
            fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
            publish(&self.upper, &target)?;
        }
        Ok(LowerDir {
            diff_id: diff_id.clone(),
            path: target,
        })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // The mount guard borrows the snapshot, so nothing should be mounted here any
        // more; still, never walk into the mount point recursively: were the overlay
        // still mounted (a leaked guard), that would delete through it. `remove_dir` on
        // a mount point fails instead.
        for sub in ["upper", "work", "empty"] {
            let _ = fs::remove_dir_all(self.dir.join(sub));
        }
        let _ = fs::remove_dir(&self.rootfs);
        let _ = fs::remove_dir(&self.dir);
    }
}

/// A mounted snapshot root filesystem; unmounted by [`MountedRootfs::unmount`] or on drop.
#[derive(Debug)]
pub struct MountedRootfs<'a> {
    snapshot: &'a Snapshot,
    target: PathBuf,
    mounted: bool,
}

impl MountedRootfs<'_> {
    /// The mount point: the merged root filesystem.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Unmounts, reporting failure. If a normal unmount fails (something still uses the
    /// file system), the mount is detached lazily so it never outlives the build, and the
    /// first error is returned.
    ///
    /// Then directories that overlayfs copied up without a change (a mount point was
    /// created in them and removed again) are dropped from the upper directory, so they
    /// do not become layer entries.
    pub fn unmount(mut self) -> Result<(), SnapshotError> {
        self.mounted = false;
        unmount(self.snapshot.syscall.as_ref(), &self.target)?;
        let lowers: Vec<PathBuf> = self.snapshot.lowers.iter().rev().cloned().collect();
        prune_copied_up(&self.snapshot.upper, Path::new(""), &lowers)
            .map_err(io_err("tidy", &self.snapshot.upper))?;
        Ok(())
    }
}

/// Whether `path` (a directory of the upper dir) was copied up from a lower one: overlayfs
/// records the origin on copy-up, and marks new directories over deleted ones opaque.
fn copied_up_unchanged(path: &Path, rel: &Path, lowers_top_first: &[PathBuf]) -> bool {
    use std::os::unix::fs::MetadataExt;
    let has = |name: &str| {
        let mut none: [u8; 0] = [];
        rustix::fs::lgetxattr(path, name, &mut none[..]).is_ok()
    };
    if !has("trusted.overlay.origin") || has("trusted.overlay.opaque") {
        return false;
    }
    let Ok(upper) = fs::symlink_metadata(path) else {
        return false;
    };
    let Some(lower) = lowers_top_first
        .iter()
        .find_map(|l| fs::symlink_metadata(l.join(rel)).ok())
    else {
        return false;
    };
    lower.is_dir()
        && (
            lower.mode(),
            lower.uid(),
            lower.gid(),
            lower.mtime(),
            lower.mtime_nsec(),
        ) == (
            upper.mode(),
            upper.uid(),
            upper.gid(),
            upper.mtime(),
            upper.mtime_nsec(),
        )
}

/// Removes, deepest first, empty upper directories that [`copied_up_unchanged`] says
/// add nothing.
fn prune_copied_up(upper: &Path, rel: &Path, lowers_top_first: &[PathBuf]) -> io::Result<()> {
    let dir = upper.join(rel);
    let mut children = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            children.push(rel.join(entry.file_name()));
        }
    }
    for child in children {
        prune_copied_up(upper, &child, lowers_top_first)?;
    }
    if rel.as_os_str().is_empty() || fs::read_dir(&dir)?.next().is_some() {
        return Ok(());
    }
    if copied_up_unchanged(&dir, rel, lowers_top_first) {
        fs::remove_dir(&dir)?;
    }
    Ok(())
}

fn unmount(syscall: &dyn Syscall, target: &Path) -> Result<(), SnapshotError> {
    match syscall.umount(target, false) {
        Ok(()) => Ok(()),
        Err(source) => {
            let _ = syscall.umount(target, true);
            Err(SnapshotError::Unmount {
                target: target.to_owned(),
                source,
            })
        }
    }
}

impl Drop for MountedRootfs<'_> {
    fn drop(&mut self) {
        if self.mounted {
            let _ = unmount(self.snapshot.syscall.as_ref(), &self.target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, RecordingSyscall};

    fn digest(n: u8) -> Digest {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
            .parse()
            .expect("a digest")
    }

    fn snapshotter(root: &Path, syscall: Arc<RecordingSyscall>) -> Snapshotter {
        Snapshotter::with_syscall(root.to_owned(), syscall).expect("snapshotter")
    }

    fn fake_lowers(snap: &Snapshotter, n: u8) -> Vec<LowerDir> {
        (0..n)
            .map(|i| {
                let d = digest(i);
                fs::create_dir_all(snap.layer_path(&d)).expect("layer dir");
                snap.existing_lower(&d).expect("exists")
            })
            .collect()
    }

    #[test]
    fn overlay_options_list_the_top_layer_first() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let rec = Arc::new(RecordingSyscall::default());
        let snap = snapshotter(tmp.path(), rec.clone());
        let lowers = fake_lowers(&snap, 2);
        let s = snap.prepare(&lowers).expect("prepare");
        let mounted = s.mount().expect("mount");
        assert_eq!(mounted.path(), s.rootfs());
        drop(mounted);
        let calls = rec.calls();
        let expected = format!(
            "lowerdir={}:{},upperdir={},workdir={}",
            lowers[1].path().display(),
            lowers[0].path().display(),
            s.upper().display(),
            s.dir.join("work").display()
        );
        assert_eq!(
            calls,
            vec![
                Call::Mount {
                    source: "overlay".into(),
                    target: s.rootfs().to_owned(),
                    fstype: "overlay".into(),
                    flags: MountFlags::empty(),
                    data: Some(expected),
                },
                Call::Umount {
                    target: s.rootfs().to_owned(),
                    detach: false
                },
            ]
        );
    }

    #[test]
    fn scratch_gets_an_empty_lower_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let snap = snapshotter(tmp.path(), Arc::new(RecordingSyscall::default()));
        let s = snap.prepare(&[]).expect("prepare");
        let (options, _) = s.overlay_options().expect("options");
        let empty = s.dir.join("empty");
        assert!(options.starts_with(&format!("lowerdir={},", empty.display())));
        assert!(empty.is_dir());
    }

    #[test]
    fn many_layers_use_short_symlinks_then_fail_clearly() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // A long store path: 60 layers of ~150 bytes each overflow one page.
        let root = tmp.path().join("x".repeat(60)).join("y".repeat(60));
        let snap = snapshotter(&root, Arc::new(RecordingSyscall::default()));
        let lowers = fake_lowers(&snap, 60);
        let s = snap.prepare(&lowers).expect("prepare");
        let (options, links) = s.overlay_options().expect("options");
        assert!(links.is_some());
        assert!(options.len() <= MAX_MOUNT_DATA, "{}", options.len());
        let first = options
            .trim_start_matches("lowerdir=")
            .split(':')
            .next()
            .expect("a lower");
        // The first listed is the top layer, reached through a link.
        assert_eq!(
            fs::read_link(first).expect("a symlink"),
            lowers[59].path().to_owned()
        );

        let lowers = fake_lowers(&snap, 250);
        let s = snap.prepare(&lowers).expect("prepare");
        match s.overlay_options() {
            Err(SnapshotError::TooManyLayers {
                layers: 250,
                length,
            }) => {
                assert!(length > MAX_MOUNT_DATA)
            }
            other => panic!("expected TooManyLayers, got {other:?}"),
        }
        let message = s.overlay_options().expect_err("too long").to_string();
        assert!(message.contains("250 layers"), "{message}");
    }

    #[test]
    fn a_comma_in_the_store_path_is_refused_by_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let snap = snapshotter(
            &tmp.path().join("a,b"),
            Arc::new(RecordingSyscall::default()),
        );
        let s = snap.prepare(&[]).expect("prepare");
        let err = s.mount().expect_err("refused");
        assert!(matches!(err, SnapshotError::UnusablePath { .. }), "{err}");
    }

    #[test]
    fn a_busy_unmount_falls_back_to_a_lazy_detach_and_reports() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let rec = Arc::new(RecordingSyscall {
            fail_umounts: Some(rustix::io::Errno::BUSY.raw_os_error()),
            ..Default::default()
        });
        let snap = snapshotter(tmp.path(), rec.clone());
        let s = snap.prepare(&[]).expect("prepare");
        let err = s.mount().expect("mount").unmount().expect_err("busy");
        assert!(matches!(err, SnapshotError::Unmount { .. }), "{err}");
        let umounts: Vec<bool> = rec
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Umount { detach, .. } => Some(detach),
                Call::Mount { .. } => None,
            })
            .collect();
        assert_eq!(umounts, [false, true]);
    }

    #[test]
    fn a_failed_mount_leaves_nothing_to_unmount_and_drop_cleans_up() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let rec = Arc::new(RecordingSyscall {
            fail_mounts: Some(rustix::io::Errno::NODEV.raw_os_error()),
            ..Default::default()
        });
        let snap = snapshotter(tmp.path(), rec.clone());
        let s = snap.prepare(&[]).expect("prepare");
        let dir = s.dir.clone();
        let err = s.mount().expect_err("no overlay");
        assert!(err.to_string().contains("crossdock setup"), "{err}");
        assert_eq!(rec.calls().len(), 1);
        drop(s);
        assert!(!dir.exists());
    }

    #[test]
    fn dropping_never_deletes_through_a_mount_point() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let snap = snapshotter(tmp.path(), Arc::new(RecordingSyscall::default()));
        let s = snap.prepare(&[]).expect("prepare");
        let guard = s.mount().expect("mount");
        // What a still-mounted overlay would show: the lower layers' files.
        let shown = s.rootfs().join("bin");
        fs::write(&shown, "a lower file").expect("write");
        std::mem::forget(guard);
        let upper = s.upper().to_owned();
        drop(s);
        assert!(shown.exists(), "deleted through the mount point");
        assert!(!upper.exists());
    }

    #[test]
    fn commit_turns_the_upper_directory_into_a_shared_lower() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let snap = snapshotter(tmp.path(), Arc::new(RecordingSyscall::default()));
        let s = snap.prepare(&[]).expect("prepare");
        fs::write(s.upper().join("hello"), "hi").expect("write");
        let lower = s.commit(&digest(7)).expect("commit");
        assert_eq!(
            fs::read_to_string(lower.path().join("hello")).expect("read"),
            "hi"
        );
        assert_eq!(snap.existing_lower(&digest(7)), Some(lower));
    }
}
