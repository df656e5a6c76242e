//! Running one RUN step in an OCI runtime: the step ([`RunStep`]) becomes an
//! [`oci_spec::runtime::Spec`] (`spec`), which is validated (`validate`) before anything
//! is created for it; then its mounts are prepared, the bundle is written and the
//! runtime (`runc`) runs it with output streamed to an [`OutputSink`]. Details on
//! [`Executor`].

mod runc;
mod spec;
mod user;
mod validate;

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbuild::Platform;
use sha2::Digest as _;

pub use self::runc::{NoRuntime, OutputSink, RuntimeBinary, Stream, RUNTIME_ENV};
pub use self::user::UserError;
pub use self::validate::InvalidSpec;

use self::runc::{Ended, Tail};
use self::spec::{build_spec, secret_file, MountSources};
use self::validate::{validate, HostLimits};
use crate::emulation::{BinfmtMisc, EmulationError};
use crate::store::Store;
use crate::syscall::{LinuxSyscall, MountFlags, Syscall};

/// The network a step sees (`RUN --network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// The host's network namespace (BuildKit's default, and `--network=host`).
    #[default]
    Host,
    /// A namespace of its own with only the loopback interface (`--network=none`).
    None,
}

/// A `RUN --mount`, with host paths already resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMount {
    /// `type=bind`: a host directory or file (from the context or another stage's root
    /// file system). Read-only unless `readonly` is false, in which case the step may
    /// write to it and its writes are thrown away, as BuildKit does.
    Bind {
        /// The host path.
        source: PathBuf,
        /// The path in the step.
        target: String,
        /// `ro` (BuildKit's default for bind mounts).
        readonly: bool,
    },
    /// `type=cache`: a directory that persists across steps and builds, shared by every
    /// step using the same `id` (BuildKit's default: the target path). Concurrent steps
    /// share it as BuildKit's `sharing=shared` does; `locked` and `private` are not
    /// implemented yet.
    Cache {
        /// The cache's identity.
        id: String,
        /// The path in the step.
        target: String,
        /// `ro`.
        readonly: bool,
        /// Mode of the directory when first created (BuildKit: 0755).
        mode: u32,
        /// Owner of the directory when first created.
        uid: u32,
        /// Group of the directory when first created.
        gid: u32,
    },
    /// `type=tmpfs`: an empty tmpfs.
    Tmpfs {
        /// The path in the step.
        target: String,
        /// Its size in bytes (64 MiB when `None`).
        size: Option<u64>,
    },
    /// `type=secret`: a file from the host, visible read-only during this step only. It is
    /// copied to a private tmpfs, never to disk, and never into the step's layer.
    Secret {
        /// The secret's id.
        id: String,
        /// The host file holding it (`--secret id=…,src=…`).
        source: PathBuf,
        /// The path in the step (`/run/secrets/<id>` when `None`).
        target: Option<String>,
        /// Fail when the source is missing (otherwise the mount is skipped).
        required: bool,
        /// The file's mode (BuildKit: 0400).
        mode: u32,
        /// Its owner.
        uid: u32,
        /// Its group.
        gid: u32,
    },
}

impl RunMount {
    /// The path in the step.
    pub fn target(&self) -> String {
        match self {
            Self::Bind { target, .. } | Self::Cache { target, .. } | Self::Tmpfs { target, .. } => {
                target.clone()
            }
            Self::Secret { id, target, .. } => target
                .clone()
                .unwrap_or_else(|| format!("/run/secrets/{id}")),
        }
    }
}

/// One RUN step: the command (already wrapped in the shell for the shell form), its
/// environment and settings. The platform decides whether it needs emulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStep {
    /// The process: `["/bin/sh", "-c", "make"]` or the exec form's words.
    pub args: Vec<String>,
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// The working directory (absolute; created when missing).
    pub cwd: String,
    /// `USER`: a name, a uid, `user:group`; `None` for root.
    pub user: Option<String>,
    /// The hostname the step sees.
    pub hostname: String,
    /// `RUN --network`.
    pub network: NetworkMode,
    /// `RUN --mount`s, in order.
    pub mounts: Vec<RunMount>,
    /// The platform the step's root file system is for.
    pub platform: Platform,
    /// Killed after this long (no limit when `None`).
    pub timeout: Option<Duration>,
}

impl RunStep {
    /// A step running `args` as root in `/`, on the host network, with no mounts.
    pub fn new(args: Vec<String>, platform: Platform) -> Self {
        Self {
            args,
            env: Vec::new(),
            cwd: "/".to_owned(),
            user: None,
            hostname: "crossdock".to_owned(),
            network: NetworkMode::Host,
            mounts: Vec::new(),
            platform,
            timeout: None,
        }
    }

    /// The command as the user wrote it: the shell form's text, or the exec form's words.
    pub fn command(&self) -> String {
        match self.args.as_slice() {
            [_, flag, cmd] if flag == "-c" => cmd.clone(),
            args => args.join(" "),
        }
    }
}

/// Errors from running a step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The step's command failed.
    #[error("`{command}` failed with exit code {exit_code}{}", tail_text(output))]
    Failed {
        /// The command.
        command: String,
        /// Its exit code (128 + signal number when killed by a signal).
        exit_code: i32,
        /// The last lines of its output.
        output: Vec<String>,
    },
    /// The step ran longer than its timeout and was killed.
    #[error(
        "`{command}` was killed after {after:?} (timeout){}",
        tail_text(output)
    )]
    TimedOut {
        /// The command.
        command: String,
        /// The timeout.
        after: Duration,
        /// The last lines of its output.
        output: Vec<String>,
    },
    /// The runtime configuration is invalid; nothing was run or created.
    #[error("cannot run `{command}`: {source}")]
    InvalidSpec {
        /// The command.
        command: String,
        /// What is wrong.
        source: InvalidSpec,
    },
    /// The step's `USER` does not resolve in its root file system.
    #[error("cannot run `{command}`: {source}")]
    User {
        /// The command.
        command: String,
        /// What is wrong.
        source: UserError,
    },
    /// A required secret's source file is missing.
    #[error("secret {id:?}: {} does not exist (pass it with --secret id={id},src=PATH)", path.display())]
    MissingSecret {
        /// The secret's id.
        id: String,
        /// The missing file.
        path: PathBuf,
    },
    /// The step's platform cannot run here.
    #[error(transparent)]
    Emulation(#[from] EmulationError),
    /// No runtime binary.
    #[error(transparent)]
    NoRuntime(#[from] NoRuntime),
    /// Running containers needs root (rootless runs are not supported yet).
    #[error("running RUN steps needs root (rootless containers are not supported yet); run crossdock as root")]
    NotRoot,
    /// Starting the runtime failed.
    #[error("cannot start {}: {source}", runtime.display())]
    Spawn {
        /// The runtime binary.
        runtime: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Preparing or cleaning up the step's files and mounts failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn tail_text(output: &[String]) -> String {
    if output.is_empty() {
        return String::new();
    }
    let mut text = String::from("; last lines of output:");
    for line in output {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> RunError + 'a {
    move |source| RunError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Runs RUN steps in an OCI runtime over a mounted root file system (a
/// [`MountedRootfs`](crate::MountedRootfs)).
///
/// For each step: check that its platform runs here ([`BinfmtMisc::check`]), resolve
/// its user in the root file system, build its runtime spec and validate it; only then
/// create its mounts' host side (cache directories under `<store>/cache-mounts`, a
/// private tmpfs for secrets, throw-away overlays for writable binds), write the bundle
/// (`config.json`) and run `runc run` with a unique id. Mount points the runtime had to
/// create in the root file system (`/proc`, `/run/secrets/<id>`, …) are removed again
/// when still empty, so they do not end up in the layer. Everything the step got is
/// cleaned up, also on failure.
///
/// Security posture, as Docker's default: Docker's capability set, its masked and
/// read-only `/proc` paths, new PID, IPC, UTS and mount namespaces (and a network one for
/// `--network=none`), `RLIMIT_NOFILE` at most 20000; no seccomp filter yet.
#[derive(Debug, Clone)]
pub struct Executor {
    runtime: RuntimeBinary,
    state_root: PathBuf,
    cache_root: PathBuf,
    work_root: PathBuf,
    binfmt: BinfmtMisc,
    host: Platform,
    syscall: Arc<dyn Syscall>,
}

impl Executor {
    /// An executor using the runtime [`RuntimeBinary::find`] finds, keeping cache mounts
    /// and bundles under the store's root.
    pub fn new(store: &Store) -> Result<Self, RunError> {
        Ok(Self {
            runtime: RuntimeBinary::find()?,
            state_root: PathBuf::from("/run/crossdock/runtime"),
            cache_root: store.root().join("cache-mounts"),
            work_root: store.root().join("bundles"),
            binfmt: BinfmtMisc::default(),
            host: Platform::host(),
            syscall: Arc::new(LinuxSyscall),
        })
    }

    /// Use this runtime binary.
    pub fn runtime(mut self, runtime: RuntimeBinary) -> Self {
        self.runtime = runtime;
        self
    }

    /// Check emulation against this binfmt_misc (default: the system's).
    pub fn binfmt(mut self, binfmt: BinfmtMisc) -> Self {
        self.binfmt = binfmt;
        self
    }

    /// The runtime's state directory (`runc --root`; default `/run/crossdock/runtime`).
    pub fn state_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_root = dir.into();
        self
    }

    /// The runtime binary in use.
    pub fn runtime_binary(&self) -> &RuntimeBinary {
        &self.runtime
    }

    /// The host directory of cache mount `id`.
    pub fn cache_dir(&self, id: &str) -> PathBuf {
        let hash = sha2::Sha256::digest(id.as_bytes());
        let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.cache_root.join(hex)
    }

    /// Runs `step` with `rootfs` (a mounted snapshot) as its root file system, streaming
    /// its output to `sink`. Its file changes land in the snapshot's upper directory.
    pub fn run(
        &self,
        rootfs: &Path,
        step: &RunStep,
        sink: &mut dyn OutputSink,
    ) -> Result<(), RunError> {
        let command = step.command();
        if !rustix::process::geteuid().is_root() {
            return Err(RunError::NotRoot);
        }
        self.binfmt.check(&step.platform, &self.host)?;
        let user =
            user::resolve(step.user.as_deref(), rootfs).map_err(|source| RunError::User {
                command: command.clone(),
                source,
            })?;
        let step = effective_step(step)?;
        let id = crate::snapshot::unique_name("crossdock-");
        let bundle = self.work_root.join(&id);
        let sources = self.plan_sources(&step, &bundle);
        let spec = build_spec(&step, rootfs, &user, &sources, host_nofile());
        validate(
            &spec,
            &HostLimits {
                nofile_hard: host_nofile(),
            },
        )
        .map_err(|source| RunError::InvalidSpec {
            command: command.clone(),
            source,
        })?;

        // Side effects from here on; `Prepared` undoes them on every path.
        let stubs = missing_mount_points(rootfs, &spec);
        let mut prepared = Prepared {
            syscall: self.syscall.as_ref(),
            bundle: bundle.clone(),
            mounts: Vec::new(),
            stubs,
        };
        fs::create_dir_all(&bundle).map_err(io_err("create", &bundle))?;
        self.prepare_mounts(&step, &sources, &mut prepared)?;
        let config = bundle.join("config.json");
        spec.save(&config).map_err(|e| RunError::Io {
            op: "write",
            path: config.clone(),
            source: io::Error::other(e.to_string()),
        })?;
        fs::create_dir_all(&self.state_root).map_err(io_err("create", &self.state_root))?;

        let mut tail = Tail::default();
        let ended = runc::run(
            &self.runtime,
            &self.state_root,
            &bundle,
            &id,
            step.timeout,
            sink,
            &mut tail,
        )
        .map_err(|source| RunError::Spawn {
            runtime: self.runtime.path().to_owned(),
            source,
        });
        let cleanup = prepared.finish();
        let ended = ended?;
        cleanup?;
        match ended {
            Ended::Exited(status) if status.success() => Ok(()),
            Ended::Exited(status) => {
                use std::os::unix::process::ExitStatusExt;
                let exit_code = status
                    .code()
                    .or_else(|| status.signal().map(|s| 128 + s))
                    .unwrap_or(-1);
                Err(RunError::Failed {
                    command,
                    exit_code,
                    output: tail.into_lines(),
                })
            }
            Ended::TimedOut => Err(RunError::TimedOut {
                command,
                after: step.timeout.unwrap_or_default(),
                output: tail.into_lines(),
            }),
        }
    }

    /// Host paths for the step's mounts (nothing is created here).
    fn plan_sources(&self, step: &RunStep, bundle: &Path) -> MountSources {
        let caches = step
            .mounts
            .iter()
            .map(|m| match m {
                RunMount::Cache { id, .. } => Some(self.cache_dir(id)),
                _ => None,
            })
            .collect();
        let writable_binds = step
            .mounts
            .iter()
            .enumerate()
            .map(|(i, m)| match m {
                RunMount::Bind {
                    source,
                    readonly: false,
                    ..
                } => {
                    let dir = bundle.join("binds").join(i.to_string());
                    Some(if source.is_dir() {
                        dir.join("merged")
                    } else {
                        dir.join("file")
                    })
                }
                _ => None,
            })
            .collect();
        MountSources {
            caches,
            secrets_dir: bundle.join("secrets"),
            writable_binds,
            hosts_file: bundle.join("hosts"),
        }
    }

    fn prepare_mounts(
        &self,
        step: &RunStep,
        sources: &MountSources,
        prepared: &mut Prepared<'_>,
    ) -> Result<(), RunError> {
        let hosts = &sources.hosts_file;
        fs::write(
            hosts,
            format!(
                "127.0.0.1\tlocalhost {0}\n::1\tlocalhost ip6-localhost ip6-loopback {0}\n",
                step.hostname
            ),
        )
        .map_err(io_err("write", hosts))?;
        if step
            .mounts
            .iter()
            .any(|m| matches!(m, RunMount::Secret { .. }))
        {
            let dir = &sources.secrets_dir;
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
            // A private tmpfs: secrets never touch a disk.
            self.syscall
                .mount(
                    "tmpfs",
                    dir,
                    "tmpfs",
                    MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                    Some("mode=0700,size=16m"),
                )
                .map_err(io_err("mount a tmpfs for secrets at", dir))?;
            prepared.mounts.push(dir.clone());
        }
        for (i, m) in step.mounts.iter().enumerate() {
            match m {
                RunMount::Cache { mode, uid, gid, .. } => {
                    let Some(dir) = sources.caches.get(i).cloned().flatten() else {
                        continue;
                    };
                    if !dir.is_dir() {
                        create_owned_dir(&dir, *mode, *uid, *gid)?;
                    }
                }
                RunMount::Secret {
                    source,
                    mode,
                    uid,
                    gid,
                    ..
                } => {
                    let file = secret_file(&sources.secrets_dir, i);
                    fs::copy(source, &file).map_err(io_err("copy secret from", source))?;
                    fs::set_permissions(&file, fs::Permissions::from_mode(*mode & 0o7777))
                        .map_err(io_err("chmod", &file))?;
                    rustix::fs::chown(
                        &file,
                        Some(rustix::fs::Uid::from_raw(*uid)),
                        Some(rustix::fs::Gid::from_raw(*gid)),
                    )
                    .map_err(|e| io_err("chown", &file)(e.into()))?;
                }
                RunMount::Bind {
                    source,
                    readonly: false,
                    ..
                } => {
                    let Some(target) = sources.writable_binds.get(i).cloned().flatten() else {
                        continue;
                    };
                    let dir = target.parent().unwrap_or(&prepared.bundle).to_owned();
                    if source.is_dir() {
                        let (upper, work) = (dir.join("upper"), dir.join("work"));
                        for d in [&upper, &work, &target] {
                            fs::create_dir_all(d).map_err(io_err("create", d))?;
                        }
                        let options = format!(
                            "lowerdir={},upperdir={},workdir={}",
                            source.display(),
                            upper.display(),
                            work.display()
                        );
                        self.syscall
                            .mount(
                                "overlay",
                                &target,
                                "overlay",
                                MountFlags::empty(),
                                Some(&options),
                            )
                            .map_err(io_err("mount a writable overlay of", source))?;
                        prepared.mounts.push(target);
                    } else {
                        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
                        fs::copy(source, &target).map_err(io_err("copy", source))?;
                    }
                }
                RunMount::Bind { .. } | RunMount::Tmpfs { .. } => {}
            }
        }
        Ok(())
    }
}

/// The step with optional secrets whose source is missing left out.
fn effective_step(step: &RunStep) -> Result<RunStep, RunError> {
    let mut step = step.clone();
    let mut mounts = Vec::with_capacity(step.mounts.len());
    for m in step.mounts.drain(..) {
        if let RunMount::Secret {
            id,
            source,
            required,
            ..
        } = &m
        {
            if !source.is_file() {
                if *required {
                    return Err(RunError::MissingSecret {
                        id: id.clone(),
                        path: source.clone(),
                    });
                }
                continue;
            }
        }
        mounts.push(m);
    }
    step.mounts = mounts;
    Ok(step)
}

fn create_owned_dir(dir: &Path, mode: u32, uid: u32, gid: u32) -> Result<(), RunError> {
    let parent = dir.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    let tmp = parent.join(format!(".tmp-{}", crate::snapshot::unique_name("")));
    fs::create_dir(&tmp).map_err(io_err("create", &tmp))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode & 0o7777))
        .map_err(io_err("chmod", &tmp))?;
    rustix::fs::chown(
        &tmp,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )
    .map_err(|e| io_err("chown", &tmp)(e.into()))?;
    // Another step may have created it meanwhile: theirs wins.
    if fs::rename(&tmp, dir).is_err() {
        let _ = fs::remove_dir(&tmp);
    }
    Ok(())
}

fn host_nofile() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .unwrap_or(u64::MAX)
}

/// A mount point the runtime will create, and the times of the directory it goes in
/// (creating an entry changes them; they are put back so that directory, copied up by
/// overlayfs, carries no change).
#[derive(Debug)]
struct Stub {
    path: PathBuf,
    parent_times: Option<(PathBuf, rustix::fs::Timestamps)>,
}

fn times_of(path: &Path) -> Option<rustix::fs::Timestamps> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path).ok()?;
    let ts = |sec, nsec| rustix::fs::Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    };
    Some(rustix::fs::Timestamps {
        last_access: ts(meta.atime(), meta.atime_nsec()),
        last_modification: ts(meta.mtime(), meta.mtime_nsec()),
    })
}

/// For each mount of `spec`, the first path on the way to its target that does not
/// exist in `rootfs` (the runtime will create it). Targets reached through a symlink
/// are skipped: removing through one could reach outside the root file system.
fn missing_mount_points(rootfs: &Path, spec: &oci_spec::runtime::Spec) -> Vec<Stub> {
    let mut stubs: Vec<Stub> = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let mut path = rootfs.to_path_buf();
        for comp in m.destination().components() {
            let Component::Normal(name) = comp else {
                continue;
            };
            path.push(name);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => break,
                Ok(_) => continue,
                Err(_) => {
                    if !stubs.iter().any(|s| s.path == path) {
                        let parent = path.parent().map(Path::to_owned);
                        stubs.push(Stub {
                            parent_times: parent.and_then(|p| times_of(&p).map(|t| (p, t))),
                            path: path.clone(),
                        });
                    }
                    break;
                }
            }
        }
    }
    stubs
}

/// Whether `path` holds nothing but empty directories and empty files (a mount point
/// the runtime created and the step did not use).
fn only_stubs(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if meta.is_file() {
        return meta.len() == 0;
    }
    if !meta.is_dir() {
        return false;
    }
    fs::read_dir(path).is_ok_and(|entries| {
        entries
            .map(|e| e.map(|e| only_stubs(&e.path())))
            .all(|r| r.unwrap_or(false))
    })
}

/// What a run created on the host and in the root file system, undone by `finish` (or
/// on drop, when an error leaves early).
struct Prepared<'a> {
    syscall: &'a dyn Syscall,
    bundle: PathBuf,
    /// Host mounts made for the step, in order.
    mounts: Vec<PathBuf>,
    /// Mount points in the root file system that the runtime creates.
    stubs: Vec<Stub>,
}

impl Prepared<'_> {
    /// Undoes everything, reporting the first failure (dropping undoes it silently).
    fn finish(mut self) -> Result<(), RunError> {
        self.undo()
    }

    fn undo(&mut self) -> Result<(), RunError> {
        let mut first_error = None;
        for stub in self.stubs.drain(..).rev() {
            if !only_stubs(&stub.path) {
                continue;
            }
            let removed = if stub.path.is_dir() {
                fs::remove_dir_all(&stub.path)
            } else {
                fs::remove_file(&stub.path)
            };
            if let Err(e) = removed {
                first_error.get_or_insert(io_err("remove mount point", &stub.path)(e));
                continue;
            }
            if let Some((parent, times)) = &stub.parent_times {
                let _ = rustix::fs::utimensat(
                    rustix::fs::CWD,
                    parent,
                    times,
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                );
            }
        }
        for target in self.mounts.drain(..).rev() {
            if let Err(e) = self.syscall.umount(&target, false) {
                let _ = self.syscall.umount(&target, true);
                first_error.get_or_insert(io_err("unmount", &target)(e));
            }
        }
        if self.bundle.exists() {
            if let Err(e) = fs::remove_dir_all(&self.bundle) {
                first_error.get_or_insert(io_err("remove", &self.bundle)(e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        let _ = self.undo();
    }
}

#[cfg(test)]
mod tests;
