//! The step graph: a Dockerfile evaluated for N target platforms becomes one graph of
//! steps, each identified by its cache key, so a step that is the same for several
//! platforms (a build-platform `go mod download`) is one node that runs once.
//!
//! Per target platform, each stage the target needs is a chain of steps: a base (pull
//! an image, `scratch`, or continue from an earlier stage's last step), then one step
//! per instruction: RUN, COPY/ADD, WORKDIR (a small layer) or a config-only step. Each
//! node carries how it runs (native, cross or emulated, from [`frontend::plan`]) and the
//! platforms that use it. The graph never runs anything; [`crate::Scheduler`] does.

use std::collections::{BTreeMap, HashMap};

use crossbuild::Platform;
use frontend::analysis::{analyze_run, StageMemory};
use frontend::eval::{Base, Evaluation};
use frontend::expand::Lexer;
use frontend::instructions::{CommandKind, ExecOrShell, Program};
use frontend::plan::{run_mode, Mode};
use frontend::syntax::{Dockerfile, Instruction};
use oci_spec::image::Digest;

use crate::cachekey::{CacheKey, KeyInputs};
use crate::config::{copy_created_by, ConfigEffect, ConfigError, HistoryStep, StageConfig};
use crate::context::SourceTree;
use crate::copy::{source_paths, CopyError, CopySource, CopySpec};
use crate::image::ImageConfig;
use crate::layer::Layer;

/// A node's index in [`StepGraph::nodes`].
pub type NodeId = usize;

/// A base image as resolved before building (its metadata; layers come when the base
/// step runs).
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// The reference as the Dockerfile names it (expanded).
    pub reference: String,
    /// The platform chosen.
    pub platform: Platform,
    /// The manifest digest, when known (it makes the cache key follow the image).
    pub digest: Option<Digest>,
    /// Its runtime config.
    pub config: ImageConfig,
    /// Its history.
    pub history: Vec<HistoryStep>,
    /// Its layers, bottom first.
    pub layers: Vec<Layer>,
}

/// Finds base images (the registry in real builds, a fixture in tests).
pub trait BaseResolver: Send + Sync {
    /// The image `reference` for `platform`: config, history, layer list. Blobs must be
    /// in the store by the time the base step runs ([`BaseResolver::fetch`]).
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<BaseImage, String>;

    /// Makes sure the base's layer blobs are in the store (a pull). Called once per base
    /// node, from the scheduler's workers.
    fn fetch(&self, base: &BaseImage) -> Result<(), String>;
}

/// Where a COPY reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyFrom {
    /// The build context.
    Context,
    /// The root filesystem after this node (another stage, or an image).
    Node(NodeId),
}

/// What a `RUN --mount` is, resolved to graph terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// `type=bind`: a path of the context or of another stage's filesystem.
    Bind {
        /// Path inside the source (`.` by default).
        source: String,
        /// Where from.
        from: CopyFrom,
        /// `rw` given (writes are discarded either way).
        readwrite: bool,
    },
    /// `type=cache`: a directory kept between builds, by id.
    Cache {
        /// `id` (defaults to the target).
        id: String,
    },
    /// `type=tmpfs`.
    Tmpfs,
    /// `type=secret`: provided by the executor, never in a layer.
    Secret {
        /// `id` (defaults to the target's base name).
        id: String,
        /// `required=true`.
        required: bool,
    },
    /// `type=ssh`.
    Ssh {
        /// `id` (`default`).
        id: String,
    },
}

/// One `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// Where in the container.
    pub target: String,
    /// What.
    pub kind: MountKind,
    /// The raw `key=value` options (mode, uid, gid, sharing, ...).
    pub options: BTreeMap<String, String>,
}

/// `RUN --network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// The default (sandboxed with network access).
    #[default]
    Default,
    /// `none`.
    None,
    /// `host`.
    Host,
}

/// A file a RUN needs besides its root filesystem (heredocs run as scripts or read
/// through redirections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    /// Absolute path in the container (`/dev/pipes/EOF`).
    pub path: String,
    /// Content.
    pub content: String,
    /// Permission bits.
    pub mode: u32,
}

/// Everything a RUN needs, except its root filesystem (which the scheduler provides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The process: exec form as written, shell form wrapped in the SHELL.
    pub argv: Vec<String>,
    /// `KEY=value` environment (image ENV plus the stage's ARGs).
    pub env: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// `USER`, as the image config has it (`name`, `uid`, `uid:gid`...).
    pub user: Option<String>,
    /// Mounts.
    pub mounts: Vec<MountSpec>,
    /// Network mode.
    pub network: Network,
    /// The platform the process is for (the stage's platform).
    pub platform: Platform,
    /// How it runs on this machine.
    pub mode: Mode,
    /// Heredoc files to provide.
    pub files: Vec<InlineFile>,
}

/// What a node does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Pull a base image.
    Base(Box<BaseImage>),
    /// `FROM scratch`.
    Scratch,
    /// `RUN`.
    Run(Box<RunSpec>),
    /// `COPY`/`ADD`.
    Copy {
        /// The expanded instruction.
        spec: Box<CopySpec>,
        /// Where sources come from.
        from: CopyFrom,
    },
    /// `WORKDIR` creating its directory.
    Mkdir {
        /// Absolute path.
        path: String,
        /// The USER in force, owner of the directory.
        user: Option<String>,
    },
    /// Only the config changes.
    Config,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its index.
    pub id: NodeId,
    /// Its cache key (its identity).
    pub key: CacheKey,
    /// What it does.
    pub kind: StepKind,
    /// The step it builds on.
    pub parent: Option<NodeId>,
    /// Every node that must finish first (parent, `--from` and mount sources).
    pub deps: Vec<NodeId>,
    /// Native, cross or emulated.
    pub mode: Mode,
    /// `Dockerfile:12` (the FROM line for a base).
    pub location: String,
    /// The instruction for display (`RUN go mod download`).
    pub display: String,
    /// The stage's display name.
    pub stage: String,
    /// Target platforms that use the node.
    pub platforms: Vec<Platform>,
    /// Its history entry (none for bases and ONBUILD).
    pub history: Option<HistoryStep>,
}

impl Node {
    /// Whether the step produces a layer of its own.
    pub fn makes_layer(&self) -> bool {
        matches!(
            self.kind,
            StepKind::Run(_) | StepKind::Copy { .. } | StepKind::Mkdir { .. }
        )
    }
}

/// What one target platform's image is: the last node of the target stage and the
/// config it ends with.
#[derive(Debug, Clone)]
pub struct TargetImage {
    /// The target platform.
    pub platform: Platform,
    /// The last node of the target stage.
    pub node: NodeId,
    /// The final config and history.
    pub config: StageConfig,
}

/// The whole graph.
#[derive(Debug, Clone, Default)]
pub struct StepGraph {
    /// Nodes; every dependency has a smaller id than its dependents.
    pub nodes: Vec<Node>,
    /// One per target platform, in the order given.
    pub targets: Vec<TargetImage>,
}

/// A located failure while building the graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A base image could not be resolved.
    #[error("{location}: cannot resolve base image {reference} for {platform}: {message}")]
    Base {
        /// FROM's location.
        location: String,
        /// The image.
        reference: String,
        /// For which platform.
        platform: String,
        /// Why.
        message: String,
    },
    /// A config instruction is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A COPY is not valid (a source missing from the context, an escape).
    #[error(transparent)]
    Copy(#[from] CopyError),
    /// An instruction is not valid once expanded.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: String,
        /// What.
        message: String,
    },
}

/// What [`build_graph`] needs.
pub struct GraphInput<'a> {
    /// The Dockerfile.
    pub df: &'a Dockerfile,
    /// Its stages.
    pub program: &'a Program,
    /// One evaluation per target platform (same options but the platform).
    pub evals: &'a [Evaluation],
    /// The build context.
    pub context: &'a SourceTree,
    /// Base images.
    pub resolver: &'a dyn BaseResolver,
}

#[derive(Clone)]
struct StageEnd {
    node: NodeId,
    config: StageConfig,
}

struct Builder<'a> {
    input: &'a GraphInput<'a>,
    lexer: Lexer,
    graph: StepGraph,
    by_key: HashMap<CacheKey, NodeId>,
    bases: HashMap<(String, Platform), BaseImage>,
}

/// Builds the step graph for every evaluation.
pub fn build_graph(input: &GraphInput<'_>) -> Result<StepGraph, GraphError> {
    let mut b = Builder {
        input,
        lexer: Lexer::new(input.df.escape),
        graph: StepGraph::default(),
        by_key: HashMap::new(),
        bases: HashMap::new(),
    };
    for eval in input.evals {
        let mut ends: HashMap<usize, StageEnd> = HashMap::new();
        let end = b.stage(eval, eval.target, &mut ends)?;
        b.graph.targets.push(TargetImage {
            platform: eval.target_platform.clone(),
            node: end.node,
            config: end.config,
        });
    }
    Ok(b.graph)
}

fn location(df: &Dockerfile, inst: &Instruction) -> String {
    format!("{}:{}", df.source.path().display(), inst.start_line)
}

/// Shortens an instruction for display.
fn display_of(inst: &Instruction) -> String {
    // The logical line keeps the flags (`COPY --from=build ...`); heredoc bodies are not
    // part of it.
    let text = inst.line.text();
    let mut words = text.split_whitespace();
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    let joined = std::iter::once(keyword.as_str())
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() > 80 {
        let cut: String = joined.chars().take(79).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

impl Builder<'_> {
    /// Adds a node or, when one with the same key exists, tags it with the platform.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        key: CacheKey,
        kind: StepKind,
        parent: Option<NodeId>,
        mut deps: Vec<NodeId>,
        mode: Mode,
        location: String,
        display: String,
        stage: String,
        platform: &Platform,
        history: Option<HistoryStep>,
    ) -> NodeId {
        if let Some(&id) = self.by_key.get(&key) {
            let node = &mut self.graph.nodes[id];
            if !node.platforms.contains(platform) {
                node.platforms.push(platform.clone());
            }
            // One run serves every platform: prefer the mode that says most.
            if mode > node.mode {
                node.mode = mode;
            }
            return id;
        }
        let id = self.graph.nodes.len();
        if let Some(p) = parent {
            deps.insert(0, p);
        }
        deps.sort_unstable();
        deps.dedup();
        self.graph.nodes.push(Node {
            id,
            key: key.clone(),
            kind,
            parent,
            deps,
            mode,
            location,
            display,
            stage,
            platforms: vec![platform.clone()],
            history,
        });
        self.by_key.insert(key, id);
        id
    }

    fn resolve_base(
        &mut self,
        reference: &str,
        platform: &Platform,
        loc: &str,
    ) -> Result<BaseImage, GraphError> {
        let k = (reference.to_string(), platform.clone());
        if let Some(b) = self.bases.get(&k) {
            return Ok(b.clone());
        }
        let base = self
            .input
            .resolver
            .resolve(reference, platform)
            .map_err(|message| GraphError::Base {
                location: loc.to_string(),
                reference: reference.to_string(),
                platform: platform.to_string(),
                message,
            })?;
        self.bases.insert(k, base.clone());
        Ok(base)
    }

    fn base_node(
        &mut self,
        base: BaseImage,
        loc: String,
        stage: String,
        target: &Platform,
    ) -> NodeId {
        let key = KeyInputs {
            instruction: format!(
                "FROM {}@{}",
                base.reference,
                base.digest
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
            platform: Some(base.platform.clone()),
            ..KeyInputs::default()
        }
        .key();
        let display = format!("FROM {}", base.reference);
        self.add(
            key,
            StepKind::Base(Box::new(base)),
            None,
            Vec::new(),
            Mode::Native,
            loc,
            display,
            stage,
            target,
            None,
        )
    }

    fn stage(
        &mut self,
        eval: &Evaluation,
        index: usize,
        ends: &mut HashMap<usize, StageEnd>,
    ) -> Result<StageEnd, GraphError> {
        if let Some(end) = ends.get(&index) {
            return Ok(end.clone());
        }
        let df = self.input.df;
        let program = self.input.program;
        let stage = &program.stages[index];
        let ev = &eval.stages[index];
        let target = &eval.target_platform;
        let name = ev.display_name();
        let from_inst = &df.instructions[stage.from];
        let from_loc = location(df, from_inst);

        let (mut node, mut cfg) = match &ev.base {
            Base::Image(reference) => {
                let base = self.resolve_base(reference, &ev.platform, &from_loc)?;
                if !base.config.on_build.is_empty() {
                    return Err(GraphError::Invalid {
                        location: from_loc,
                        message: format!(
                            "base image {reference} has ONBUILD triggers ({}), which crossdock does not run yet; \
                             use a base without them or repeat those steps in this Dockerfile",
                            base.config.on_build.join("; ")
                        ),
                    });
                }
                let cfg = StageConfig::from_base(base.config.clone(), base.history.clone());
                (
                    self.base_node(base, from_loc.clone(), name.clone(), target),
                    cfg,
                )
            }
            Base::Scratch => {
                let key = KeyInputs {
                    instruction: "FROM scratch".into(),
                    ..KeyInputs::default()
                }
                .key();
                let id = self.add(
                    key,
                    StepKind::Scratch,
                    None,
                    Vec::new(),
                    Mode::Native,
                    from_loc.clone(),
                    "FROM scratch".into(),
                    name.clone(),
                    target,
                    None,
                );
                (id, StageConfig::default())
            }
            Base::Stage(j) => {
                let end = self.stage(eval, *j, ends)?;
                (end.node, StageConfig::from_stage(&end.config))
            }
        };

        let mut memory = StageMemory::default();
        for (i, cmd) in stage.commands.iter().enumerate() {
            let inst = &df.instructions[cmd.instruction];
            let loc = location(df, inst);
            let before = &ev.scopes[i];
            let after = ev.scopes.get(i + 1).unwrap_or(&ev.final_scope);
            let parent_key = self.graph.nodes[node].key.clone();
            let display = display_of(inst);
            match &cmd.kind {
                CommandKind::Run(run) => {
                    let analysis = analyze_run(inst, run, before, &mut memory);
                    let mode = run_mode(&analysis, &ev.platform, eval);
                    let (argv, files) = self.run_argv(&cfg, &run.command, inst, before);
                    let mut deps = Vec::new();
                    let mut inputs = Vec::new();
                    let mounts = self.mounts(eval, inst, &loc, ends, &mut deps, &mut inputs)?;
                    let network = match run.network.as_deref() {
                        None | Some("default") => Network::Default,
                        Some("none") => Network::None,
                        Some("host") => Network::Host,
                        Some(other) => {
                            return Err(GraphError::Invalid {
                                location: loc,
                                message: format!(
                                    "unsupported network mode {other:?}; use default, none or host"
                                ),
                            })
                        }
                    };
                    let spec = RunSpec {
                        argv: argv.clone(),
                        env: cfg.run_env(),
                        cwd: cfg.workdir(),
                        user: cfg.config.user.clone(),
                        mounts,
                        network,
                        platform: ev.platform.clone(),
                        mode,
                        files,
                    };
                    let created_by = cfg.run_created_by(&argv);
                    cfg.record(created_by, false);
                    let mut settings = vec![
                        ("cwd".to_string(), spec.cwd.clone()),
                        ("user".to_string(), spec.user.clone().unwrap_or_default()),
                        ("network".to_string(), format!("{:?}", spec.network)),
                    ];
                    settings.extend(spec.env.iter().map(|e| ("env".to_string(), e.clone())));
                    settings.extend(
                        spec.mounts
                            .iter()
                            .map(|m| ("mount".to_string(), format!("{m:?}"))),
                    );
                    settings.extend(
                        spec.files
                            .iter()
                            .map(|f| ("file".to_string(), format!("{f:?}"))),
                    );
                    let key = KeyInputs {
                        parent: Some(parent_key),
                        instruction: format!("RUN {}", serde_json::json!(argv)),
                        args: Vec::new(),
                        settings,
                        inputs,
                        platform: Some(ev.platform.clone()),
                    }
                    .key();
                    node = self.add(
                        key,
                        StepKind::Run(Box::new(spec)),
                        Some(node),
                        deps,
                        mode,
                        loc,
                        display,
                        name.clone(),
                        target,
                        cfg.history.last().cloned(),
                    );
                }
                CommandKind::Copy(copy) => {
                    let vars = before.vars();
                    let expand = |w: &str| -> Result<String, GraphError> {
                        self.lexer
                            .process_word(w, &vars)
                            .map(|e| e.value)
                            .map_err(|e| GraphError::Invalid {
                                location: loc.clone(),
                                message: format!("failed to process \"{w}\": {e}"),
                            })
                    };
                    let flag = |n: &str| inst.flag(n).and_then(|f| f.value.clone());
                    let chown = flag("chown").map(|v| expand(&v)).transpose()?;
                    let chmod = flag("chmod").map(|v| expand(&v)).transpose()?;
                    let checksum = flag("checksum").map(|v| expand(&v)).transpose()?;
                    let dest = expand(&copy.dest)?;
                    if inst
                        .flag("parents")
                        .is_some_and(|f| f.value.as_deref() != Some("false"))
                    {
                        return Err(GraphError::Invalid {
                            location: loc.clone(),
                            message: "COPY --parents is not supported yet; copy each parent directory explicitly".into(),
                        });
                    }
                    let exclude = inst
                        .flags
                        .iter()
                        .filter(|f| f.name == "exclude")
                        .map(|f| expand(f.value.as_deref().unwrap_or_default()))
                        .collect::<Result<Vec<_>, _>>()?;
                    let unpack = inst.flag("unpack").map(|f| {
                        f.value
                            .as_deref()
                            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
                    });
                    let mut sources = Vec::new();
                    let mut shown = Vec::new();
                    let mut heredoc_names = Vec::new();
                    for s in &copy.sources {
                        if let Some(name) = s.strip_prefix("<<") {
                            let name = name.trim_start_matches('-').trim_matches(['"', '\'']);
                            let Some(h) = inst.heredocs.iter().find(|h| h.name == name) else {
                                continue;
                            };
                            let content = if h.expand {
                                expand(&h.content)?
                            } else {
                                h.content.clone()
                            };
                            heredoc_names.push(h.name.clone());
                            sources.push(CopySource::Heredoc {
                                name: h.name.clone(),
                                content,
                            });
                        } else {
                            let v = expand(s)?;
                            shown.push(v.clone());
                            sources.push(CopySource::parse(&v));
                        }
                    }
                    let spec = CopySpec {
                        is_add: copy.is_add,
                        sources,
                        dest: dest.clone(),
                        workdir: cfg.workdir(),
                        chown: chown.clone(),
                        chmod: chmod.clone(),
                        checksum: checksum.clone(),
                        exclude,
                        unpack,
                        location: loc.clone(),
                    };
                    let mut deps = Vec::new();
                    let mut inputs = Vec::new();
                    let from = match &copy.from {
                        None => {
                            let paths = source_paths(&spec, self.input.context)?;
                            let digest = self.input.context.digest(&paths).map_err(|source| {
                                GraphError::Copy(CopyError::Context {
                                    location: loc.clone(),
                                    source,
                                })
                            })?;
                            inputs.push((format!("context:{}", paths.join("\0")), digest));
                            CopyFrom::Context
                        }
                        Some(f) => {
                            let src = self.source_node(eval, &f.value, &loc, ends)?;
                            deps.push(src);
                            inputs.push((
                                "from".to_string(),
                                self.graph.nodes[src].key.digest().clone(),
                            ));
                            CopyFrom::Node(src)
                        }
                    };
                    let created_by = copy_created_by(
                        copy.is_add,
                        chown.as_deref(),
                        chmod.as_deref(),
                        &shown,
                        &heredoc_names,
                        &dest,
                    );
                    cfg.record(created_by.clone(), false);
                    let mut settings = vec![("workdir".to_string(), spec.workdir.clone())];
                    for s in &spec.sources {
                        if let CopySource::Heredoc { name, content } = s {
                            settings.push((format!("heredoc:{name}"), content.clone()));
                        }
                    }
                    if let Some(c) = &checksum {
                        settings.push(("checksum".to_string(), c.clone()));
                    }
                    settings.extend(
                        spec.exclude
                            .iter()
                            .map(|e| ("exclude".to_string(), e.clone())),
                    );
                    settings.push(("unpack".to_string(), format!("{:?}", spec.unpack)));
                    let key = KeyInputs {
                        parent: Some(parent_key),
                        instruction: created_by,
                        args: Vec::new(),
                        settings,
                        inputs,
                        platform: None,
                    }
                    .key();
                    node = self.add(
                        key,
                        StepKind::Copy {
                            spec: Box::new(spec),
                            from,
                        },
                        Some(node),
                        deps,
                        Mode::Native,
                        loc,
                        display,
                        name.clone(),
                        target,
                        cfg.history.last().cloned(),
                    );
                }
                kind => {
                    let len = cfg.history.len();
                    let effect = cfg.apply(kind, inst, before, after, &self.lexer, &loc)?;
                    let history = (cfg.history.len() > len)
                        .then(|| cfg.history.last().cloned())
                        .flatten();
                    // ONBUILD writes no history: its identity is its trigger text.
                    let text = match &history {
                        Some(h) => h.created_by.clone(),
                        None => format!(
                            "ONBUILD {}",
                            cfg.config.on_build.last().cloned().unwrap_or_default()
                        ),
                    };
                    let step = match effect {
                        ConfigEffect::Mkdir { path, user } => StepKind::Mkdir { path, user },
                        ConfigEffect::ConfigOnly => StepKind::Config,
                    };
                    let key = KeyInputs {
                        parent: Some(parent_key),
                        instruction: text,
                        ..KeyInputs::default()
                    }
                    .key();
                    node = self.add(
                        key,
                        step,
                        Some(node),
                        Vec::new(),
                        Mode::Native,
                        loc,
                        display,
                        name.clone(),
                        target,
                        history,
                    );
                }
            }
        }
        let end = StageEnd { node, config: cfg };
        ends.insert(index, end.clone());
        Ok(end)
    }

    /// The argv of a RUN, and the heredoc files it needs (BuildKit's rules: a single
    /// heredoc that is the whole command runs as the shell's script, or as a file when it
    /// starts with `#!`; otherwise heredocs become files read through redirections).
    fn run_argv(
        &self,
        cfg: &StageConfig,
        cmd: &ExecOrShell,
        inst: &Instruction,
        scope: &frontend::eval::Scope,
    ) -> (Vec<String>, Vec<InlineFile>) {
        let ExecOrShell::Shell(line) = cmd else {
            return (cfg.argv(cmd), Vec::new());
        };
        if inst.heredocs.is_empty() {
            return (cfg.argv(cmd), Vec::new());
        }
        let vars = scope.vars();
        let content = |h: &frontend::syntax::Heredoc| {
            if h.expand {
                self.lexer
                    .process_word(&h.content, &vars)
                    .map(|e| e.value)
                    .unwrap_or_else(|_| h.content.clone())
            } else {
                h.content.clone()
            }
        };
        let trimmed = line.trim();
        let single = inst.heredocs.len() == 1
            && trimmed.starts_with("<<")
            && trimmed
                .trim_start_matches('<')
                .trim_start_matches('-')
                .trim_matches(['"', '\''])
                == inst.heredocs[0].name;
        if single {
            let h = &inst.heredocs[0];
            let body = content(h);
            if body.starts_with("#!") {
                let path = format!("/dev/pipes/{}", h.name);
                return (
                    vec![path.clone()],
                    vec![InlineFile {
                        path,
                        content: body,
                        mode: 0o755,
                    }],
                );
            }
            return (cfg.argv(&ExecOrShell::Shell(body)), Vec::new());
        }
        let mut line = line.clone();
        let mut files = Vec::new();
        for h in &inst.heredocs {
            let path = format!("/dev/pipes/{}", h.name);
            for form in [
                format!("<<-\"{}\"", h.name),
                format!("<<-'{}'", h.name),
                format!("<<-{}", h.name),
                format!("<<\"{}\"", h.name),
                format!("<<'{}'", h.name),
                format!("<<{}", h.name),
            ] {
                line = line.replace(&form, &format!("<{path}"));
            }
            files.push(InlineFile {
                path,
                content: content(h),
                mode: 0o644,
            });
        }
        (cfg.argv(&ExecOrShell::Shell(line)), files)
    }

    /// The node a `--from` names: a stage (by name or index) or an image.
    fn source_node(
        &mut self,
        eval: &Evaluation,
        from: &str,
        loc: &str,
        ends: &mut HashMap<usize, StageEnd>,
    ) -> Result<NodeId, GraphError> {
        let lower = from.to_ascii_lowercase();
        let program = self.input.program;
        let by_name = program
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(&lower))
            .map(|s| s.index);
        let by_index = from
            .parse::<usize>()
            .ok()
            .filter(|i| *i < program.stages.len());
        if let Some(i) = by_name.or(by_index) {
            return Ok(self.stage(eval, i, ends)?.node);
        }
        // An image: on the platform being built (BuildKit resolves --from images for the
        // target platform).
        let base = self.resolve_base(from, &eval.target_platform, loc)?;
        Ok(self.base_node(
            base,
            loc.to_string(),
            from.to_string(),
            &eval.target_platform,
        ))
    }

    fn mounts(
        &mut self,
        eval: &Evaluation,
        inst: &Instruction,
        loc: &str,
        ends: &mut HashMap<usize, StageEnd>,
        deps: &mut Vec<NodeId>,
        inputs: &mut Vec<(String, Digest)>,
    ) -> Result<Vec<MountSpec>, GraphError> {
        let mut out = Vec::new();
        for flag in inst.flags.iter().filter(|f| f.name == "mount") {
            let raw = flag.value.clone().unwrap_or_default();
            let mut options = BTreeMap::new();
            for field in raw.split(',').filter(|f| !f.is_empty()) {
                let (k, v) = field.split_once('=').unwrap_or((field, "true"));
                let k = match k.trim().to_ascii_lowercase().as_str() {
                    "src" => "source".to_string(),
                    "dst" | "destination" => "target".to_string(),
                    "ro" => "readonly".to_string(),
                    "rw" => "readwrite".to_string(),
                    other => other.to_string(),
                };
                options.insert(k, v.to_string());
            }
            let kind = options
                .get("type")
                .cloned()
                .unwrap_or_else(|| "bind".into());
            let target = options.get("target").cloned().unwrap_or_default();
            let bad = |message: String| GraphError::Invalid {
                location: loc.to_string(),
                message,
            };
            let kind = match kind.as_str() {
                "bind" => {
                    if target.is_empty() {
                        return Err(bad("a bind mount needs target=".into()));
                    }
                    let source = options.get("source").cloned().unwrap_or_else(|| ".".into());
                    let from = match options.get("from") {
                        Some(f) => {
                            let n = self.source_node(eval, f, loc, ends)?;
                            deps.push(n);
                            inputs.push((
                                format!("mount:{target}"),
                                self.graph.nodes[n].key.digest().clone(),
                            ));
                            CopyFrom::Node(n)
                        }
                        None => {
                            let ctx = self.input.context;
                            let rel = ctx.clean_source(&source).map_err(|e| bad(e.to_string()))?;
                            let d = ctx.digest(&[rel]).map_err(|e| bad(e.to_string()))?;
                            inputs.push((format!("mount:{target}"), d));
                            CopyFrom::Context
                        }
                    };
                    MountKind::Bind {
                        source,
                        from,
                        readwrite: options.get("readwrite").is_some_and(|v| v != "false"),
                    }
                }
                "cache" => {
                    if target.is_empty() {
                        return Err(bad("a cache mount needs target=".into()));
                    }
                    MountKind::Cache {
                        id: options.get("id").cloned().unwrap_or_else(|| target.clone()),
                    }
                }
                "tmpfs" => MountKind::Tmpfs,
                "secret" => {
                    let id = options.get("id").cloned().unwrap_or_else(|| {
                        target.rsplit('/').next().unwrap_or_default().to_string()
                    });
                    if id.is_empty() {
                        return Err(bad("a secret mount needs id= or target=".into()));
                    }
                    MountKind::Secret {
                        required: options.get("required").is_some_and(|v| v == "true"),
                        id,
                    }
                }
                "ssh" => MountKind::Ssh {
                    id: options
                        .get("id")
                        .cloned()
                        .unwrap_or_else(|| "default".into()),
                },
                other => {
                    return Err(bad(format!(
                        "unsupported mount type {other:?}; use bind, cache, tmpfs, secret or ssh"
                    )))
                }
            };
            let target = match (&kind, target.is_empty()) {
                (MountKind::Secret { id, .. }, true) => format!("/run/secrets/{id}"),
                (MountKind::Ssh { .. }, true) => "/run/buildkit/ssh_agent.0".to_string(),
                _ => target,
            };
            out.push(MountSpec {
                target,
                kind,
                options,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use frontend::eval::{evaluate, EvalOptions};
    use frontend::instructions::parse_program;
    use frontend::source::SourceFile;
    use frontend::syntax::parse;
    use std::fs;

    /// Bases with an empty config and no layers.
    pub(crate) struct FakeBases;

    impl BaseResolver for FakeBases {
        fn resolve(&self, reference: &str, platform: &Platform) -> Result<BaseImage, String> {
            if reference.starts_with("missing") {
                return Err("manifest unknown".into());
            }
            Ok(BaseImage {
                reference: reference.to_string(),
                platform: platform.clone(),
                digest: None,
                config: ImageConfig {
                    env: vec!["PATH=/usr/bin:/bin".into()],
                    on_build: if reference.starts_with("onbuild") {
                        vec!["RUN make".into()]
                    } else {
                        Vec::new()
                    },
                    ..ImageConfig::default()
                },
                history: Vec::new(),
                layers: Vec::new(),
            })
        }

        fn fetch(&self, _base: &BaseImage) -> Result<(), String> {
            Ok(())
        }
    }

    pub(crate) const GO_DOCKERFILE: &str = "\
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .
FROM debian:bookworm-slim
RUN apt-get update
COPY --from=build /out/app /usr/local/bin/app
ENTRYPOINT [\"/usr/local/bin/app\"]
";

    pub(crate) fn go_context() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for (p, c) in [
            ("go.mod", "module x\n"),
            ("go.sum", ""),
            ("main.go", "package main\n"),
        ] {
            fs::write(t.path().join(p), c).unwrap();
        }
        t
    }

    pub(crate) fn graph_for(
        text: &str,
        ctx: &Path,
        platforms: &[&str],
        resolver: &dyn BaseResolver,
    ) -> Result<StepGraph, GraphError> {
        let df = parse(SourceFile::new("Dockerfile", text)).unwrap();
        let program = parse_program(&df).unwrap();
        let opts = EvalOptions {
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: Default::default(),
            target_stage: None,
        };
        let evals: Vec<Evaluation> = platforms
            .iter()
            .map(|p| evaluate(&df, &program, &Platform::parse(p).unwrap(), &opts).unwrap())
            .collect();
        let context = SourceTree::context(ctx, None).unwrap();
        build_graph(&GraphInput {
            df: &df,
            program: &program,
            evals: &evals,
            context: &context,
            resolver,
        })
    }

    use std::path::Path;

    const THREE: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

    fn find<'a>(g: &'a StepGraph, display: &str) -> Vec<&'a Node> {
        g.nodes.iter().filter(|n| n.display == display).collect()
    }

    #[test]
    fn build_platform_steps_collapse_across_targets() {
        let ctx = go_context();
        let g = graph_for(GO_DOCKERFILE, ctx.path(), &THREE, &FakeBases).unwrap();
        let download = find(&g, "RUN go mod download");
        assert_eq!(download.len(), 1, "one node for every platform");
        assert_eq!(download[0].platforms.len(), 3);
        assert_eq!(download[0].mode, Mode::Native);
        let build = find(
            &g,
            "RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .",
        );
        assert_eq!(build.len(), 3, "one per target: the env differs");
        let modes: Vec<Mode> = build.iter().map(|n| n.mode).collect();
        assert_eq!(modes, [Mode::Native, Mode::Cross, Mode::Cross]);
        // The runtime stage runs on each target: apt-get emulated off amd64.
        let apt = find(&g, "RUN apt-get update");
        let modes: Vec<(String, Mode)> = apt
            .iter()
            .map(|n| (n.platforms[0].to_string(), n.mode))
            .collect();
        assert_eq!(
            modes,
            [
                ("linux/amd64".to_string(), Mode::Native),
                ("linux/arm64".to_string(), Mode::Emulated),
                ("linux/arm/v7".to_string(), Mode::Emulated)
            ]
        );
        // Dependencies always come first.
        for n in &g.nodes {
            assert!(n.deps.iter().all(|d| *d < n.id), "{n:?}");
        }
        // COPY --from depends on that platform's build step.
        let copies = find(&g, "COPY --from=build /out/app /usr/local/bin/app");
        assert_eq!(copies.len(), 3);
        for (c, b) in copies.iter().zip(&build) {
            assert!(c.deps.contains(&b.id));
        }
        assert_eq!(g.targets.len(), 3);
        assert_eq!(
            g.targets[1].config.config.entrypoint.as_deref().unwrap(),
            ["/usr/local/bin/app"]
        );
    }

    #[test]
    fn run_spec_carries_args_env_cwd_and_history() {
        let ctx = go_context();
        let g = graph_for(GO_DOCKERFILE, ctx.path(), &["linux/arm64"], &FakeBases).unwrap();
        let build = find(
            &g,
            "RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .",
        )[0];
        let StepKind::Run(spec) = &build.kind else {
            panic!()
        };
        assert_eq!(
            spec.argv,
            [
                "/bin/sh",
                "-c",
                "GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ."
            ]
        );
        assert_eq!(spec.cwd, "/src");
        assert!(
            spec.env.contains(&"TARGETARCH=arm64".to_string()),
            "{:?}",
            spec.env
        );
        assert!(spec.env.contains(&"PATH=/usr/bin:/bin".to_string()));
        assert_eq!(spec.platform.to_string(), "linux/amd64");
        assert_eq!(
            build.history.as_ref().unwrap().created_by,
            "RUN |2 TARGETOS=linux TARGETARCH=arm64 /bin/sh -c GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app . # buildkit"
        );
    }

    #[test]
    fn context_changes_change_copy_keys_only_for_what_they_copy() {
        let ctx = go_context();
        let g1 = graph_for(GO_DOCKERFILE, ctx.path(), &["linux/amd64"], &FakeBases).unwrap();
        fs::write(ctx.path().join("main.go"), "package main // changed\n").unwrap();
        let g2 = graph_for(GO_DOCKERFILE, ctx.path(), &["linux/amd64"], &FakeBases).unwrap();
        let key = |g: &StepGraph, d: &str| find(g, d)[0].key.clone();
        assert_eq!(
            key(&g1, "RUN go mod download"),
            key(&g2, "RUN go mod download")
        );
        assert_ne!(key(&g1, "COPY . ."), key(&g2, "COPY . ."));
    }

    #[test]
    fn heredocs_mounts_and_errors() {
        let ctx = go_context();
        let text = "FROM alpine AS m\nFROM alpine AS a\nRUN <<EOF\necho one\nEOF\nRUN <<EOF\n#!/bin/sh\necho two\nEOF\nRUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok --mount=from=m,target=/a cat <<A <<B\nx\nA\ny\nB\n";
        let g = graph_for(text, ctx.path(), &["linux/amd64"], &FakeBases).unwrap();
        let runs: Vec<&RunSpec> = g
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                StepKind::Run(s) => Some(&**s),
                _ => None,
            })
            .collect();
        assert_eq!(runs[0].argv, ["/bin/sh", "-c", "echo one\n"]);
        assert_eq!(runs[1].argv, ["/dev/pipes/EOF"]);
        assert_eq!(runs[1].files[0].mode, 0o755);
        assert_eq!(runs[2].argv[2], "cat </dev/pipes/A </dev/pipes/B");
        assert_eq!(runs[2].files.len(), 2);
        let kinds: Vec<&MountKind> = runs[2].mounts.iter().map(|m| &m.kind).collect();
        assert_eq!(
            kinds[0],
            &MountKind::Cache {
                id: "/root/.cache".into()
            }
        );
        assert_eq!(
            kinds[1],
            &MountKind::Secret {
                id: "tok".into(),
                required: false
            }
        );
        assert_eq!(runs[2].mounts[1].target, "/run/secrets/tok");
        assert!(matches!(
            kinds[2],
            MountKind::Bind {
                from: CopyFrom::Node(_),
                ..
            }
        ));

        let err =
            graph_for("FROM missing:1\n", ctx.path(), &["linux/amd64"], &FakeBases).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dockerfile:1: cannot resolve base image missing:1 for linux/amd64: manifest unknown"
        );
        let err = graph_for(
            "FROM a\nCOPY nope /x\n",
            ctx.path(),
            &["linux/amd64"],
            &FakeBases,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Dockerfile:2: COPY failed: source \"nope\" not found"),
            "{err}"
        );
        let err = graph_for(
            "FROM a\nRUN --network=bridge x\n",
            ctx.path(),
            &["linux/amd64"],
            &FakeBases,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unsupported network mode"),
            "{err}"
        );
    }
}
