//! The OCI runtime configuration of one RUN step: pure functions from the step and the
//! host paths chosen for its mounts to an [`oci_spec::runtime::Spec`]. Nothing here
//! touches the system; [`super::validate`] checks the result before anything does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capability, LinuxCapabilities, LinuxNamespace, LinuxNamespaceType, Mount, PosixRlimitBuilder,
    PosixRlimitType, Process, Root, Spec, User,
};

use super::user::ResolvedUser;
use super::{NetworkMode, RunMount, RunStep};

/// The highest `RLIMIT_NOFILE` a step gets. Without CAP_SYS_RESOURCE a hard limit can
/// only be lowered, and 20000 is what the machines we build on allow.
pub(crate) const MAX_NOFILE: u64 = 20_000;

/// The PATH a step gets when its environment has none (BuildKit's default).
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default capability set (moby `oci/caps/defaults.go`).
pub(crate) const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Paths hidden from the step, as Docker hides them (moby `oci/defaults.go`).
pub(crate) const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the step may read but not write, as Docker's default.
pub(crate) const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Where the host side of each step mount lives; chosen by the executor before the
/// spec is built, created only after it is validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountSources {
    /// Host directory of each cache mount, by position in [`RunStep::mounts`].
    pub(crate) caches: Vec<Option<PathBuf>>,
    /// The tmpfs directory holding secret files.
    pub(crate) secrets_dir: PathBuf,
    /// The merged directory of each writable bind mount (an overlay over the source, so
    /// writes are thrown away as BuildKit does), by position.
    pub(crate) writable_binds: Vec<Option<PathBuf>>,
    /// The `/etc/hosts` written for steps without a network.
    pub(crate) hosts_file: PathBuf,
}

/// The file inside [`MountSources::secrets_dir`] holding secret `index`.
pub(crate) fn secret_file(secrets_dir: &Path, index: usize) -> PathBuf {
    secrets_dir.join(format!("{index}"))
}

fn mount(destination: &str, typ: &str, source: &Path, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some(typ.to_owned()));
    m.set_source(Some(source.to_owned()));
    m.set_options(Some(options.iter().map(|o| (*o).to_owned()).collect()));
    m
}

/// The file systems every step gets: Docker's defaults, without cgroups (the step
/// has no business with them and hybrid hierarchies make the mount fail).
pub(crate) fn system_mounts() -> Vec<Mount> {
    vec![
        mount(
            "/proc",
            "proc",
            Path::new("proc"),
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev",
            "tmpfs",
            Path::new("tmpfs"),
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            Path::new("devpts"),
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            Path::new("shm"),
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            Path::new("mqueue"),
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            Path::new("sysfs"),
            &["nosuid", "noexec", "nodev", "ro"],
        ),
    ]
}

/// `/etc/resolv.conf` and `/etc/hosts`: the host's for the host network, a loopback-only
/// hosts file without one.
pub(crate) fn network_mounts(network: NetworkMode, sources: &MountSources) -> Vec<Mount> {
    match network {
        NetworkMode::Host => vec![
            mount(
                "/etc/resolv.conf",
                "bind",
                Path::new("/etc/resolv.conf"),
                &["rbind", "ro"],
            ),
            mount(
                "/etc/hosts",
                "bind",
                Path::new("/etc/hosts"),
                &["rbind", "ro"],
            ),
        ],
        NetworkMode::None => vec![mount(
            "/etc/hosts",
            "bind",
            &sources.hosts_file,
            &["rbind", "ro"],
        )],
    }
}

/// The step's own `--mount`s, in order.
pub(crate) fn step_mounts(step: &RunStep, sources: &MountSources) -> Vec<Mount> {
    step.mounts
        .iter()
        .enumerate()
        .map(|(i, m)| match m {
            RunMount::Bind {
                source,
                target,
                readonly,
            } => {
                let writable = sources.writable_binds.get(i).cloned().flatten();
                match (readonly, writable) {
                    (false, Some(merged)) => mount(target, "bind", &merged, &["rbind", "rw"]),
                    _ => mount(target, "bind", source, &["rbind", "ro"]),
                }
            }
            RunMount::Cache {
                target, readonly, ..
            } => {
                let dir = sources.caches.get(i).cloned().flatten().unwrap_or_default();
                mount(
                    target,
                    "bind",
                    &dir,
                    &["rbind", if *readonly { "ro" } else { "rw" }],
                )
            }
            RunMount::Tmpfs { target, size } => {
                let size = format!("size={}", size.unwrap_or(64 * 1024 * 1024));
                mount(
                    target,
                    "tmpfs",
                    Path::new("tmpfs"),
                    &["nosuid", "nodev", "mode=1777", &size],
                )
            }
            RunMount::Secret { .. } => mount(
                &m.target(),
                "bind",
                &secret_file(&sources.secrets_dir, i),
                &["rbind", "ro", "nosuid", "nodev", "noexec"],
            ),
        })
        .collect()
}

/// The environment as `KEY=VALUE`, with PATH and HOME added when the step sets none
/// (HOME from the user's passwd entry, as Docker does).
pub(crate) fn environment(step: &RunStep, user: &ResolvedUser) -> Vec<String> {
    let mut env: Vec<String> = step.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !step.env.iter().any(|(k, _)| k == "PATH") {
        env.insert(0, format!("PATH={DEFAULT_PATH}"));
    }
    if !step.env.iter().any(|(k, _)| k == "HOME") {
        env.push(format!("HOME={}", user.home));
    }
    env
}

/// The whole runtime configuration of `step` over the root file system `rootfs`.
/// `host_nofile` is the hard `RLIMIT_NOFILE` of this process: a step cannot get more.
pub(crate) fn build_spec(
    step: &RunStep,
    rootfs: &Path,
    user: &ResolvedUser,
    sources: &MountSources,
    host_nofile: u64,
) -> Spec {
    let mut spec = Spec::default();
    spec.set_version("1.0.2".to_owned());

    let mut root = Root::default();
    root.set_path(rootfs.to_owned());
    // The step writes to its upper directory: that is the point.
    root.set_readonly(Some(false));
    spec.set_root(Some(root));
    spec.set_hostname(Some(step.hostname.clone()));
    spec.set_annotations(None);

    let mut process = Process::default();
    process.set_terminal(Some(false));
    process.set_args(Some(step.args.clone()));
    process.set_env(Some(environment(step, user)));
    process.set_cwd(PathBuf::from(&step.cwd));
    let mut u = User::default();
    u.set_uid(user.uid);
    u.set_gid(user.gid);
    u.set_additional_gids((!user.additional_gids.is_empty()).then(|| user.additional_gids.clone()));
    process.set_user(u);
    let caps: HashSet<Capability> = DEFAULT_CAPABILITIES.into_iter().collect();
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(caps.clone()));
    capabilities.set_effective(Some(caps.clone()));
    capabilities.set_permitted(Some(caps));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    process.set_capabilities(Some(capabilities));
    let nofile = MAX_NOFILE.min(host_nofile);
    let rlimit = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .hard(nofile)
        .soft(nofile)
        .build()
        .unwrap_or_default();
    process.set_rlimits(Some(vec![rlimit]));
    // Docker leaves setuid binaries working (sudo, ping in build scripts).
    process.set_no_new_privileges(None);
    spec.set_process(Some(process));

    let mut mounts = system_mounts();
    mounts.extend(network_mounts(step.network, sources));
    mounts.extend(step_mounts(step, sources));
    spec.set_mounts(Some(mounts));

    let mut linux = oci_spec::runtime::Linux::default();
    let mut kinds = vec![
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
    ];
    if step.network == NetworkMode::None {
        kinds.push(LinuxNamespaceType::Network);
    }
    linux.set_namespaces(Some(
        kinds
            .into_iter()
            .map(|k| {
                let mut ns = LinuxNamespace::default();
                ns.set_typ(k);
                ns
            })
            .collect(),
    ));
    linux.set_masked_paths(Some(MASKED_PATHS.iter().map(|p| (*p).to_owned()).collect()));
    linux.set_readonly_paths(Some(
        READONLY_PATHS.iter().map(|p| (*p).to_owned()).collect(),
    ));
    // No resource limits: a build step may use the whole machine.
    linux.set_resources(None);
    linux.set_rootfs_propagation(Some("private".to_owned()));
    spec.set_linux(Some(linux));
    spec
}
