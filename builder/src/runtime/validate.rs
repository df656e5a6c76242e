//! Checks a step's runtime configuration before anything is created for it, one
//! function per concern. A spec that fails here never reaches the runtime.

use std::collections::HashSet;
use std::path::{Component, Path};

use oci_spec::runtime::{LinuxNamespaceType, PosixRlimitType, Spec};

/// A RUN step's configuration that cannot run; says which part and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSpec {
    /// A required part is missing.
    #[error("the runtime configuration has no {0}")]
    Missing(&'static str),
    /// The command is empty.
    #[error("the step has no command to run")]
    NoCommand,
    /// The working directory is not absolute or climbs with `..`.
    #[error("working directory {0:?} must be an absolute path without '..'")]
    Cwd(String),
    /// An environment entry is not `KEY=VALUE` with a non-empty key.
    #[error("environment entry {0:?} must be KEY=VALUE with a non-empty key and no NUL")]
    Env(String),
    /// A mount target is not an absolute path free of `..`.
    #[error("mount target {0:?} must be an absolute path without '..'")]
    MountTarget(String),
    /// Two mounts at the same place.
    #[error("two mounts target {0:?}")]
    DuplicateMount(String),
    /// A step mount over the root or over a file system every step needs.
    #[error("mount target {0:?} would hide a file system the step needs; mount below it")]
    ReservedMount(String),
    /// A bind mount's source is not an absolute host path.
    #[error("bind mount source {0:?} for {1:?} must be an absolute path on the host")]
    BindSource(String, String),
    /// A namespace listed twice, or one every step needs missing.
    #[error("namespace {0}: {1}")]
    Namespace(String, &'static str),
    /// A resource limit above what this process may grant, or soft above hard.
    #[error("rlimit {kind}: soft {soft} / hard {hard} is not allowed (hard may be at most {max})")]
    Rlimit {
        /// The limit.
        kind: String,
        /// Its soft value.
        soft: u64,
        /// Its hard value.
        hard: u64,
        /// The highest hard value allowed.
        max: u64,
    },
    /// Asking for a terminal: build steps have none.
    #[error("build steps run without a terminal")]
    Terminal,
    /// Capabilities outside the bounding set.
    #[error("capabilities {0} are not in the bounding set")]
    Capabilities(String),
}

/// What the host allows, read once by the executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostLimits {
    /// The hard `RLIMIT_NOFILE` of this process.
    pub(crate) nofile_hard: u64,
}

/// Every check, in order.
pub(crate) fn validate(spec: &Spec, host: &HostLimits) -> Result<(), InvalidSpec> {
    validate_root(spec)?;
    validate_process(spec)?;
    validate_mounts(spec)?;
    validate_namespaces(spec)?;
    validate_rlimits(spec, host)?;
    validate_capabilities(spec)?;
    Ok(())
}

fn is_clean_absolute(path: &Path) -> bool {
    path.is_absolute() && !path.components().any(|c| c == Component::ParentDir)
}

pub(crate) fn validate_root(spec: &Spec) -> Result<(), InvalidSpec> {
    let root = spec.root().as_ref().ok_or(InvalidSpec::Missing("root"))?;
    if root.path().as_os_str().is_empty() {
        return Err(InvalidSpec::Missing("root path"));
    }
    Ok(())
}

pub(crate) fn validate_process(spec: &Spec) -> Result<(), InvalidSpec> {
    let process = spec
        .process()
        .as_ref()
        .ok_or(InvalidSpec::Missing("process"))?;
    if process.terminal() == Some(true) {
        return Err(InvalidSpec::Terminal);
    }
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => return Err(InvalidSpec::NoCommand),
    }
    if !is_clean_absolute(process.cwd()) {
        return Err(InvalidSpec::Cwd(process.cwd().display().to_string()));
    }
    for entry in process.env().iter().flatten() {
        match entry.split_once('=') {
            Some((key, _)) if !key.is_empty() && !entry.contains('\0') => {}
            _ => return Err(InvalidSpec::Env(entry.clone())),
        }
    }
    Ok(())
}

/// Targets that only the system mounts may use.
const RESERVED_TARGETS: [&str; 4] = ["/", "/proc", "/dev", "/sys"];

pub(crate) fn validate_mounts(spec: &Spec) -> Result<(), InvalidSpec> {
    let mut seen = HashSet::new();
    for m in spec.mounts().iter().flatten() {
        let dest = m.destination();
        let shown = dest.display().to_string();
        if !is_clean_absolute(dest) {
            return Err(InvalidSpec::MountTarget(shown));
        }
        let normal: std::path::PathBuf = dest.components().collect();
        if !seen.insert(normal.clone()) {
            return Err(InvalidSpec::DuplicateMount(shown));
        }
        let is_system = matches!(m.typ().as_deref(), Some("proc" | "sysfs"))
            || (m.typ().as_deref() == Some("tmpfs") && normal == Path::new("/dev"));
        if !is_system && RESERVED_TARGETS.iter().any(|r| normal == Path::new(r)) {
            return Err(InvalidSpec::ReservedMount(shown));
        }
        if m.typ().as_deref() == Some("bind") {
            let source = m.source().as_deref().unwrap_or(Path::new(""));
            if !source.is_absolute() {
                return Err(InvalidSpec::BindSource(source.display().to_string(), shown));
            }
        }
    }
    Ok(())
}

pub(crate) fn validate_namespaces(spec: &Spec) -> Result<(), InvalidSpec> {
    let linux = spec
        .linux()
        .as_ref()
        .ok_or(InvalidSpec::Missing("linux section"))?;
    let mut seen = HashSet::new();
    for ns in linux.namespaces().iter().flatten() {
        if !seen.insert(ns.typ()) {
            return Err(InvalidSpec::Namespace(ns.typ().to_string(), "listed twice"));
        }
    }
    for required in [LinuxNamespaceType::Mount, LinuxNamespaceType::Pid] {
        if !seen.contains(&required) {
            return Err(InvalidSpec::Namespace(
                required.to_string(),
                "every build step needs its own",
            ));
        }
    }
    if seen.contains(&LinuxNamespaceType::User) {
        return Err(InvalidSpec::Namespace(
            "user".to_owned(),
            "user namespaces are not supported yet",
        ));
    }
    Ok(())
}

pub(crate) fn validate_rlimits(spec: &Spec, host: &HostLimits) -> Result<(), InvalidSpec> {
    let process = spec
        .process()
        .as_ref()
        .ok_or(InvalidSpec::Missing("process"))?;
    for r in process.rlimits().iter().flatten() {
        let max = match r.typ() {
            PosixRlimitType::RlimitNofile => host.nofile_hard.min(super::spec::MAX_NOFILE),
            _ => u64::MAX,
        };
        if r.soft() > r.hard() || r.hard() > max {
            return Err(InvalidSpec::Rlimit {
                kind: format!("{:?}", r.typ()),
                soft: r.soft(),
                hard: r.hard(),
                max,
            });
        }
    }
    Ok(())
}

pub(crate) fn validate_capabilities(spec: &Spec) -> Result<(), InvalidSpec> {
    let process = spec
        .process()
        .as_ref()
        .ok_or(InvalidSpec::Missing("process"))?;
    let Some(caps) = process.capabilities() else {
        return Ok(());
    };
    let bounding = caps.bounding().clone().unwrap_or_default();
    let mut outside: Vec<String> = [caps.effective(), caps.permitted(), caps.ambient()]
        .into_iter()
        .flatten()
        .flatten()
        .filter(|c| !bounding.contains(c))
        .map(|c| format!("{c:?}"))
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    outside.sort();
    outside.dedup();
    Err(InvalidSpec::Capabilities(outside.join(", ")))
}
