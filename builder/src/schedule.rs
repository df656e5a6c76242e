//! Running a [`StepGraph`]: every node once, dependencies first, at most `jobs` at a time,
//! each layer-making step looked up in the cache first.
//!
//! RUN steps go through the [`StepRunner`] seam (the OCI runtime over overlay snapshots in
//! real builds; a recording fake in tests). COPY/ADD, WORKDIR and bases are done here,
//! with [`copy_into`], [`LayerBuilder`] and the [`BaseResolver`].
//!
//! Layer directories live under the scheduler's work directory, one per diff_id
//! (`<work>/layers/<hex>`), so a layer unpacked or built once serves every later step
//! and build. The first failure stops the build: nothing new starts, running steps
//! finish, and the error names the failing step's Dockerfile line; its dependents never
//! run.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbuild::Platform;

use crate::cachekey::{CacheIndex, CacheRecord, CachedLayer};
use crate::compress::Compression;
use crate::config::StageConfig;
use crate::context::SourceTree;
use crate::copy::{copy_into, resolve_owner};
use crate::graph::{BaseResolver, CopyFrom, MountKind, Node, NodeId, RunSpec, StepGraph, StepKind};
use crate::image::ImageBuilder;
use crate::layer::{Layer, LayerBuilder};
use crate::store::Store;

/// A RUN step's failure, as the executor reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExecError {
    /// What went wrong (`process "/bin/sh -c make" did not complete successfully: exit
    /// code: 2`), and what to do when it is the machine's fault (a missing QEMU handler).
    pub message: String,
    /// The end of the process's output, for the report.
    pub output: String,
}

/// A mount, resolved to host paths for the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedMount {
    /// Bind `host` at `target` (read-only unless `readwrite`; writes never reach a layer).
    Bind {
        /// In the container.
        target: String,
        /// On the host.
        host: PathBuf,
        /// `rw`.
        readwrite: bool,
    },
    /// A persistent cache directory.
    Cache {
        /// In the container.
        target: String,
        /// On the host (`<work>/cache-mounts/<id>`).
        host: PathBuf,
    },
    /// A tmpfs.
    Tmpfs {
        /// In the container.
        target: String,
    },
    /// A secret, provided by the executor (never written to a layer).
    Secret {
        /// In the container.
        target: String,
        /// `id`.
        id: String,
        /// Fail when the executor has no such secret.
        required: bool,
    },
    /// An SSH agent socket.
    Ssh {
        /// In the container.
        target: String,
        /// `id`.
        id: String,
    },
}

/// Everything an executor gets for one RUN.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    /// The process, environment, cwd, user, network, platform and mode.
    pub spec: &'a RunSpec,
    /// The root filesystem's layer directories, bottom first (overlay lower form:
    /// deletions are 0/0 character devices).
    pub lowers: &'a [PathBuf],
    /// An empty directory that must receive the step's changes (an overlay upper).
    pub upper: &'a Path,
    /// The mounts, resolved.
    pub mounts: &'a [ResolvedMount],
    /// `Dockerfile:12`.
    pub location: &'a str,
    /// `RUN go build ...`.
    pub display: &'a str,
}

/// The seam to the RUN executor (OCI runtime over overlay snapshots).
pub trait StepRunner: Send + Sync {
    /// Runs one RUN step; its changes must end up in `req.upper`.
    fn run(&self, req: &RunRequest<'_>) -> Result<(), ExecError>;

    /// Makes the layer `layer` (in `store`) available as the lower directory `dir`
    /// (which does not exist yet), in overlay form. The default unpacks it with
    /// [`crate::unpack()`], then turns the layer's own OCI whiteouts (which unpacking
    /// into an empty directory consumes) back into overlay whiteouts: a 0/0 character
    /// device per deleted name and `trusted.overlay.opaque=y` on opaque directories.
    fn unpack_layer(&self, store: &Store, layer: &Layer, dir: &Path) -> Result<(), ExecError> {
        unpack_as_lower(store, layer, dir)
    }
}

/// A failed step, named by its Dockerfile line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {display} (stage {stage}, {platforms}) failed: {message}")]
pub struct StepError {
    /// `Dockerfile:12`.
    pub location: String,
    /// `RUN make`.
    pub display: String,
    /// The stage.
    pub stage: String,
    /// The platforms that needed it.
    pub platforms: String,
    /// What went wrong.
    pub message: String,
    /// The step's output, when it ran a process.
    pub output: String,
}

/// What the scheduler reports as it goes.
#[derive(Debug)]
pub enum StepEvent<'a> {
    /// A step started.
    Started(&'a Node),
    /// A step was found in the cache.
    Cached(&'a Node),
    /// A step finished.
    Done(&'a Node, Duration),
    /// A step failed.
    Failed(&'a Node, &'a StepError),
}

/// A layer and its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDir {
    /// The layer in the store.
    pub layer: Layer,
    /// Its unpacked (or built) directory.
    pub dir: PathBuf,
}

/// What one node produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeResult {
    /// Its own layers (a base: all of the image's; a RUN/COPY/WORKDIR: one; else none).
    pub layers: Vec<LayerDir>,
    /// Found in the cache.
    pub cached: bool,
    /// Time taken.
    pub duration: Duration,
}

/// One target platform's result: everything an image needs.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform.
    pub platform: Platform,
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
    /// Config and history.
    pub config: StageConfig,
}

impl PlatformImage {
    /// An [`ImageBuilder`] with the layers, history and config (history entries that
    /// are not `empty_layer` take the layers in order).
    pub fn image_builder(&self) -> ImageBuilder {
        let mut b = ImageBuilder::new(self.platform.clone()).config(self.config.config.clone());
        let mut layers = self.layers.iter();
        for h in &self.config.history {
            if h.empty_layer {
                b = b.empty_step(h.created_by.clone());
            } else if let Some(l) = layers.next() {
                b = b.layer_created_by(l.clone(), Some(h.created_by.clone()));
            } else {
                b = b.empty_step(h.created_by.clone());
            }
            b = b.history_comment(h.comment.clone());
        }
        for l in layers {
            b = b.layer(l.clone());
        }
        b
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Per node (same index as [`StepGraph::nodes`]).
    pub nodes: Vec<NodeResult>,
    /// Per target platform, in the graph's order.
    pub images: Vec<PlatformImage>,
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct ScheduleOptions {
    /// Steps at a time (the number of cores by default).
    pub jobs: usize,
    /// `--no-cache`: never look up the cache (results are still recorded).
    pub no_cache: bool,
    /// Layer compression.
    pub compression: Compression,
    /// SOURCE_DATE_EPOCH for new layers.
    pub source_date_epoch: Option<u64>,
}

impl Default for ScheduleOptions {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            no_cache: false,
            compression: Compression::default(),
            source_date_epoch: None,
        }
    }
}

/// Runs a graph.
pub struct Scheduler<'a> {
    /// The graph.
    pub graph: &'a StepGraph,
    /// RUN steps.
    pub executor: &'a dyn StepRunner,
    /// Base images.
    pub resolver: &'a dyn BaseResolver,
    /// The build context.
    pub context: &'a SourceTree,
    /// Blobs.
    pub store: &'a Store,
    /// The step cache.
    pub cache: &'a CacheIndex,
    /// Layer directories, cache mounts, temporary directories.
    pub work: PathBuf,
    /// Settings.
    pub options: ScheduleOptions,
    /// Progress.
    pub events: Option<&'a (dyn Fn(&StepEvent<'_>) + Sync)>,
}

struct State {
    waiting: Vec<usize>,
    ready: VecDeque<NodeId>,
    running: usize,
    results: Vec<Option<NodeResult>>,
    failed: Option<Box<StepError>>,
    dependents: Vec<Vec<NodeId>>,
}

impl Scheduler<'_> {
    fn emit(&self, e: StepEvent<'_>) {
        if let Some(f) = self.events {
            f(&e);
        }
    }

    /// Runs every node; returns each node's result and each platform's image parts.
    pub fn run(&self) -> Result<BuildOutput, Box<StepError>> {
        let n = self.graph.nodes.len();
        let mut dependents = vec![Vec::new(); n];
        let mut waiting = vec![0; n];
        for node in &self.graph.nodes {
            waiting[node.id] = node.deps.len();
            for &d in &node.deps {
                dependents[d].push(node.id);
            }
        }
        let ready: VecDeque<NodeId> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let state = Mutex::new(State {
            waiting,
            ready,
            running: 0,
            results: vec![None; n],
            failed: None,
            dependents,
        });
        let wake = Condvar::new();
        let jobs = self.options.jobs.max(1);
        std::thread::scope(|s| {
            for _ in 0..jobs.min(n.max(1)) {
                s.spawn(|| self.worker(&state, &wake));
            }
        });
        let state = state.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = state.failed {
            return Err(e);
        }
        let results: Vec<NodeResult> = state
            .results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.ok_or_else(|| {
                    self.step_error(
                        &self.graph.nodes[i],
                        "never ran (a scheduler bug)".into(),
                        String::new(),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let images = self
            .graph
            .targets
            .iter()
            .map(|t| PlatformImage {
                platform: t.platform.clone(),
                layers: self
                    .chain(t.node, &results)
                    .into_iter()
                    .map(|l| l.layer)
                    .collect(),
                config: t.config.clone(),
            })
            .collect();
        Ok(BuildOutput {
            nodes: results,
            images,
        })
    }

    fn worker(&self, state: &Mutex<State>, wake: &Condvar) {
        loop {
            let (id, lowers) = {
                let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if st.failed.is_some() || (st.ready.is_empty() && st.running == 0) {
                        wake.notify_all();
                        return;
                    }
                    if let Some(id) = st.ready.pop_front() {
                        st.running += 1;
                        // Its inputs are done: gather their layers while locked.
                        let lowers = self.inputs_of(id, &st.results);
                        break (id, lowers);
                    }
                    st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            };
            let node = &self.graph.nodes[id];
            let started = Instant::now();
            let outcome = self.execute(node, &lowers);
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.running -= 1;
            match outcome {
                Ok((layers, cached)) => {
                    let duration = started.elapsed();
                    if !cached {
                        self.emit(StepEvent::Done(node, duration));
                    }
                    st.results[id] = Some(NodeResult {
                        layers,
                        cached,
                        duration,
                    });
                    let deps = st.dependents[id].clone();
                    for d in deps {
                        st.waiting[d] -= 1;
                        if st.waiting[d] == 0 {
                            st.ready.push_back(d);
                        }
                    }
                }
                Err(e) => {
                    self.emit(StepEvent::Failed(node, &e));
                    if st.failed.is_none() {
                        st.failed = Some(e);
                    }
                }
            }
            wake.notify_all();
        }
    }

    /// The layer chain of `id` (bottom first) and of every node it reads from.
    fn inputs_of(&self, id: NodeId, results: &[Option<NodeResult>]) -> Inputs {
        let node = &self.graph.nodes[id];
        let chain = |n: NodeId| -> Vec<LayerDir> {
            let mut out = Vec::new();
            let mut cur = Some(n);
            while let Some(c) = cur {
                if let Some(r) = &results[c] {
                    out.extend(r.layers.iter().rev().cloned());
                }
                cur = self.graph.nodes[c].parent;
            }
            out.reverse();
            out
        };
        Inputs {
            lowers: node.parent.map(chain).unwrap_or_default(),
            sources: node.deps.iter().map(|&d| (d, chain(d))).collect(),
        }
    }

    fn chain(&self, id: NodeId, results: &[NodeResult]) -> Vec<LayerDir> {
        let mut out = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            out.extend(results[c].layers.iter().rev().cloned());
            cur = self.graph.nodes[c].parent;
        }
        out.reverse();
        out
    }

    fn step_error(&self, node: &Node, message: String, output: String) -> Box<StepError> {
        Box::new(StepError {
            location: node.location.clone(),
            display: node.display.clone(),
            stage: node.stage.clone(),
            platforms: node
                .platforms
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            message,
            output,
        })
    }

    fn layer_path(&self, layer: &Layer) -> PathBuf {
        self.work.join("layers").join(layer.diff_id.digest())
    }

    /// Makes sure a layer has its directory, unpacking it from the store if needed.
    fn ensure_dir(&self, layer: &Layer) -> Result<LayerDir, ExecError> {
        let dir = self.layer_path(layer);
        if !dir.exists() {
            let tmp = self.temp_dir("unpack").map_err(io_exec)?;
            let target = tmp.path().join("layer");
            self.executor.unpack_layer(self.store, layer, &target)?;
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent).map_err(io_exec)?;
            }
            // Another worker may have won the race: theirs is as good as ours.
            if fs::rename(&target, &dir).is_err() && !dir.exists() {
                return Err(ExecError {
                    message: format!("cannot move the unpacked layer to {}", dir.display()),
                    output: String::new(),
                });
            }
        }
        Ok(LayerDir {
            layer: layer.clone(),
            dir,
        })
    }

    fn temp_dir(&self, what: &str) -> io::Result<tempfile::TempDir> {
        let base = self.work.join("tmp");
        fs::create_dir_all(&base)?;
        tempfile::Builder::new().prefix(what).tempdir_in(base)
    }

    /// Writes `dir` as a layer and keeps the directory as that layer's.
    fn commit(&self, dir: &Path, overlay: bool) -> Result<LayerDir, ExecError> {
        let builder = if overlay {
            LayerBuilder::overlay_upper(dir)
        } else {
            LayerBuilder::rootfs(dir)
        };
        let layer = builder
            .compression(self.options.compression)
            .source_date_epoch(self.options.source_date_epoch)
            .write(self.store)
            .map_err(|e| ExecError {
                message: e.to_string(),
                output: String::new(),
            })?;
        let target = self.layer_path(&layer);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_exec)?;
        }
        if !target.exists() && fs::rename(dir, &target).is_err() && !target.exists() {
            return Err(ExecError {
                message: format!("cannot keep the layer directory at {}", target.display()),
                output: String::new(),
            });
        }
        Ok(LayerDir { layer, dir: target })
    }

    /// A merged root filesystem of `layers` (for COPY --from and bind mounts), built once
    /// per chain under `<work>/merged/<node key>`.
    fn merged(&self, node: NodeId, layers: &[LayerDir]) -> Result<PathBuf, ExecError> {
        let dir = self
            .work
            .join("merged")
            .join(self.graph.nodes[node].key.hex());
        if dir.exists() {
            return Ok(dir);
        }
        let tmp = self.temp_dir("merge").map_err(io_exec)?;
        let root = tmp.path().join("root");
        fs::create_dir_all(&root).map_err(io_exec)?;
        for l in layers {
            merge_into(&l.dir, &root).map_err(io_exec)?;
        }
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(io_exec)?;
        }
        if fs::rename(&root, &dir).is_err() && !dir.exists() {
            return Err(ExecError {
                message: format!("cannot keep the merged tree at {}", dir.display()),
                output: String::new(),
            });
        }
        Ok(dir)
    }

    fn source_tree(&self, from: &CopyFrom, inputs: &Inputs) -> Result<SourceTree, ExecError> {
        match from {
            CopyFrom::Context => Ok(self.context.clone()),
            CopyFrom::Node(n) => {
                let layers = inputs.source(*n);
                Ok(SourceTree::rootfs(self.merged(*n, layers)?))
            }
        }
    }

    /// Runs one node: its layers and whether the cache answered.
    fn execute(
        &self,
        node: &Node,
        inputs: &Inputs,
    ) -> Result<(Vec<LayerDir>, bool), Box<StepError>> {
        let fail = |e: ExecError| self.step_error(node, e.message, e.output);
        match &node.kind {
            StepKind::Scratch | StepKind::Config => {
                self.emit(StepEvent::Started(node));
                return Ok((Vec::new(), false));
            }
            StepKind::Base(base) => {
                self.emit(StepEvent::Started(node));
                self.resolver
                    .fetch(base)
                    .map_err(|m| self.step_error(node, m, String::new()))?;
                let layers = base
                    .layers
                    .iter()
                    .map(|l| self.ensure_dir(l))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(fail)?;
                return Ok((layers, false));
            }
            _ => {}
        }
        if !self.options.no_cache {
            if let Some(record) = self.cache.get(&node.key, self.store) {
                if let Some(layer) = record.layer.as_ref().and_then(CachedLayer::layer) {
                    let dir = self.ensure_dir(&layer).map_err(fail)?;
                    self.emit(StepEvent::Cached(node));
                    return Ok((vec![dir], true));
                }
            }
        }
        self.emit(StepEvent::Started(node));
        let lowers: Vec<PathBuf> = inputs.lowers.iter().map(|l| l.dir.clone()).collect();
        let tmp = self.temp_dir("step").map_err(|e| fail(io_exec(e)))?;
        let dir = tmp.path().join("layer");
        fs::create_dir_all(&dir).map_err(|e| fail(io_exec(e)))?;
        let layer = match &node.kind {
            StepKind::Run(spec) => {
                let mounts = self.mounts(spec, inputs).map_err(fail)?;
                let req = RunRequest {
                    spec,
                    lowers: &lowers,
                    upper: &dir,
                    mounts: &mounts,
                    location: &node.location,
                    display: &node.display,
                };
                self.executor.run(&req).map_err(fail)?;
                self.commit(&dir, true).map_err(fail)?
            }
            StepKind::Copy { spec, from } => {
                let tree = self.source_tree(from, inputs).map_err(fail)?;
                copy_into(spec, &tree, &lowers, &dir).map_err(|e| {
                    // The step error names the location already.
                    let m = e.to_string();
                    let m = m
                        .strip_prefix(&format!("{}: ", node.location))
                        .unwrap_or(&m);
                    self.step_error(node, m.to_string(), String::new())
                })?;
                self.commit(&dir, false).map_err(fail)?
            }
            StepKind::Mkdir { path, user } => {
                let owner = match user {
                    None => None,
                    Some(u) => Some(resolve_owner(u, &lowers).map_err(|m| {
                        self.step_error(node, format!("WORKDIR owner: {m}"), String::new())
                    })?),
                };
                let target = dir.join(path.trim_start_matches('/'));
                fs::create_dir_all(&target).map_err(|e| fail(io_exec(e)))?;
                if let Some(o) = owner {
                    std::os::unix::fs::chown(&target, Some(o.uid), Some(o.gid))
                        .map_err(|e| fail(io_exec(e)))?;
                }
                self.commit(&dir, false).map_err(fail)?
            }
            // Handled before the cache lookup.
            StepKind::Scratch | StepKind::Config | StepKind::Base(_) => {
                return Ok((Vec::new(), false))
            }
        };
        let record = CacheRecord {
            layer: Some(CachedLayer::from(&layer.layer)),
            history: node.history.clone(),
        };
        self.cache
            .put(&node.key, &record)
            .map_err(|e| self.step_error(node, e.to_string(), String::new()))?;
        Ok((vec![layer], false))
    }

    fn mounts(&self, spec: &RunSpec, inputs: &Inputs) -> Result<Vec<ResolvedMount>, ExecError> {
        let mut out = Vec::new();
        for m in &spec.mounts {
            let target = m.target.clone();
            out.push(match &m.kind {
                MountKind::Bind {
                    source,
                    from,
                    readwrite,
                } => {
                    let tree = self.source_tree(from, inputs)?;
                    let rel = tree.clean_source(source).map_err(|e| ExecError {
                        message: e.to_string(),
                        output: String::new(),
                    })?;
                    let host = tree.resolve(&rel).map_err(|e| ExecError {
                        message: e.to_string(),
                        output: String::new(),
                    })?;
                    ResolvedMount::Bind {
                        target,
                        host,
                        readwrite: *readwrite,
                    }
                }
                MountKind::Cache { id } => {
                    let safe: String = id
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let host = self.work.join("cache-mounts").join(safe);
                    fs::create_dir_all(&host).map_err(io_exec)?;
                    ResolvedMount::Cache { target, host }
                }
                MountKind::Tmpfs => ResolvedMount::Tmpfs { target },
                MountKind::Secret { id, required } => ResolvedMount::Secret {
                    target,
                    id: id.clone(),
                    required: *required,
                },
                MountKind::Ssh { id } => ResolvedMount::Ssh {
                    target,
                    id: id.clone(),
                },
            });
        }
        Ok(out)
    }
}

/// What a node reads: its own lower chain and the chains of the nodes it depends on.
struct Inputs {
    lowers: Vec<LayerDir>,
    sources: Vec<(NodeId, Vec<LayerDir>)>,
}

impl Inputs {
    fn source(&self, node: NodeId) -> &[LayerDir] {
        self.sources
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, l)| l.as_slice())
            .unwrap_or(&[])
    }
}

/// The default [`StepRunner::unpack_layer`].
pub(crate) fn unpack_as_lower(store: &Store, layer: &Layer, dir: &Path) -> Result<(), ExecError> {
    let err = |m: String| ExecError {
        message: m,
        output: String::new(),
    };
    let blob = store.open(&layer.digest).map_err(|e| err(e.to_string()))?;
    crate::unpack(blob, dir).map_err(|e| err(e.to_string()))?;
    // Second pass over the tar, for the whiteout entries only.
    let blob = store.open(&layer.digest).map_err(|e| err(e.to_string()))?;
    let (decoder, _) = crate::compress::Decoder::new(blob).map_err(|e| err(e.to_string()))?;
    let mut tar = crate::tar::TarReader::new(decoder);
    while let Some(entry) = tar.next_entry().map_err(|e| err(format!("{e:?}")))? {
        let path = String::from_utf8_lossy(&entry.path)
            .trim_end_matches('/')
            .to_string();
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (String::new(), path.clone()),
        };
        let Some(hidden) = name.strip_prefix(".wh.") else {
            continue;
        };
        if parent.split('/').any(|c| c == "..") {
            continue; // unpack refused such names already
        }
        let parent_dir = dir.join(&parent);
        if hidden == ".wh..opq" {
            let set = ["trusted.overlay.opaque", "user.overlay.opaque"]
                .iter()
                .any(|attr| {
                    rustix::fs::lsetxattr(&parent_dir, *attr, b"y", rustix::fs::XattrFlags::empty())
                        .is_ok()
                });
            if !set {
                return Err(err(format!(
                    "cannot mark {} opaque (setting overlay xattrs needs root or a filesystem with user xattrs)",
                    parent_dir.display()
                )));
            }
            continue;
        }
        let target = parent_dir.join(hidden);
        if fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &target,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::empty(),
            0,
        )
        .map_err(|e| {
            err(format!(
                "cannot record the deletion of {} as an overlay whiteout: {e} (creating one needs root)",
                target.display()
            ))
        })?;
    }
    Ok(())
}

fn io_exec(e: io::Error) -> ExecError {
    ExecError {
        message: e.to_string(),
        output: String::new(),
    }
}

fn is_opaque(dir: &Path) -> bool {
    let mut buf = [0u8; 4];
    ["trusted.overlay.opaque", "user.overlay.opaque"]
        .iter()
        .any(|a| matches!(rustix::fs::lgetxattr(dir, *a, &mut buf), Ok(1) if buf[0] == b'y'))
}

/// Applies one layer directory onto `root`: copies what it has, and removes what its
/// overlay whiteouts (0/0 character devices) delete.
fn merge_into(layer: &Path, root: &Path) -> io::Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut names: Vec<_> = fs::read_dir(layer)?.collect::<Result<Vec<_>, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let src = e.path();
        let dst = root.join(e.file_name());
        let meta = fs::symlink_metadata(&src)?;
        let ft = meta.file_type();
        let existing = fs::symlink_metadata(&dst).ok();
        if ft.is_char_device() && meta.rdev() == 0 {
            match existing {
                Some(m) if m.is_dir() => fs::remove_dir_all(&dst)?,
                Some(_) => fs::remove_file(&dst)?,
                None => {}
            }
            continue;
        }
        if ft.is_dir() {
            if existing.as_ref().is_some_and(|m| !m.is_dir()) {
                fs::remove_file(&dst)?;
            }
            // An opaque directory hides everything below it in lower layers.
            if existing.as_ref().is_some_and(|m| m.is_dir()) && is_opaque(&src) {
                fs::remove_dir_all(&dst)?;
            }
            if !dst.exists() {
                fs::create_dir(&dst)?;
            }
            fs::set_permissions(&dst, meta.permissions())?;
            merge_into(&src, &dst)?;
            continue;
        }
        match existing {
            Some(m) if m.is_dir() => fs::remove_dir_all(&dst)?,
            Some(_) => fs::remove_file(&dst)?,
            None => {}
        }
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
        } else if ft.is_file() {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::{go_context, graph_for, FakeBases, GO_DOCKERFILE};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Records every RUN; writes a file named after the step into the upper directory;
    /// fails steps whose command contains "fail"; can sleep to show parallelism.
    #[derive(Default)]
    struct FakeExecutor {
        calls: Mutex<Vec<(String, String, usize)>>,
        running: AtomicUsize,
        max_running: AtomicUsize,
        sleep_ms: u64,
    }

    impl StepRunner for FakeExecutor {
        fn run(&self, req: &RunRequest<'_>) -> Result<(), ExecError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_running.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(self.sleep_ms));
            let cmd = req.spec.argv.join(" ");
            self.calls.lock().unwrap().push((
                cmd.clone(),
                req.spec.platform.to_string(),
                req.lowers.len(),
            ));
            self.running.fetch_sub(1, Ordering::SeqCst);
            if cmd.contains("fail") {
                return Err(ExecError {
                    message: format!(
                        "process \"{cmd}\" did not complete successfully: exit code: 1"
                    ),
                    output: "boom\n".into(),
                });
            }
            // `... -o /out/app ...` makes that file; otherwise a file named after the last
            // word. The content shows the environment, so it differs per target.
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let path = match words.iter().position(|w| *w == "-o") {
                Some(i) if i + 1 < words.len() => words[i + 1].trim_start_matches('/').to_string(),
                _ => words
                    .last()
                    .map(|w| w.chars().filter(|c| c.is_ascii_alphanumeric()).collect())
                    .unwrap_or_default(),
            };
            let file = req.upper.join(path);
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).map_err(io_exec)?;
            }
            fs::write(&file, format!("{cmd}\n{}\n", req.spec.env.join("\n"))).map_err(io_exec)?;
            Ok(())
        }
    }

    struct Env {
        _tmp: tempfile::TempDir,
        ctx: tempfile::TempDir,
        store: Store,
        cache: CacheIndex,
        work: PathBuf,
    }

    fn env() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("store")).unwrap();
        let cache = CacheIndex::new(&store).unwrap();
        let work = tmp.path().join("work");
        Env {
            ctx: go_context(),
            _tmp: tmp,
            store,
            cache,
            work,
        }
    }

    fn run(
        env: &Env,
        g: &StepGraph,
        exec: &FakeExecutor,
        jobs: usize,
        no_cache: bool,
    ) -> Result<BuildOutput, Box<StepError>> {
        let ctx = SourceTree::context(env.ctx.path(), None).unwrap();
        Scheduler {
            graph: g,
            executor: exec,
            resolver: &FakeBases,
            context: &ctx,
            store: &env.store,
            cache: &env.cache,
            work: env.work.clone(),
            options: ScheduleOptions {
                jobs,
                no_cache,
                compression: Compression::Gzip,
                source_date_epoch: Some(0),
            },
            events: None,
        }
        .run()
    }

    const THREE: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

    #[test]
    fn shared_steps_run_once_and_second_build_is_cached() {
        let e = env();
        let g = graph_for(GO_DOCKERFILE, e.ctx.path(), &THREE, &FakeBases).unwrap();
        let exec = FakeExecutor::default();
        let out = run(&e, &g, &exec, 2, false).unwrap();
        let calls = exec.calls.lock().unwrap().clone();
        let downloads = calls
            .iter()
            .filter(|c| c.0.ends_with("go mod download"))
            .count();
        assert_eq!(downloads, 1, "{calls:?}");
        let builds: Vec<&str> = calls
            .iter()
            .filter(|c| c.0.contains("go build"))
            .map(|c| c.1.as_str())
            .collect();
        assert_eq!(
            builds, ["linux/amd64"; 3],
            "cross builds run on the build platform"
        );
        let apt: Vec<String> = {
            let mut v: Vec<String> = calls
                .iter()
                .filter(|c| c.0.contains("apt-get"))
                .map(|c| c.1.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(apt, ["linux/amd64", "linux/arm/v7", "linux/arm64"]);
        assert_eq!(calls.len(), 1 + 3 + 3);

        // Each image: WORKDIR, COPY go.mod, RUN download, COPY ., RUN build in the build
        // stage are not in the final image; final image = apt layer + COPY layer.
        assert_eq!(out.images.len(), 3);
        for img in &out.images {
            assert_eq!(img.layers.len(), 2, "{:?}", img.platform);
        }
        assert_ne!(
            out.images[0].layers[1].digest, out.images[1].layers[1].digest,
            "the copied binary differs per platform"
        );
        let image = out.images[1]
            .image_builder()
            .source_date_epoch(Some(0))
            .write(&e.store)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&image.config_bytes).unwrap();
        assert_eq!(v["architecture"], "arm64");
        assert_eq!(v["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        let last = v["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["created_by"], "ENTRYPOINT [\"/usr/local/bin/app\"]");

        // Second run, new process state: everything that makes a layer is CACHED.
        let exec2 = FakeExecutor::default();
        let out2 = run(&e, &g, &exec2, 2, false).unwrap();
        assert!(exec2.calls.lock().unwrap().is_empty());
        for (n, r) in g.nodes.iter().zip(&out2.nodes) {
            assert_eq!(r.cached, n.makes_layer(), "{}", n.display);
        }
        assert_eq!(out2.images[2].layers, out.images[2].layers);

        // --no-cache runs everything again.
        let exec3 = FakeExecutor::default();
        run(&e, &g, &exec3, 2, true).unwrap();
        assert_eq!(exec3.calls.lock().unwrap().len(), 7);
    }

    #[test]
    fn dependencies_run_first_and_see_their_layers() {
        let e = env();
        let text = "FROM base AS a\nRUN one\nRUN two\nFROM a AS b\nRUN three\nFROM base\nCOPY --from=b /one /x\nRUN four\n";
        let g = graph_for(text, e.ctx.path(), &["linux/amd64"], &FakeBases).unwrap();
        let exec = FakeExecutor::default();
        let out = run(&e, &g, &exec, 4, false).unwrap();
        let calls = exec.calls.lock().unwrap().clone();
        let order: Vec<&str> = calls
            .iter()
            .map(|c| c.0.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(order, ["one", "two", "three", "four"]);
        // Each RUN sees the layers below it.
        let lowers: Vec<usize> = calls.iter().map(|c| c.2).collect();
        assert_eq!(lowers, [0, 1, 2, 1]);
        // COPY --from read the merged filesystem of stage b.
        let merged = e.work.join("merged");
        assert!(merged.exists());
        assert_eq!(out.images[0].layers.len(), 2);
        let copy = g
            .nodes
            .iter()
            .position(|n| n.display.starts_with("COPY"))
            .unwrap();
        let dir = &out.nodes[copy].layers[0].dir;
        assert!(fs::read_to_string(dir.join("x"))
            .unwrap()
            .starts_with("/bin/sh -c one"));

        // A missing source in another stage names the line and the stage.
        let text = "FROM base AS a\nRUN one\nFROM base\nCOPY --from=a /nope /x\n";
        let g = graph_for(text, e.ctx.path(), &["linux/amd64"], &FakeBases).unwrap();
        let err = run(&e, &g, &FakeExecutor::default(), 2, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dockerfile:4: COPY --from=a /nope /x (stage stage-1, linux/amd64) failed: \
             COPY failed: source \"/nope\" not found in the source stage"
        );
    }

    #[test]
    fn parallelism_is_bounded() {
        let e = env();
        let mut text = String::new();
        for i in 0..6 {
            text.push_str(&format!("FROM base AS s{i}\nRUN job{i}\n"));
        }
        text.push_str("FROM scratch\n");
        for i in 0..6 {
            text.push_str(&format!("COPY --from=s{i} /job{i} /\n"));
        }
        let g = graph_for(&text, e.ctx.path(), &["linux/amd64"], &FakeBases).unwrap();
        let exec = FakeExecutor {
            sleep_ms: 60,
            ..FakeExecutor::default()
        };
        let out = run(&e, &g, &exec, 2, false).unwrap();
        // Six independent RUNs, at most two at a time (and two did overlap).
        assert_eq!(exec.calls.lock().unwrap().len(), 6);
        assert_eq!(exec.max_running.load(Ordering::SeqCst), 2);
        assert_eq!(out.images[0].layers.len(), 6);

        let e = env();
        let exec = FakeExecutor {
            sleep_ms: 60,
            ..FakeExecutor::default()
        };
        run(&e, &g, &exec, 3, false).unwrap();
        assert_eq!(exec.max_running.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn events_show_started_done_and_cached() {
        let e = env();
        let g = graph_for(
            "FROM base\nRUN step\nENV A=1\n",
            e.ctx.path(),
            &["linux/amd64"],
            &FakeBases,
        )
        .unwrap();
        let ctx = SourceTree::context(e.ctx.path(), None).unwrap();
        let record = |exec: &FakeExecutor| -> Vec<String> {
            let seen = Mutex::new(Vec::new());
            let events = |ev: &StepEvent<'_>| {
                let s = match ev {
                    StepEvent::Started(n) => format!("start {}", n.display),
                    StepEvent::Cached(n) => format!("CACHED {}", n.display),
                    StepEvent::Done(n, _) => format!("done {}", n.display),
                    StepEvent::Failed(n, _) => format!("failed {}", n.display),
                };
                seen.lock().unwrap().push(s);
            };
            Scheduler {
                graph: &g,
                executor: exec,
                resolver: &FakeBases,
                context: &ctx,
                store: &e.store,
                cache: &e.cache,
                work: e.work.clone(),
                options: ScheduleOptions {
                    jobs: 1,
                    ..ScheduleOptions::default()
                },
                events: Some(&events),
            }
            .run()
            .unwrap();
            seen.into_inner().unwrap()
        };
        let first = record(&FakeExecutor::default());
        assert_eq!(
            first,
            [
                "start FROM base",
                "done FROM base",
                "start RUN step",
                "done RUN step",
                "start ENV A=1",
                "done ENV A=1"
            ]
        );
        let second = record(&FakeExecutor::default());
        assert_eq!(
            second,
            [
                "start FROM base",
                "done FROM base",
                "CACHED RUN step",
                "start ENV A=1",
                "done ENV A=1"
            ]
        );
    }

    #[test]
    fn cached_layers_keep_their_deletions_as_lowers() {
        if !rustix::process::geteuid().is_root() {
            return; // whiteouts are character devices: root only
        }
        let e = env();
        let upper = e.work.join("upper");
        fs::create_dir_all(upper.join("etc/opq")).unwrap();
        fs::write(upper.join("etc/opq/new"), "n").unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            upper.join("etc/gone"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::empty(),
            0,
        )
        .unwrap();
        rustix::fs::lsetxattr(
            upper.join("etc/opq"),
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        let layer = LayerBuilder::overlay_upper(&upper).write(&e.store).unwrap();

        let lower = e.work.join("lower");
        unpack_as_lower(&e.store, &layer, &lower).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = fs::symlink_metadata(lower.join("etc/gone")).unwrap();
        assert!(m.file_type().is_char_device() && m.rdev() == 0);
        assert!(is_opaque(&lower.join("etc/opq")));

        // Merged over a base that has both, the deletions win.
        let base = e.work.join("base");
        fs::create_dir_all(base.join("etc/opq")).unwrap();
        fs::write(base.join("etc/gone"), "g").unwrap();
        fs::write(base.join("etc/opq/old"), "o").unwrap();
        fs::write(base.join("etc/kept"), "k").unwrap();
        let root = e.work.join("root");
        fs::create_dir_all(&root).unwrap();
        merge_into(&base, &root).unwrap();
        merge_into(&lower, &root).unwrap();
        assert!(!root.join("etc/gone").exists());
        assert!(!root.join("etc/opq/old").exists());
        assert!(root.join("etc/opq/new").exists());
        assert!(root.join("etc/kept").exists());
    }

    #[test]
    fn a_failing_step_names_its_line_and_stops_dependents() {
        let e = env();
        let text = "FROM base\nRUN ok\nRUN please fail\nRUN never\n";
        let g = graph_for(
            text,
            e.ctx.path(),
            &["linux/amd64", "linux/arm64"],
            &FakeBases,
        )
        .unwrap();
        let exec = FakeExecutor::default();
        let err = run(&e, &g, &exec, 1, false).unwrap_err();
        assert_eq!(err.location, "Dockerfile:3");
        assert_eq!(err.display, "RUN please fail");
        assert!(
            err.to_string()
                .starts_with("Dockerfile:3: RUN please fail (stage stage-0, linux/"),
            "{err}"
        );
        assert!(err.message.contains("exit code: 1"));
        assert_eq!(err.output, "boom\n");
        let calls = exec.calls.lock().unwrap().clone();
        assert!(calls.iter().all(|c| !c.0.contains("never")), "{calls:?}");
        // A failed step is not cached: fixing nothing and running again runs it again.
        let exec2 = FakeExecutor::default();
        let _ = run(&e, &g, &exec2, 1, false);
        assert!(exec2
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.0.contains("fail")));
        assert!(
            exec2
                .calls
                .lock()
                .unwrap()
                .iter()
                .all(|c| !c.0.ends_with(" ok")),
            "ok was cached"
        );
    }
}
