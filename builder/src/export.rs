//! Export of an image or index from the [`Store`]: an OCI image layout (tarball or
//! directory) or one root filesystem directory per platform.
//!
//! Everything is streamed from the store (digests re-verified as read) and lands
//! atomically: built in a temporary file or directory next to the destination, then
//! renamed into place.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{
    Descriptor, Digest, ImageConfiguration, ImageIndex, ImageIndexBuilder, ImageManifest, MediaType,
};

use crate::image::{canonical_json, ImageError};
use crate::registry::is_attestation;
use crate::store::{Store, StoreError};
use crate::tar::{Entry, EntryKind, TarWriter};
use crate::unpack::{unpack, UnpackError};

/// `org.opencontainers.image.ref.name`, the tag of an `index.json` entry.
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The `oci-layout` file's content.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// Largest manifest, index or config read into memory.
const MAX_JSON: u64 = 16 << 20;

/// Errors from export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The destination exists and is not empty; pass `overwrite` to replace it.
    #[error("{} exists and is not empty; refusing to replace it", .0.display())]
    DestinationNotEmpty(PathBuf),
    /// A manifest, index or config in the store is not what its media type says.
    #[error("blob {digest} is not a valid {kind}: {message}")]
    Invalid {
        /// The blob.
        digest: Digest,
        /// What it should have been.
        kind: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The index lists no runnable image.
    #[error("{0} lists no image to export")]
    NoImages(Digest),
    /// A layer could not be applied.
    #[error("cannot unpack layer {layer} into {}: {source}", root.display())]
    Unpack {
        /// The layer.
        layer: Digest,
        /// The directory.
        root: PathBuf,
        /// What unpack said.
        source: Box<UnpackError>,
    },
    /// A layer's uncompressed digest is not the config's `rootfs.diff_ids` entry.
    #[error("layer {layer} unpacks to {actual}, but the image config expects {expected}")]
    DiffIdMismatch {
        /// The layer.
        layer: Digest,
        /// From the config.
        expected: String,
        /// Computed while unpacking.
        actual: Digest,
    },
    /// The store refused a read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Serialising `index.json` failed.
    #[error(transparent)]
    Image(#[from] ImageError),
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

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Blobs written (OCI layouts) or layers applied (local export).
    pub blobs: usize,
    /// Bytes of blob content read from the store.
    pub bytes: u64,
    /// The platforms exported, as `os/arch[/variant]`, in index order (local export:
    /// with the directory each went to).
    pub platforms: Vec<String>,
}

/// `type=oci,dest=x.tar`: an OCI image layout tarball holding `top` (an index or an image
/// manifest already in the store) and every blob it reaches. `tag` becomes the
/// `org.opencontainers.image.ref.name` annotation of its `index.json` entry. An existing
/// file at `dest` is replaced atomically.
pub fn export_oci_tar(
    store: &Store,
    top: &Descriptor,
    tag: Option<&str>,
    dest: &Path,
) -> Result<ExportReport, ExportError> {
    let blobs = reachable(store, top)?;
    let index_json = layout_index(top, tag)?;
    let parent = parent_of(dest);
    let mut tmp = tempfile::Builder::new()
        .prefix(".crossdock-export-")
        .suffix(".tar.tmp")
        .tempfile_in(&parent)
        .map_err(io_err("create a temporary file in", &parent))?;
    let mut report = ExportReport {
        platforms: platforms_of(store, top)?,
        ..ExportReport::default()
    };
    {
        let tmp_path = tmp.path().to_owned();
        let write_err = io_err("write", &tmp_path);
        let mut tar = TarWriter::new(BufWriter::new(tmp.as_file_mut()));
        let file = |path: &str, size: u64| {
            let mut e = Entry::new(EntryKind::File, path.as_bytes().to_vec());
            e.size = size;
            e
        };
        let dir = |path: &str| {
            let mut e = Entry::new(EntryKind::Directory, path.as_bytes().to_vec());
            e.mode = 0o755;
            e
        };
        let small = |tar: &mut TarWriter<_>, path: &str, bytes: &[u8]| {
            tar.append(&file(path, bytes.len() as u64), Some(&mut &bytes[..]))
        };
        let result = (|| -> Result<(), ExportError> {
            small(&mut tar, "oci-layout", OCI_LAYOUT).map_err(|e| io_err("write", &tmp_path)(e))?;
            small(&mut tar, "index.json", &index_json)
                .map_err(|e| io_err("write", &tmp_path)(e))?;
            tar.append(&dir("blobs"), None)
                .map_err(|e| io_err("write", &tmp_path)(e))?;
            tar.append(&dir("blobs/sha256"), None)
                .map_err(|e| io_err("write", &tmp_path)(e))?;
            for digest in &blobs {
                let mut reader = store.open(digest)?;
                let size = reader.size();
                let name = format!("blobs/sha256/{}", digest.digest());
                tar.append(&file(&name, size), Some(&mut reader))
                    .map_err(|e| from_read_or_write(e, &tmp_path, store, digest))?;
                // Reading to the end makes the reader verify the digest.
                let mut rest = [0u8; 1];
                if reader
                    .read(&mut rest)
                    .map_err(|e| from_read_or_write(e, &tmp_path, store, digest))?
                    != 0
                {
                    return Err(ExportError::Invalid {
                        digest: digest.clone(),
                        kind: "blob",
                        message: "longer than the store says".into(),
                    });
                }
                report.blobs += 1;
                report.bytes += size;
            }
            Ok(())
        })();
        result?;
        let mut out = tar.finish().map_err(write_err)?;
        out.flush().map_err(io_err("write", &tmp_path))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(io_err("sync", tmp.path()))?;
    tmp.persist(dest)
        .map_err(|e| io_err("rename into place", dest)(e.error))?;
    Ok(report)
}

/// `type=oci,dest=dir,tar=false`: the same OCI image layout as a directory. A non-empty
/// existing `dest` is refused unless `overwrite`.
pub fn export_oci_dir(
    store: &Store,
    top: &Descriptor,
    tag: Option<&str>,
    dest: &Path,
    overwrite: bool,
) -> Result<ExportReport, ExportError> {
    check_destination(dest, overwrite)?;
    let blobs = reachable(store, top)?;
    let index_json = layout_index(top, tag)?;
    let mut report = ExportReport {
        platforms: platforms_of(store, top)?,
        ..ExportReport::default()
    };
    install_dir(dest, overwrite, |root| {
        fs::write(root.join("oci-layout"), OCI_LAYOUT)
            .map_err(io_err("write", &root.join("oci-layout")))?;
        fs::write(root.join("index.json"), &index_json)
            .map_err(io_err("write", &root.join("index.json")))?;
        let dir = root.join("blobs/sha256");
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        for digest in &blobs {
            let path = dir.join(digest.digest());
            let mut reader = store.open(digest)?;
            let mut out = File::create(&path).map_err(io_err("create", &path))?;
            let n = io::copy(&mut reader, &mut out)
                .map_err(|e| from_read_or_write(e, &path, store, digest))?;
            out.sync_all().map_err(io_err("sync", &path))?;
            report.blobs += 1;
            report.bytes += n;
        }
        Ok(())
    })?;
    Ok(report)
}

/// `type=local,dest=dir`: the root filesystem of each platform, its layers unpacked in
/// order, in `dest/<os>_<arch>[_<variant>]/` (or `dest/` itself for a single platform).
/// Attestation entries are skipped. A non-empty existing `dest` is refused unless
/// `overwrite`.
pub fn export_local(
    store: &Store,
    top: &Descriptor,
    dest: &Path,
    overwrite: bool,
) -> Result<ExportReport, ExportError> {
    check_destination(dest, overwrite)?;
    let images = images_of(store, top)?;
    if images.is_empty() {
        return Err(ExportError::NoImages(top.digest().clone()));
    }
    let single = images.len() == 1;
    let mut report = ExportReport::default();
    install_dir(dest, overwrite, |root| {
        for (descriptor, platform) in &images {
            let target = if single {
                root.to_owned()
            } else {
                let dir = root.join(platform.replace('/', "_"));
                fs::create_dir(&dir).map_err(io_err("create", &dir))?;
                dir
            };
            let manifest: ImageManifest = read_json(store, descriptor.digest(), "image manifest")?;
            let config: ImageConfiguration =
                read_json(store, manifest.config().digest(), "image config")?;
            let diff_ids = config.rootfs().diff_ids();
            for (i, layer) in manifest.layers().iter().enumerate() {
                let reader = store.open(layer.digest())?;
                let unpacked = unpack(reader, &target).map_err(|source| ExportError::Unpack {
                    layer: layer.digest().clone(),
                    root: target.clone(),
                    source: Box::new(source),
                })?;
                if let Some(expected) = diff_ids.get(i) {
                    if *expected != unpacked.diff_id.to_string() {
                        return Err(ExportError::DiffIdMismatch {
                            layer: layer.digest().clone(),
                            expected: expected.clone(),
                            actual: unpacked.diff_id,
                        });
                    }
                }
                report.blobs += 1;
                report.bytes += layer.size();
            }
            report.platforms.push(platform.clone());
        }
        Ok(())
    })?;
    Ok(report)
}

/// Every blob `top` reaches, `top` first, each once.
fn reachable(store: &Store, top: &Descriptor) -> Result<Vec<Digest>, ExportError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![top.clone()];
    while let Some(d) = stack.pop() {
        if !seen.insert(d.digest().to_string()) {
            continue;
        }
        out.push(d.digest().clone());
        match kind(d.media_type()) {
            Kind::Index => {
                let index: ImageIndex = read_json(store, d.digest(), "image index")?;
                stack.extend(index.manifests().iter().rev().cloned());
            }
            Kind::Manifest => {
                let manifest: ImageManifest = read_json(store, d.digest(), "image manifest")?;
                stack.extend(manifest.layers().iter().rev().cloned());
                stack.push(manifest.config().clone());
            }
            Kind::Other => {
                if !store.exists(d.digest()) {
                    return Err(StoreError::NotFound {
                        digest: d.digest().clone(),
                    }
                    .into());
                }
            }
        }
    }
    Ok(out)
}

/// The runnable image manifests `top` stands for, with their platform strings.
fn images_of(store: &Store, top: &Descriptor) -> Result<Vec<(Descriptor, String)>, ExportError> {
    let entries = match kind(top.media_type()) {
        Kind::Index => {
            let index: ImageIndex = read_json(store, top.digest(), "image index")?;
            index
                .manifests()
                .iter()
                .filter(|d| kind(d.media_type()) == Kind::Manifest && !is_attestation(d))
                .cloned()
                .collect()
        }
        Kind::Manifest => vec![top.clone()],
        Kind::Other => {
            return Err(ExportError::Invalid {
                digest: top.digest().clone(),
                kind: "image index or manifest",
                message: format!("media type {}", top.media_type()),
            })
        }
    };
    let mut out = Vec::new();
    for d in entries {
        let platform = match d.platform() {
            Some(p) => format_platform(
                &p.os().to_string(),
                &p.architecture().to_string(),
                p.variant().as_deref(),
            ),
            None => {
                let manifest: ImageManifest = read_json(store, d.digest(), "image manifest")?;
                let config: ImageConfiguration =
                    read_json(store, manifest.config().digest(), "image config")?;
                format_platform(
                    &config.os().to_string(),
                    &config.architecture().to_string(),
                    config.variant().as_deref(),
                )
            }
        };
        out.push((d, platform));
    }
    Ok(out)
}

fn platforms_of(store: &Store, top: &Descriptor) -> Result<Vec<String>, ExportError> {
    Ok(images_of(store, top)?.into_iter().map(|(_, p)| p).collect())
}

fn format_platform(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    }
}

#[derive(PartialEq, Eq)]
enum Kind {
    Index,
    Manifest,
    Other,
}

fn kind(media_type: &MediaType) -> Kind {
    match media_type {
        MediaType::ImageIndex => Kind::Index,
        MediaType::ImageManifest => Kind::Manifest,
        MediaType::Other(t) if t == crate::registry::DOCKER_LIST => Kind::Index,
        MediaType::Other(t) if t == crate::registry::DOCKER_MANIFEST => Kind::Manifest,
        _ => Kind::Other,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    store: &Store,
    digest: &Digest,
    kind: &'static str,
) -> Result<T, ExportError> {
    let reader = store.open(digest)?;
    let mut bytes = Vec::new();
    let path = store.blob_path(digest)?;
    reader
        .take(MAX_JSON + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::from_io(e, "read", &path))?;
    if bytes.len() as u64 > MAX_JSON {
        return Err(ExportError::Invalid {
            digest: digest.clone(),
            kind,
            message: format!("larger than {MAX_JSON} bytes"),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| ExportError::Invalid {
        digest: digest.clone(),
        kind,
        message: e.to_string(),
    })
}

/// `index.json`: an OCI index with one entry, `top`, tagged `tag`.
fn layout_index(top: &Descriptor, tag: Option<&str>) -> Result<Vec<u8>, ExportError> {
    let mut entry = top.clone();
    if let Some(tag) = tag {
        let mut annotations = entry.annotations().clone().unwrap_or_default();
        annotations.insert(ANNOTATION_REF_NAME.to_owned(), tag.to_owned());
        entry.set_annotations(Some(annotations));
    }
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![entry])
        .build()
        .map_err(|e| ImageError::Spec {
            what: "index",
            message: e.to_string(),
        })?;
    Ok(canonical_json(&index, "index")?)
}

/// A read error from the store (corruption, missing blob) or a write error.
fn from_read_or_write(err: io::Error, path: &Path, store: &Store, digest: &Digest) -> ExportError {
    if err.get_ref().is_some_and(|e| e.is::<StoreError>()) {
        let blob = store.blob_path(digest).unwrap_or_default();
        ExportError::Store(StoreError::from_io(err, "read", &blob))
    } else {
        io_err("write", path)(err)
    }
}

fn parent_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn is_empty_dir(path: &Path) -> Result<bool, ExportError> {
    let mut entries = fs::read_dir(path).map_err(io_err("read", path))?;
    Ok(entries.next().is_none())
}

fn check_destination(dest: &Path, overwrite: bool) -> Result<(), ExportError> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("inspect", dest)(e)),
        Ok(_) if overwrite => Ok(()),
        Ok(meta) if meta.is_dir() && is_empty_dir(dest)? => Ok(()),
        Ok(_) => Err(ExportError::DestinationNotEmpty(dest.to_owned())),
    }
}

/// Builds a directory in a temporary directory next to `dest` with `fill`, then renames
/// it into place (replacing an empty directory, or anything when `overwrite`).
fn install_dir(
    dest: &Path,
    overwrite: bool,
    fill: impl FnOnce(&Path) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let parent = parent_of(dest);
    fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".crossdock-export-")
        .tempdir_in(&parent)
        .map_err(io_err("create a temporary directory in", &parent))?;
    fill(tmp.path())?;
    // The temporary directory is created 0700; an exported tree is for others to read.
    fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(io_err("set permissions of", tmp.path()))?;

    let mut old: Option<tempfile::TempDir> = None;
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("inspect", dest)(e)),
        Ok(meta) if meta.is_dir() && is_empty_dir(dest)? => {
            fs::remove_dir(dest).map_err(io_err("replace", dest))?;
        }
        Ok(_) if overwrite => {
            // Move the old content aside into a temporary directory that removes it.
            let aside = tempfile::Builder::new()
                .prefix(".crossdock-old-")
                .tempdir_in(&parent)
                .map_err(io_err("create a temporary directory in", &parent))?;
            let target = aside.path().join("old");
            fs::rename(dest, &target).map_err(io_err("move aside", dest))?;
            old = Some(aside);
        }
        Ok(_) => return Err(ExportError::DestinationNotEmpty(dest.to_owned())),
    }
    let built = tmp.keep();
    if let Err(e) = fs::rename(&built, dest) {
        let _ = fs::remove_dir_all(&built);
        if let Some(aside) = &old {
            let _ = fs::rename(aside.path().join("old"), dest);
        }
        return Err(io_err("rename into place", dest)(e));
    }
    drop(old);
    Ok(())
}
