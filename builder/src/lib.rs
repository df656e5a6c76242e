//! # builder: the daemonless multi-platform image builder
//!
//! The plumbing every image passes through between a registry and a build: a content
//! store, layer unpacking and creation, overlay snapshots and the RUN executor, image and
//! index assembly, a registry client (pull and push) and export. The build pipeline
//! (context, COPY, config, cache keys, step graph, scheduler) sits on top; RUN steps
//! reach the executor through the [`StepRunner`] trait.
//!
//! ## Brief overview
//!
//! - [`Store`] holds content-addressed blobs under a root directory
//!   (`~/.cache/crossdock` by default, [`Store::default_root`]). Blobs go in through a
//!   [`BlobWriter`], which hashes while streaming to a temp file and, on
//!   [`BlobWriter::commit`], verifies the expected digest and size before renaming into
//!   place. They come out through a [`BlobReader`], which re-verifies the digest at end of
//!   file and removes a corrupted blob so it gets fetched again. [`Store::gc`] removes
//!   what no root (an index or manifest digest) reaches. Several processes may share a
//!   store.
//! - [`unpack()`] applies a layer (plain, gzip or zstd tar) to a directory: OCI whiteouts,
//!   hard links, symlinks, xattrs, owners (as root), device nodes (as root). Any entry
//!   that would land outside the directory is refused with an [`UnpackError`] naming it.
//! - [`LayerBuilder`] turns a directory (a root filesystem, or an overlay upper
//!   directory, whose whiteouts become OCI whiteouts) into a reproducible layer written
//!   straight into the store, giving a [`Layer`]: digest, size, diff_id and media type.
//! - [`Compression`] names the layer compressions and their OCI media types.
//! - [`Snapshotter`] keeps one directory per layer ([`LowerDir`], by diff_id, unpacked
//!   once with whiteouts in overlayfs form) and makes [`Snapshot`]s: lower directories
//!   plus a fresh upper directory, mounted as an overlay root file system
//!   ([`MountedRootfs`], unmounted on drop). After a step the upper directory holds its
//!   changes: [`LayerBuilder::overlay_upper`] turns it into a layer and
//!   [`Snapshot::commit`] keeps it as the next step's lower directory.
//! - [`Executor`] runs a [`RunStep`] (command, env, cwd, user, [`NetworkMode`],
//!   [`RunMount`]s) over a mounted root file system: it builds an oci-spec runtime spec,
//!   validates it ([`InvalidSpec`]) before any side effect, writes the bundle and runs
//!   the [`RuntimeBinary`] (runc), streaming output to an [`OutputSink`]. A failure is a
//!   [`RunError`] naming the command with its exit code and last lines of output.
//! - [`BinfmtMisc`] tells whether a foreign platform's binaries run here ([`Emulation`]):
//!   a QEMU handler matching its ELF header, registered with the F flag; when not, the
//!   [`EmulationError`] names the handler and says to run `crossdock setup`.
//!   [`probe_overlay`] checks overlayfs the same way for `crossdock setup`.
//! - [`ImageBuilder`] assembles an image's config and manifest from layers, and
//!   [`IndexBuilder`] several platforms' images into one index (OCI media types by
//!   default, Docker's on request, never mixed), as canonical JSON written to the store.
//! - [`Registry`] pulls and pushes: references normalised as Docker does ([`ImageRef`]),
//!   credentials from `~/.docker/config.json`, mirrors, containerd's platform matching
//!   ([`select_manifest`]), and pushes that upload blobs, then manifests, then the index
//!   last ([`PushPlan`]). The [`Store`] is both its [`BlobSink`] and its [`BlobSource`].
//! - [`export_oci_tar`], [`export_oci_dir`] and [`export_local`] write an index as an OCI
//!   image layout (tarball or directory) or as one root filesystem per platform.
//!
//! A RUN step, end to end (as root, with runc installed):
//!
//! ```no_run
//! use builder::{Executor, LayerBuilder, RunStep, Snapshotter, Store, Stream};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let store = Store::new("/var/cache/crossdock")?;
//! # let base = LayerBuilder::rootfs("/tmp/rootfs").write(&store)?;
//! let snapshotter = Snapshotter::new(&store)?;
//! let lower = snapshotter.lower(&store, &base.digest, &base.diff_id)?;
//! let snapshot = snapshotter.prepare(&[lower])?;
//! let platform = crossbuild::Platform::parse("linux/arm64")?;
//! let step = RunStep::new(vec!["/bin/sh".into(), "-c".into(), "uname -m > /arch".into()], platform);
//! let mounted = snapshot.mount()?;
//! Executor::new(&store)?.run(mounted.path(), &step, &mut |_: Stream, line: &[u8]| {
//!     eprint!("{}", String::from_utf8_lossy(line))
//! })?;
//! mounted.unmount()?;
//! let layer = LayerBuilder::overlay_upper(snapshot.upper()).write(&store)?;
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```
//! The build pipeline (a Dockerfile evaluated by `frontend` for N platforms → images):
//!
//! - [`SourceTree`] is the build context read through `.dockerignore` exactly as moby's
//!   patternmatcher reads it ([`IgnorePatterns`]), walked in a fixed order, with a
//!   content digest per path set; another stage's root filesystem is one too.
//! - [`copy_into`] runs a COPY/ADD ([`CopySpec`]) into a fresh layer directory: Docker's
//!   destination rules, globs, `--chown`/`--chmod`, heredocs, local tars, URLs with
//!   `--checksum`; sources never leave their tree.
//! - [`StageConfig`] applies config instructions and records history as BuildKit does.
//! - [`KeyInputs`] makes a step's [`CacheKey`]; [`CacheIndex`] maps keys to results on
//!   disk, shared between builds.
//! - [`build_graph`] turns the evaluations into one [`StepGraph`] whose nodes are
//!   identified by cache key (a build-platform step shared by every target is one node),
//!   each tagged native, cross or emulated; bases come from a [`BaseResolver`]
//!   ([`RegistryBases`] in real builds).
//! - [`Scheduler`] runs the graph with bounded parallelism, RUN steps through the
//!   [`StepRunner`] seam, and gives each platform's layers and config ([`PlatformImage`]).
//!
//! Digests, media types and descriptors are [`oci_spec::image`]'s types. Nothing here
//! holds a whole layer in memory: every byte is hashed as it streams.
//!
//! ## Example
//!
//! ```
//! use builder::{unpack, Compression, LayerBuilder, Store};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let (store_dir, rootfs, target) =
//! #     (tmp.path().join("store"), tmp.path().join("rootfs"), tmp.path().join("target"));
//! # std::fs::create_dir_all(rootfs.join("etc"))?;
//! # std::fs::write(rootfs.join("etc/hostname"), "crossdock\n")?;
//! let store = Store::new(&store_dir)?;
//!
//! // A reproducible gzip layer from a root filesystem, written into the store.
//! let layer = LayerBuilder::rootfs(&rootfs)
//!     .compression(Compression::Gzip)
//!     .source_date_epoch(Some(1_700_000_000))
//!     .write(&store)?;
//! assert!(store.exists(&layer.digest));
//!
//! // Read back (digest verified while reading) and applied to another directory.
//! let report = unpack(store.open(&layer.digest)?, &target)?;
//! assert_eq!(report.diff_id, layer.diff_id);
//! assert_eq!(std::fs::read_to_string(target.join("etc/hostname"))?, "crossdock\n");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod bases;
mod cachekey;
mod compress;
mod config;
mod context;
mod copy;
mod digest;
mod emulation;
mod export;
mod graph;
mod image;
mod layer;
mod registry;
mod runtime;
mod schedule;
mod snapshot;
mod store;
mod store_io;
mod syscall;
mod tar;
mod unpack;

pub use crate::{
    bases::{parse_config, ParsedConfig, RegistryBases},
    cachekey::{CacheError, CacheIndex, CacheKey, CacheRecord, CachedLayer, KeyInputs},
    compress::Compression,
    config::{
        copy_created_by, ConfigEffect, ConfigError, HistoryStep, StageConfig, DEFAULT_SHELL,
        HISTORY_COMMENT,
    },
    context::{ContextError, EntryKind, IgnorePatterns, SourceTree, TreeEntry},
    copy::{
        copy_into, parse_chmod, resolve_owner, source_paths, CopyError, CopyReport, CopySource,
        CopySpec, Owner,
    },
    emulation::{
        registration, BinfmtHandler, BinfmtMisc, Emulation, EmulationError, BINFMT_MISC_DIR,
        BINFMT_MISC_ENV,
    },
    export::{export_local, export_oci_dir, export_oci_tar, ExportError, ExportReport},
    graph::{
        build_graph, BaseImage, BaseResolver, CopyFrom, GraphError, GraphInput, InlineFile,
        MountKind, MountSpec, Network, Node, NodeId, RunSpec, StepGraph, StepKind, TargetImage,
    },
    image::{
        Healthcheck, Image, ImageBuilder, ImageConfig, ImageError, Index, IndexBuilder, MediaTypes,
        ANNOTATION_BASE_DIGEST, ANNOTATION_BASE_NAME, ANNOTATION_CREATED,
    },
    layer::{Layer, LayerBuilder, LayerError},
    runtime::{
        Executor, InvalidSpec, NetworkMode, NoRuntime, OutputSink, RunError, RunMount, RunStep,
        RuntimeBinary, Stream, UserError, RUNTIME_ENV,
    },
    schedule::{
        BuildOutput, ExecError, LayerDir, NodeResult, PlatformImage, ResolvedMount, RunRequest,
        ScheduleOptions, Scheduler, StepError, StepEvent, StepRunner,
    },
    snapshot::{probe_overlay, LowerDir, MountedRootfs, Snapshot, SnapshotError, Snapshotter},
    store::{Blob, BlobReader, BlobWriter, GcOptions, GcReport, Store, StoreError},
    unpack::{unpack, UnpackError, UnpackReport},
};
pub use registry::{
    compatible_platforms, descriptor_platform, index_platforms, is_attestation, select_manifest,
    BlobDownload, BlobOutcome, BlobSink, BlobSource, CredentialError, Credentials, Direction,
    DockerConfig, ImageRef, ManifestError, NoProgress, Parsed, PlatformError, Progress, PullReport,
    PushError, PushPlan, PushReport, RawManifest, ReferenceError, Registry, RegistryConfig,
    RegistryError, ResolvedImage, RetryPolicy, Secret, VerifyError, DOCKER_LIST, DOCKER_MANIFEST,
    OCI_INDEX, OCI_MANIFEST,
};

/// The name this crate reports in diagnostics.
pub const NAME: &str = "crossdock-builder";
