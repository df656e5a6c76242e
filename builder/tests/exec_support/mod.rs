//! Shared by the executor tests: root file systems built from Debian's `busybox-static`
//! (amd64 and arm64 debs, downloaded once and cached under `target/fixtures/busybox`),
//! and the rule for skipping when the machine cannot run containers.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Set by CI: a missing peer (root, runc) fails the test instead of skipping it.
pub const REQUIRE_PEERS: &str = "CROSSDOCK_REQUIRE_PEERS";

/// Whether these tests can run here: as root with runc installed. Otherwise they skip
/// loudly, unless CROSSDOCK_REQUIRE_PEERS is set (CI), where they fail.
pub fn can_run_containers(test: &str) -> bool {
    let root = rustix::process::geteuid().is_root();
    let runtime = builder::RuntimeBinary::find();
    let missing = match (root, &runtime) {
        (true, Ok(_)) => return true,
        (false, _) => "not running as root".to_owned(),
        (true, Err(e)) => e.to_string(),
    };
    assert!(
        std::env::var_os(REQUIRE_PEERS).is_none(),
        "{test}: {missing}, and {REQUIRE_PEERS} is set"
    );
    eprintln!("SKIPPED {test}: {missing} (CI sets {REQUIRE_PEERS} to make this an error)");
    false
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

static DOWNLOAD: Mutex<()> = Mutex::new(());

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `busybox-static` deb for a Debian architecture, fetched through a private apt
/// configuration for bookworm main (never adding an architecture to the system).
pub fn busybox_deb(debian_arch: &str) -> PathBuf {
    let _guard = DOWNLOAD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = target_dir().join("fixtures/busybox").join(debian_arch);
    fs::create_dir_all(&dir).expect("fixture dir");
    // Other test binaries may download at the same time.
    let lock = File::create(dir.join(".lock")).expect("lock file");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).expect("flock");
    let find = || {
        fs::read_dir(&dir)
            .expect("fixture dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
    };
    if let Some(deb) = find() {
        return deb;
    }
    let apt = dir.join("apt");
    for sub in [
        "etc/apt/apt.conf.d",
        "etc/apt/preferences.d",
        "etc/apt/sources.list.d",
        "state/lists/partial",
        "cache/archives/partial",
    ] {
        fs::create_dir_all(apt.join(sub)).expect("apt dirs");
    }
    fs::write(
        apt.join("etc/apt/sources.list"),
        format!(
            "deb [arch={debian_arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
             http://deb.debian.org/debian bookworm main\n"
        ),
    )
    .expect("sources.list");
    fs::write(apt.join("state/status"), "").expect("status");
    let a = apt.display();
    let options = [
        format!("Dir::Etc={a}/etc/apt"),
        format!("Dir::State={a}/state"),
        format!("Dir::State::status={a}/state/status"),
        format!("Dir::Cache={a}/cache"),
        format!("APT::Architecture={debian_arch}"),
        format!("APT::Architectures={debian_arch}"),
        "Acquire::Languages=none".to_owned(),
        "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".to_owned(),
        "APT::Sandbox::User=root".to_owned(),
    ];
    let apt_get = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.arg("-q");
        for o in &options {
            cmd.arg("-o").arg(o);
        }
        cmd.args(args).current_dir(&dir);
        run(&mut cmd);
    };
    apt_get(&["update"]);
    apt_get(&["download", &format!("busybox-static:{debian_arch}")]);
    find().expect("apt-get download left a deb")
}

/// The applets the tests use, linked to busybox in /bin.
const APPLETS: &[&str] = &[
    "sh", "id", "uname", "ls", "cat", "echo", "rm", "touch", "mkdir", "test", "env", "pwd",
    "sleep", "true", "false", "wc", "grep", "printf", "hostname", "sed", "tr", "find",
];

/// A root file system at `dir`: busybox with the applets as symlinks, a passwd with
/// `builder` (1000:1000, also in group `staff` 50), and `/etc/motd`.
pub fn busybox_rootfs(debian_arch: &str, dir: &Path) {
    let deb = busybox_deb(debian_arch);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir));
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).expect("bin");
    for applet in APPLETS {
        let link = bin.join(applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", &link).expect("applet link");
        }
    }
    for d in ["etc", "tmp", "root", "home/builder"] {
        fs::create_dir_all(dir.join(d)).expect("dir");
    }
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000::/home/builder:/bin/sh\n",
    )
    .expect("passwd");
    fs::write(
        dir.join("etc/group"),
        "root:x:0:\nstaff:x:50:builder\nbuilder:x:1000:\n",
    )
    .expect("group");
    fs::write(dir.join("etc/motd"), "from the base layer\n").expect("motd");
}
