//! `crossdock setup`: the check list on this machine, and the registration it writes,
//! against a stand-in binfmt_misc directory (CROSSDOCK_BINFMT_MISC) so the system's
//! handlers are never touched.

use std::path::Path;
use std::process::{Command, Output};

fn crossdock(args: &[&str], binfmt: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crossdock"));
    cmd.args(args);
    if let Some(dir) = binfmt {
        cmd.env("CROSSDOCK_BINFMT_MISC", dir);
    }
    cmd.output().expect("run crossdock")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A directory that looks like an empty, enabled binfmt_misc.
fn fake_binfmt() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("register"), "").expect("register");
    std::fs::write(dir.path().join("status"), "enabled\n").expect("status");
    dir
}

#[test]
fn check_reports_a_missing_handler_by_name_and_exits_1() {
    let binfmt = fake_binfmt();
    let out = crossdock(
        &["setup", "--check", "--platform", "linux/arm64,linux/amd64"],
        Some(binfmt.path()),
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("[missing] linux/arm64"), "{text}");
    assert!(text.contains("qemu-aarch64"), "{text}");
    assert!(
        text.contains("crossdock setup --platform linux/arm64"),
        "{text}"
    );
    assert!(text.contains("[ok]      linux/amd64: native"), "{text}");
    // --check changes nothing.
    assert_eq!(
        std::fs::read_to_string(binfmt.path().join("register")).expect("register"),
        ""
    );
}

#[test]
fn setup_as_root_registers_the_emulator_with_the_f_flag() {
    let root = rustix::process::geteuid().is_root();
    let qemu = Path::new("/usr/bin/qemu-aarch64-static");
    if !root || !qemu.exists() {
        assert!(
            std::env::var_os("CROSSDOCK_REQUIRE_PEERS").is_none(),
            "needs root and qemu-user-static"
        );
        eprintln!(
            "SKIPPED setup_as_root_registers_the_emulator_with_the_f_flag: needs root and {}",
            qemu.display()
        );
        return;
    }
    let binfmt = fake_binfmt();
    let out = crossdock(&["setup", "--platform", "linux/arm64"], Some(binfmt.path()));
    // The stand-in directory is no kernel: the handler never appears, so setup says the
    // registration did not take; what it wrote is the point here.
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = std::fs::read_to_string(binfmt.path().join("register")).expect("register");
    assert!(
        line.starts_with(":qemu-aarch64:M:0:\\x7f\\x45\\x4c\\x46\\x02"),
        "{line}"
    );
    assert!(line.ends_with(":/usr/bin/qemu-aarch64-static:F"), "{line}");
}

#[test]
fn this_machine_is_ready_when_ci_has_set_it_up() {
    if std::env::var_os("CROSSDOCK_REQUIRE_PEERS").is_none() {
        eprintln!("SKIPPED this_machine_is_ready_when_ci_has_set_it_up: only under CI (CROSSDOCK_REQUIRE_PEERS)");
        return;
    }
    let out = crossdock(&["setup", "--check"], None);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for expected in [
        "linux/arm64: emulated",
        "linux/arm/v7: emulated",
        "OCI runtime:",
        "overlayfs:",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
}

#[test]
fn a_bad_platform_is_a_usage_error() {
    let out = crossdock(&["setup", "--check", "--platform", "linux/"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--platform"));
}
