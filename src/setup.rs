//! `crossdock setup`: checks (and, as root, installs) what building needs, and prints a
//! check list. The checks themselves live in the builder crate; this file only decides
//! what to fix and says how.

use std::path::{Path, PathBuf};
use std::process::Command;

use builder::{probe_overlay, BinfmtMisc, EmulationError, RuntimeBinary};
use crossbuild::{parse_platform_list, Platform, Target};

/// The platforms set up when none are given.
const DEFAULT_PLATFORMS: &str = "linux/arm64,linux/arm/v7";

/// `crossdock setup` arguments.
#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// Platforms whose RUN steps must be able to run here (through QEMU when foreign).
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_PLATFORMS)]
    platform: Vec<String>,
    /// Only check; change nothing. Exits 1 when something is missing.
    #[arg(long)]
    check: bool,
}

/// A package manager and the packages that provide runc and the QEMU emulators.
struct PackageManager {
    binary: &'static str,
    install: &'static [&'static str],
    runc: &'static str,
    /// The QEMU package; `{qemu}` is replaced by the emulator name (Alpine splits them).
    qemu: &'static str,
    /// Run before installing (refreshing package lists).
    update: Option<&'static [&'static str]>,
}

const PACKAGE_MANAGERS: &[PackageManager] = &[
    PackageManager {
        binary: "apt-get",
        install: &["install", "-y", "-q", "--no-install-recommends"],
        runc: "runc",
        qemu: "qemu-user-static",
        update: Some(&["update", "-q"]),
    },
    PackageManager {
        binary: "apk",
        install: &["add", "--no-cache"],
        runc: "runc",
        qemu: "{qemu}",
        update: None,
    },
    PackageManager {
        binary: "dnf",
        install: &["install", "-y"],
        runc: "runc",
        qemu: "qemu-user-static",
        update: None,
    },
];

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn package_manager() -> Option<&'static PackageManager> {
    PACKAGE_MANAGERS
        .iter()
        .find(|pm| find_on_path(pm.binary).is_some())
}

fn install_hint(package: impl Fn(&PackageManager) -> String) -> String {
    match package_manager() {
        Some(pm) => format!("{} {} {}", pm.binary, pm.install[0], package(pm)),
        None => "install it with your distribution's package manager".to_owned(),
    }
}

/// Installs a package as root; `Err` says what went wrong.
fn install(package: impl Fn(&PackageManager) -> String) -> Result<(), String> {
    let pm = package_manager().ok_or("no apt-get, apk or dnf found")?;
    let pkg = package(pm);
    if let Some(update) = pm.update {
        let _ = Command::new(pm.binary).args(update).status();
    }
    let status = Command::new(pm.binary)
        .args(pm.install)
        .arg(&pkg)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run {}: {e}", pm.binary))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed to install {pkg} ({status})", pm.binary))
    }
}

/// The outcome of one check.
enum Outcome {
    Ok(String),
    Fixed(String),
    Missing { what: String, fix: String },
}

struct Report {
    outcomes: Vec<Outcome>,
}

impl Report {
    fn print(&self) -> bool {
        let mut all_ok = true;
        for o in &self.outcomes {
            match o {
                Outcome::Ok(text) => println!("[ok]      {text}"),
                Outcome::Fixed(text) => println!("[fixed]   {text}"),
                Outcome::Missing { what, fix } => {
                    all_ok = false;
                    println!("[missing] {what}\n          fix: {fix}");
                }
            }
        }
        all_ok
    }
}

/// The emulator binary for a target: `/usr/bin/qemu-aarch64-static` (Debian, Fedora)
/// or `qemu-aarch64` (Alpine) on PATH.
fn emulator(target: &Target) -> Option<PathBuf> {
    let name = target.qemu_binary();
    find_on_path(&format!("{name}-static")).or_else(|| find_on_path(name))
}

pub fn run(args: &SetupArgs) -> u8 {
    let platforms = match parse_platform_list(&args.platform.join(",")) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("crossdock setup: --platform: {e}");
            return 2;
        }
    };
    let root = rustix::process::geteuid().is_root();
    let fix = root && !args.check;
    let mut report = Report {
        outcomes: Vec::new(),
    };
    if !root && !args.check {
        println!("(not root: only checking; run `sudo crossdock setup` to fix what is missing)");
    }
    check_binfmt(&platforms, fix, root, &mut report);
    check_runtime(fix, &mut report);
    check_overlay(root, &mut report);
    if report.print() {
        println!("ready to build for {}", args.platform.join(","));
        0
    } else {
        1
    }
}

fn check_binfmt(platforms: &[Platform], fix: bool, root: bool, report: &mut Report) {
    let binfmt = BinfmtMisc::default();
    let host = Platform::host();
    let foreign: Vec<&Platform> = platforms
        .iter()
        .filter(|p| !p.runs_natively_on(&host))
        .collect();
    for p in platforms.iter().filter(|p| p.runs_natively_on(&host)) {
        report
            .outcomes
            .push(Outcome::Ok(format!("{p}: native on this {host} machine")));
    }
    if foreign.is_empty() {
        return;
    }
    let dir = binfmt.dir().display().to_string();
    if binfmt.is_mounted() {
        report
            .outcomes
            .push(Outcome::Ok(format!("binfmt_misc mounted at {dir}")));
    } else if fix {
        match binfmt.mount() {
            Ok(()) => report
                .outcomes
                .push(Outcome::Fixed(format!("mounted binfmt_misc at {dir}"))),
            Err(e) => report.outcomes.push(Outcome::Missing {
                what: format!("binfmt_misc is not mounted ({e})"),
                fix: format!("mount -t binfmt_misc binfmt_misc {dir}"),
            }),
        }
    } else {
        report.outcomes.push(Outcome::Missing {
            what: format!("binfmt_misc is not mounted at {dir}"),
            fix: format!("sudo crossdock setup (or: mount -t binfmt_misc binfmt_misc {dir})"),
        });
    }
    for platform in foreign {
        let target = match platform.target() {
            Ok(t) => t,
            Err(e) => {
                report.outcomes.push(Outcome::Missing {
                    what: e.to_string(),
                    fix: "choose a supported platform".to_owned(),
                });
                continue;
            }
        };
        let handler = target.qemu_binary();
        match binfmt.check(platform, &host) {
            Ok(emulation) => {
                let how = match emulation {
                    builder::Emulation::Native => "native".to_owned(),
                    builder::Emulation::Qemu {
                        handler,
                        interpreter,
                    } => format!("emulated by {} (handler {handler})", interpreter.display()),
                };
                report.outcomes.push(Outcome::Ok(format!("{platform}: {how}")));
            }
            Err(err) if fix => match register(&binfmt, platform, &target, &err) {
                Ok(text) => report.outcomes.push(Outcome::Fixed(text)),
                Err(problem) => report.outcomes.push(Outcome::Missing {
                    what: format!("{platform}: {err}"),
                    fix: problem,
                }),
            },
            Err(err) => report.outcomes.push(Outcome::Missing {
                what: format!("{platform}: {}", short(&err)),
                fix: if root {
                    format!("crossdock setup --platform {platform} (registers {handler} with the F flag)")
                } else {
                    format!(
                        "sudo crossdock setup --platform {platform} (needs {}; registers {handler})",
                        install_hint(|pm| pm.qemu.replace("{qemu}", handler))
                    )
                },
            }),
        }
    }
}

/// The error without its "run crossdock setup" advice (the fix line says it).
fn short(err: &EmulationError) -> String {
    let text = err.to_string();
    match text.split_once("; run `crossdock setup") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

/// Registers the platform's emulator with the F flag, installing QEMU first when its
/// binary is missing and replacing a handler that matches without the F flag.
fn register(
    binfmt: &BinfmtMisc,
    platform: &Platform,
    target: &Target,
    err: &EmulationError,
) -> Result<String, String> {
    let handler = target.qemu_binary();
    let mut installed = String::new();
    let interpreter = match emulator(target) {
        Some(path) => path,
        None => {
            install(|pm| pm.qemu.replace("{qemu}", handler))?;
            installed = " (installed QEMU)".to_owned();
            emulator(target).ok_or(format!(
                "{handler}-static is still missing after installing"
            ))?
        }
    };
    if matches!(
        err,
        EmulationError::NoFixBinary { .. } | EmulationError::HandlerDisabled { .. }
    ) {
        // Re-register with the F flag: the kernel keeps one handler per name, and the
        // first match wins, so the old one goes.
        let stale = binfmt
            .handlers_for(target.elf())
            .map_err(|e| e.to_string())?;
        for h in stale {
            binfmt.remove(&h.name).map_err(|e| e.to_string())?;
        }
    }
    if binfmt.dir().join(handler).exists() {
        binfmt.remove(handler).map_err(|e| e.to_string())?;
    }
    binfmt
        .register(target, &interpreter)
        .map_err(|e| e.to_string())?;
    binfmt
        .check(platform, &Platform::host())
        .map_err(|e| format!("registered, but: {e}"))?;
    Ok(format!(
        "{platform}: registered {handler} -> {} with the F flag{installed}",
        interpreter.display()
    ))
}

fn check_runtime(fix: bool, report: &mut Report) {
    match RuntimeBinary::find() {
        Ok(rt) => report
            .outcomes
            .push(Outcome::Ok(format!("OCI runtime: {}", rt.path().display()))),
        Err(e) if fix && std::env::var_os(builder::RUNTIME_ENV).is_none() => {
            match install(|pm| pm.runc.to_owned())
                .and_then(|()| RuntimeBinary::find().map_err(|e| e.to_string()))
            {
                Ok(rt) => report.outcomes.push(Outcome::Fixed(format!(
                    "installed runc: {}",
                    rt.path().display()
                ))),
                Err(problem) => report.outcomes.push(Outcome::Missing {
                    what: format!("no OCI runtime ({e})"),
                    fix: format!("{problem}; {}", install_hint(|pm| pm.runc.to_owned())),
                }),
            }
        }
        Err(e) => report.outcomes.push(Outcome::Missing {
            what: e.tried.clone(),
            fix: format!(
                "sudo crossdock setup, or {}",
                install_hint(|pm| pm.runc.to_owned())
            ),
        }),
    }
}

fn check_overlay(root: bool, report: &mut Report) {
    let known = std::fs::read_to_string("/proc/filesystems")
        .is_ok_and(|f| f.lines().any(|l| l.trim_end().ends_with("overlay")));
    if !root {
        let outcome = if known {
            Outcome::Ok("overlayfs: known to the kernel (mounting it needs root)".to_owned())
        } else {
            Outcome::Missing {
                what: "overlayfs is not in /proc/filesystems".to_owned(),
                fix: "sudo modprobe overlay".to_owned(),
            }
        };
        report.outcomes.push(outcome);
        return;
    }
    let scratch = builder::Store::default_root()
        .filter(|p| std::fs::create_dir_all(p).is_ok())
        .unwrap_or_else(std::env::temp_dir);
    match probe_overlay(&scratch) {
        Ok(()) => report.outcomes.push(Outcome::Ok(format!(
            "overlayfs: a test mount under {} works",
            scratch.display()
        ))),
        Err(e) => report.outcomes.push(Outcome::Missing {
            what: format!("overlayfs: {e}"),
            fix: overlay_hint(&scratch),
        }),
    }
}

fn overlay_hint(scratch: &Path) -> String {
    format!(
        "modprobe overlay; the store ({}) must be on a file system overlayfs accepts as \
         upper (ext4, xfs, btrfs, tmpfs; not overlayfs itself)",
        scratch.display()
    )
}
