//! Whether a RUN step for a foreign platform can run here: through QEMU user-mode
//! emulation registered with the kernel's binfmt_misc. Details on [`BinfmtMisc`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crossbuild::{ElfIdentity, Platform, Target, UnsupportedTarget};

/// Where binfmt_misc is mounted on every Linux system that has it.
pub const BINFMT_MISC_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// Overrides [`BINFMT_MISC_DIR`] (for tests, or a binfmt_misc mounted elsewhere).
pub const BINFMT_MISC_ENV: &str = "CROSSDOCK_BINFMT_MISC";

/// Why a foreign platform cannot run here. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulationError {
    /// binfmt_misc is not mounted.
    #[error(
        "cannot run {platform} binaries: binfmt_misc is not mounted at {}; \
         run `crossdock setup` as root (it mounts it and registers {handler})",
        dir.display()
    )]
    NotMounted {
        /// The platform asked for.
        platform: Box<Platform>,
        /// The handler it needs, e.g. `qemu-aarch64`.
        handler: &'static str,
        /// The mount point looked at.
        dir: PathBuf,
    },
    /// binfmt_misc is switched off as a whole.
    #[error(
        "cannot run {platform} binaries: binfmt_misc is disabled ({}/status); \
         run `crossdock setup` as root",
        dir.display()
    )]
    Disabled {
        /// The platform asked for.
        platform: Box<Platform>,
        /// The mount point.
        dir: PathBuf,
    },
    /// No handler matches the platform's executables.
    #[error(
        "cannot run {platform} binaries: no binfmt_misc handler for them is registered \
         ({handler} from qemu-user-static); run `crossdock setup --platform {platform}` as root"
    )]
    NoHandler {
        /// The platform asked for.
        platform: Box<Platform>,
        /// The handler it needs.
        handler: &'static str,
    },
    /// A handler matches but is disabled.
    #[error(
        "cannot run {platform} binaries: binfmt_misc handler {name} is disabled; \
         run `crossdock setup --platform {platform}` as root"
    )]
    HandlerDisabled {
        /// The platform asked for.
        platform: Box<Platform>,
        /// The handler's name.
        name: String,
    },
    /// A handler matches but lacks the F (fix binary) flag, so the emulator is looked up
    /// inside the container's root file system, where it is not.
    #[error(
        "cannot run {platform} binaries in a container: binfmt_misc handler {name} is \
         registered without the F flag (flags: {flags:?}); run `crossdock setup --platform \
         {platform}` as root to register {handler} with it"
    )]
    NoFixBinary {
        /// The platform asked for.
        platform: Box<Platform>,
        /// The handler's name.
        name: String,
        /// Its flags.
        flags: String,
        /// The handler crossdock registers.
        handler: &'static str,
    },
    /// crossdock knows no ELF identity for the platform.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedTarget),
    /// Reading or writing binfmt_misc failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// How a platform's binaries run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emulation {
    /// On the CPU directly.
    Native,
    /// Through a registered QEMU user-mode emulator.
    Qemu {
        /// The binfmt_misc handler's name.
        handler: String,
        /// The emulator binary.
        interpreter: PathBuf,
    },
}

/// One registered binfmt_misc handler, as `/proc/sys/fs/binfmt_misc/<name>` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinfmtHandler {
    /// The handler's name.
    pub name: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The emulator binary.
    pub interpreter: PathBuf,
    /// Its flags (`F`: the interpreter was opened at registration, so it works inside
    /// containers; `P`, `C`, `O`).
    pub flags: String,
    /// Where the magic starts in the file.
    pub offset: usize,
    /// The bytes matched (`None` for extension handlers).
    pub magic: Option<Vec<u8>>,
    /// The mask applied before matching (all ones when absent).
    pub mask: Option<Vec<u8>>,
}

impl BinfmtHandler {
    /// Parses a handler file.
    pub fn parse(name: &str, text: &str) -> Self {
        let mut handler = Self {
            name: name.to_owned(),
            enabled: false,
            interpreter: PathBuf::new(),
            flags: String::new(),
            offset: 0,
            magic: None,
            mask: None,
        };
        for line in text.lines() {
            let line = line.trim();
            if line == "enabled" {
                handler.enabled = true;
            } else if let Some(v) = line.strip_prefix("interpreter ") {
                handler.interpreter = PathBuf::from(v.trim());
            } else if let Some(v) = line.strip_prefix("flags:") {
                handler.flags = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("offset ") {
                handler.offset = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("magic ") {
                handler.magic = unhex(v.trim());
            } else if let Some(v) = line.strip_prefix("mask ") {
                handler.mask = unhex(v.trim());
            }
        }
        handler
    }

    /// Whether the handler has the F flag.
    pub fn fixes_binary(&self) -> bool {
        self.flags.contains('F')
    }

    /// Whether a file starting with `header` would be run by this handler.
    pub fn matches(&self, header: &[u8]) -> bool {
        let Some(magic) = &self.magic else {
            return false;
        };
        let Some(window) = header.get(self.offset..self.offset + magic.len()) else {
            return false;
        };
        window.iter().zip(magic).enumerate().all(|(i, (h, m))| {
            let mask = self
                .mask
                .as_ref()
                .and_then(|k| k.get(i))
                .copied()
                .unwrap_or(0xff);
            h & mask == m & mask
        })
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `\xHH` for every byte, as the register file's magic and mask fields take them.
fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

/// The registration line for `target`'s emulator at `interpreter`, with the F flag:
/// `:qemu-aarch64:M:0:<magic>:<mask>:/usr/bin/qemu-aarch64-static:F`.
pub fn registration(target: &Target, interpreter: &Path) -> String {
    let elf = target.elf();
    format!(
        ":{}:M:0:{}:{}:{}:F",
        target.qemu_binary(),
        escape(&elf.binfmt_magic()),
        escape(&elf.binfmt_mask()),
        interpreter.display()
    )
}

/// The kernel's binfmt_misc file system: which foreign executables it hands to an
/// emulator, and registering more.
///
/// A platform runs here when it is native ([`Platform::runs_natively_on`]) or when an
/// enabled handler matches both static (`ET_EXEC`) and position-independent (`ET_DYN`)
/// executables of its ELF identity and has the F flag: the kernel then opened the
/// emulator when it was registered, so it also runs inside a container whose root file
/// system has no emulator. Handlers are recognised by what they match, not by name, so
/// those of binfmt-support, systemd-binfmt or `tonistiigi/binfmt` all count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinfmtMisc {
    dir: PathBuf,
}

impl Default for BinfmtMisc {
    /// `$CROSSDOCK_BINFMT_MISC`, else [`BINFMT_MISC_DIR`].
    fn default() -> Self {
        match std::env::var_os(BINFMT_MISC_ENV) {
            Some(dir) if !dir.is_empty() => Self::at(dir),
            _ => Self::at(BINFMT_MISC_DIR),
        }
    }
}

impl BinfmtMisc {
    /// binfmt_misc mounted at `dir` (tests use a plain directory of handler files).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether binfmt_misc is mounted (its `register` and `status` files exist).
    pub fn is_mounted(&self) -> bool {
        self.dir.join("register").exists() && self.dir.join("status").exists()
    }

    fn enabled(&self) -> bool {
        fs::read_to_string(self.dir.join("status")).is_ok_and(|s| s.trim() == "enabled")
    }

    /// Every registered handler, by name.
    pub fn handlers(&self) -> Result<Vec<BinfmtHandler>, EmulationError> {
        let io = |op, path: &Path| {
            let path = path.to_owned();
            move |source| EmulationError::Io { op, path, source }
        };
        let mut handlers = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io("list", &self.dir))? {
            let entry = entry.map_err(io("list", &self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "register" || name == "status" {
                continue;
            }
            let path = entry.path();
            let text = fs::read_to_string(&path).map_err(io("read", &path))?;
            handlers.push(BinfmtHandler::parse(&name, &text));
        }
        handlers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(handlers)
    }

    /// The handlers that would run `elf`'s executables (static and PIE), best first:
    /// enabled ones with the F flag before the others.
    pub fn handlers_for(&self, elf: ElfIdentity) -> Result<Vec<BinfmtHandler>, EmulationError> {
        let mut found: Vec<BinfmtHandler> = self
            .handlers()?
            .into_iter()
            .filter(|h| h.matches(&elf.header_prefix(2)) && h.matches(&elf.header_prefix(3)))
            .collect();
        found.sort_by_key(|h| (!(h.enabled && h.fixes_binary()), !h.enabled));
        Ok(found)
    }

    /// How `platform`'s binaries run on a `host`, or why they cannot.
    pub fn check(&self, platform: &Platform, host: &Platform) -> Result<Emulation, EmulationError> {
        if platform.runs_natively_on(host) {
            return Ok(Emulation::Native);
        }
        let target = platform.target()?;
        let handler = target.qemu_binary();
        if !self.is_mounted() {
            return Err(EmulationError::NotMounted {
                platform: Box::new(platform.clone()),
                handler,
                dir: self.dir.clone(),
            });
        }
        if !self.enabled() {
            return Err(EmulationError::Disabled {
                platform: Box::new(platform.clone()),
                dir: self.dir.clone(),
            });
        }
        let Some(best) = self.handlers_for(target.elf())?.into_iter().next() else {
            return Err(EmulationError::NoHandler {
                platform: Box::new(platform.clone()),
                handler,
            });
        };
        if !best.enabled {
            return Err(EmulationError::HandlerDisabled {
                platform: Box::new(platform.clone()),
                name: best.name,
            });
        }
        if !best.fixes_binary() {
            return Err(EmulationError::NoFixBinary {
                platform: Box::new(platform.clone()),
                name: best.name,
                flags: best.flags,
                handler,
            });
        }
        Ok(Emulation::Qemu {
            handler: best.name,
            interpreter: best.interpreter,
        })
    }

    /// Mounts binfmt_misc at its directory (needs root).
    pub fn mount(&self) -> Result<(), EmulationError> {
        rustix::mount::mount(
            "binfmt_misc",
            &self.dir,
            "binfmt_misc",
            rustix::mount::MountFlags::NOSUID
                | rustix::mount::MountFlags::NODEV
                | rustix::mount::MountFlags::NOEXEC,
            None,
        )
        .map_err(|e| EmulationError::Io {
            op: "mount binfmt_misc at",
            path: self.dir.clone(),
            source: e.into(),
        })
    }

    /// Registers `target`'s emulator at `interpreter` with the F flag (needs root).
    pub fn register(&self, target: &Target, interpreter: &Path) -> Result<(), EmulationError> {
        let path = self.dir.join("register");
        fs::write(&path, registration(target, interpreter)).map_err(|source| EmulationError::Io {
            op: "register a handler through",
            path,
            source,
        })
    }

    /// Removes the handler `name` (writes `-1` to it; needs root).
    pub fn remove(&self, name: &str) -> Result<(), EmulationError> {
        let path = self.dir.join(name);
        fs::write(&path, "-1").map_err(|source| EmulationError::Io {
            op: "remove handler",
            path,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_AARCH64: &str = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n\
        flags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\n\
        mask ffffffffffffff00fffffffffffffffffeffffff\n";

    fn fake(handlers: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("register"), "").expect("register");
        fs::write(dir.path().join("status"), "enabled\n").expect("status");
        for (name, text) in handlers {
            fs::write(dir.path().join(name), text).expect("handler");
        }
        dir
    }

    fn p(s: &str) -> Platform {
        Platform::parse(s).expect("platform")
    }

    #[test]
    fn a_registered_f_handler_is_found_by_its_pattern_not_its_name() {
        let dir = fake(&[("aarch64-by-another-tool", DEBIAN_AARCH64)]);
        let binfmt = BinfmtMisc::at(dir.path());
        assert_eq!(
            binfmt
                .check(&p("linux/arm64"), &p("linux/amd64"))
                .expect("runs"),
            Emulation::Qemu {
                handler: "aarch64-by-another-tool".into(),
                interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P".into()
            }
        );
        assert_eq!(
            binfmt
                .check(&p("linux/amd64"), &p("linux/amd64"))
                .expect("native"),
            Emulation::Native
        );
        let err = binfmt
            .check(&p("linux/arm/v7"), &p("linux/amd64"))
            .expect_err("no arm handler");
        let message = err.to_string();
        assert!(matches!(
            err,
            EmulationError::NoHandler {
                handler: "qemu-arm",
                ..
            }
        ));
        assert!(
            message.contains("qemu-arm") && message.contains("crossdock setup"),
            "{message}"
        );
    }

    #[test]
    fn missing_f_flag_disabled_and_unmounted_are_told_apart() {
        let no_f = DEBIAN_AARCH64.replace("flags: PF", "flags: P");
        let dir = fake(&[("qemu-aarch64", &no_f)]);
        let err = BinfmtMisc::at(dir.path())
            .check(&p("linux/arm64"), &p("linux/amd64"))
            .expect_err("no F");
        assert!(matches!(err, EmulationError::NoFixBinary { .. }), "{err}");
        assert!(err.to_string().contains("F flag"));

        let disabled = DEBIAN_AARCH64.replace("enabled\n", "disabled\n");
        let dir = fake(&[("qemu-aarch64", &disabled)]);
        let err = BinfmtMisc::at(dir.path())
            .check(&p("linux/arm64"), &p("linux/amd64"))
            .expect_err("disabled");
        assert!(
            matches!(err, EmulationError::HandlerDisabled { .. }),
            "{err}"
        );

        let empty = tempfile::tempdir().expect("tempdir");
        let err = BinfmtMisc::at(empty.path())
            .check(&p("linux/arm64"), &p("linux/amd64"))
            .expect_err("not mounted");
        assert!(matches!(
            err,
            EmulationError::NotMounted {
                handler: "qemu-aarch64",
                ..
            }
        ));
    }

    #[test]
    fn registration_line_has_the_pattern_and_the_f_flag() {
        let target = p("linux/arm64").target().expect("target");
        let line = registration(&target, Path::new("/usr/bin/qemu-aarch64-static"));
        assert_eq!(
            line,
            ":qemu-aarch64:M:0:\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\
             \\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\
             \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:\
             /usr/bin/qemu-aarch64-static:F"
        );
    }

    #[test]
    fn an_arm64_handler_does_not_run_arm_binaries() {
        let handler = BinfmtHandler::parse("qemu-aarch64", DEBIAN_AARCH64);
        let arm = p("linux/arm/v7").target().expect("target").elf();
        let arm64 = p("linux/arm64").target().expect("target").elf();
        assert!(handler.matches(&arm64.header_prefix(3)));
        assert!(!handler.matches(&arm.header_prefix(2)));
        assert!(!handler.matches(b"\x7fELF"));
    }
}
