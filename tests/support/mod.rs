//! Shared by the top-level CLI tests: the real registry, the peer-tool check, the busybox
//! fixture built from Debian packages, the `crossdock` binary, and tree comparison.
#![allow(dead_code)]

pub mod registry;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use sha2::Digest as _;

/// Whether every tool is installed. When one is missing: a loud skip message and `false`,
/// unless `CROSSDOCK_REQUIRE_PEERS` is set (CI sets it), then a panic, so CI never skips.
pub fn peers_available(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: needs {} (not installed): `apt-get install -y docker-registry skopeo dpkg \
         apt tar` (CI's .ci/run does)",
        missing.join(", ")
    );
    if std::env::var_os("CROSSDOCK_REQUIRE_PEERS").is_some() {
        panic!("{message}; CROSSDOCK_REQUIRE_PEERS is set, so this is a failure, not a skip");
    }
    eprintln!("\n{0}\n!!! SKIPPED {message}\n{0}\n", "!".repeat(78));
    false
}

fn on_path(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// The tools the busybox fixture needs.
pub const FIXTURE_TOOLS: &[&str] = &["apt-get", "dpkg-deb", "tar"];

/// Runs `crossdock` with `args`; returns its output (whatever the exit status).
pub fn crossdock<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    crossdock_env(args, &[])
}

/// Runs `crossdock` with `args` and extra environment variables.
pub fn crossdock_env<I, S>(args: I, env: &[(&str, &str)]) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_crossdock"));
    command.args(args).env("CROSSDOCK_NO_PROGRESS", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run crossdock")
}

/// Panics with both streams unless the command succeeded; returns stdout.
pub fn success(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = sha2::Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Where fixtures are cached between runs: under the target directory.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("crossdock-fixtures")
}

// ---------------------------------------------------------------------------------------
// busybox from Debian.

/// Debian architectures of the busybox fixture and the platforms they are.
pub const BUSYBOX_ARCHES: &[(&str, &str)] = &[
    ("amd64", "linux/amd64"),
    ("arm64", "linux/arm64"),
    ("armhf", "linux/arm/v7"),
];

/// One architecture's busybox root filesystem: the directory and a tarball of it.
pub struct Rootfs {
    /// The Debian architecture.
    pub arch: String,
    /// The platform it runs on.
    pub platform: String,
    /// The tree.
    pub dir: PathBuf,
    /// `tar -C dir -cf tar .`
    pub tar: PathBuf,
}

/// The `busybox-static` packages for amd64, arm64 and armhf from bookworm main, fetched
/// once through a private apt configuration (the system's architectures and package
/// lists are left alone) and cached under the target directory.
pub fn busybox_debs() -> BTreeMap<String, PathBuf> {
    static DEBS: OnceLock<Mutex<Option<BTreeMap<String, PathBuf>>>> = OnceLock::new();
    let lock = DEBS.get_or_init(|| Mutex::new(None));
    let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(debs) = guard.as_ref() {
        return debs.clone();
    }
    let dir = cache_dir().join("debs");
    std::fs::create_dir_all(&dir).expect("create the deb cache");
    let find = |arch: &str| -> Option<PathBuf> {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name().and_then(OsStr::to_str).is_some_and(|n| {
                    n.starts_with("busybox-static_") && n.ends_with(&format!("_{arch}.deb"))
                })
            })
    };
    if BUSYBOX_ARCHES.iter().any(|(arch, _)| find(arch).is_none()) {
        let packages: Vec<String> = BUSYBOX_ARCHES
            .iter()
            .map(|(arch, _)| format!("busybox-static:{arch}"))
            .collect();
        apt_download(&packages, &dir);
    }
    let debs: BTreeMap<String, PathBuf> = BUSYBOX_ARCHES
        .iter()
        .map(|(arch, _)| {
            let deb = find(arch).unwrap_or_else(|| panic!("busybox-static:{arch} not downloaded"));
            ((*arch).to_owned(), deb)
        })
        .collect();
    *guard = Some(debs.clone());
    debs
}

/// `apt-get download PACKAGES` from bookworm main for amd64, arm64 and armhf with a
/// private configuration, state and cache in a temporary directory; the debs are moved
/// into `dest` (each renamed into place, so concurrent runs do not see half a file).
pub fn apt_download(packages: &[String], dest: &Path) {
    let apt = tempfile::tempdir().expect("tempdir");
    let root = apt.path();
    for sub in ["lists/partial", "archives/partial", "sources", "download"] {
        std::fs::create_dir_all(root.join(sub)).expect("apt dirs");
    }
    std::fs::write(
        root.join("sources/debian.list"),
        "deb [arch=amd64,arm64,armhf signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
         http://deb.debian.org/debian bookworm main\n",
    )
    .expect("sources.list");
    std::fs::write(root.join("status"), "").expect("status");
    let r = root.display();
    let options: Vec<String> = [
        format!("Dir::State={r}"),
        format!("Dir::State::Lists={r}/lists"),
        format!("Dir::State::status={r}/status"),
        format!("Dir::Cache={r}"),
        format!("Dir::Etc::SourceList={r}/sources/debian.list"),
        format!("Dir::Etc::SourceParts={r}/sources"),
        "APT::Architecture=amd64".into(),
        "APT::Architectures=amd64,arm64,armhf".into(),
        "APT::Sandbox::User=root".into(),
        "Debug::NoLocking=1".into(),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_owned(), o])
    .collect();
    let run = |args: &[&str], cwd: &Path| {
        let output = Command::new("apt-get")
            .args(&options)
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("run apt-get");
        assert!(
            output.status.success(),
            "apt-get {args:?} failed (network to deb.debian.org needed): {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&["-qq", "update"], root);
    let mut args = vec!["-qq", "download"];
    args.extend(packages.iter().map(String::as_str));
    run(&args, &root.join("download"));
    for entry in std::fs::read_dir(root.join("download"))
        .expect("downloads")
        .flatten()
    {
        let name = entry.file_name();
        let tmp = dest.join(format!(".{}.part", name.to_string_lossy()));
        std::fs::copy(entry.path(), &tmp).expect("copy deb");
        std::fs::rename(&tmp, dest.join(&name)).expect("rename deb");
    }
}

/// Extracts each busybox deb into `work/<arch>/rootfs` (plus `bin/sh -> busybox`, so the
/// image has a shell) and tars it as `work/<arch>/rootfs.tar`.
pub fn busybox_rootfs(work: &Path) -> Vec<Rootfs> {
    let debs = busybox_debs();
    BUSYBOX_ARCHES
        .iter()
        .map(|(arch, platform)| {
            let base = work.join(arch);
            let dir = base.join("rootfs");
            std::fs::create_dir_all(&dir).expect("rootfs dir");
            run_tool(
                Command::new("dpkg-deb")
                    .arg("-x")
                    .arg(&debs[*arch])
                    .arg(&dir),
            );
            let bin = dir.join("bin");
            if bin.join("busybox").exists() && !bin.join("sh").exists() {
                std::os::unix::fs::symlink("busybox", bin.join("sh")).expect("bin/sh");
            }
            let tar = base.join("rootfs.tar");
            run_tool(
                Command::new("tar")
                    .arg("-C")
                    .arg(&dir)
                    .arg("--numeric-owner")
                    .arg("-cf")
                    .arg(&tar)
                    .arg("."),
            );
            Rootfs {
                arch: (*arch).to_owned(),
                platform: (*platform).to_owned(),
                dir,
                tar,
            }
        })
        .collect()
}

/// Runs a tool; panics with its stderr when it fails.
pub fn run_tool(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// Trees.

/// Every entry under `root`, as `path -> description`: kind, permissions, owner (as
/// root), content digest and mtime for files, target for symlinks.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .expect("below root")
            .display()
            .to_string();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let mode = meta.permissions().mode() & 0o7777;
        let owner = format!("{}:{}", meta.uid(), meta.gid());
        let description = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("read link");
            format!("symlink -> {}", target.display())
        } else if meta.is_dir() {
            walk(root, &path, out);
            format!("dir {mode:o} {owner}")
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).expect("read file");
            format!(
                "file {mode:o} {owner} {} mtime {}",
                sha256(&bytes),
                meta.mtime()
            )
        } else {
            format!("special {mode:o} {owner}")
        };
        out.insert(rel, description);
    }
}

/// The differences between two trees, for assertion messages.
pub fn tree_diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in a {
        match b.get(k) {
            None => out.push_str(&format!("only in first: {k} ({v})\n")),
            Some(w) if w != v => out.push_str(&format!("{k}: {v} != {w}\n")),
            _ => {}
        }
    }
    for (k, v) in b {
        if !a.contains_key(k) {
            out.push_str(&format!("only in second: {k} ({v})\n"));
        }
    }
    out
}
