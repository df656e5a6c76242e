//! What building for a Linux platform means to each toolchain: triples, package
//! architectures, emulator names and the ELF identity of the result.
//!
//! Everything comes from one table, [`TARGETS`], with one row per supported
//! platform. Its values are the facts of the tonistiigi/xx helpers (`xx-info`,
//! `xx-go`, `xx-cargo`, `xx-apt`), Debian's cross packages, QEMU's binary names
//! and the ELF specification.

use std::fmt;

use crate::template::{self, TemplateError};
use crate::Platform;

/// The ELF word size (`EI_CLASS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

impl ElfClass {
    /// 32 or 64.
    pub fn bits(self) -> u32 {
        match self {
            Self::Elf32 => 32,
            Self::Elf64 => 64,
        }
    }

    /// The `e_ident[EI_CLASS]` byte: 1 or 2.
    pub fn ident_byte(self) -> u8 {
        match self {
            Self::Elf32 => 1,
            Self::Elf64 => 2,
        }
    }
}

/// Byte order (`EI_DATA`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endianness {
    /// `ELFDATA2LSB`.
    Little,
    /// `ELFDATA2MSB`.
    Big,
}

impl Endianness {
    /// The `e_ident[EI_DATA]` byte: 1 (little) or 2 (big).
    pub fn ident_byte(self) -> u8 {
        match self {
            Self::Little => 1,
            Self::Big => 2,
        }
    }

    /// `little` or `big`, as Meson spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Little => "little",
            Self::Big => "big",
        }
    }
}

/// What the ELF header of a binary built for a target says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ElfIdentity {
    /// `e_machine`, e.g. 183.
    pub machine: u16,
    /// The constant's name, e.g. `EM_AARCH64`.
    pub machine_name: &'static str,
    /// 32 or 64 bit.
    pub class: ElfClass,
    /// Byte order.
    pub endianness: Endianness,
}

/// Length of the ELF header prefix that binfmt_misc handlers for QEMU match: the
/// `e_ident` bytes, `e_type` and `e_machine`.
pub const BINFMT_PATTERN_LEN: usize = 20;

impl ElfIdentity {
    fn half(self, value: u16) -> [u8; 2] {
        match self.endianness {
            Endianness::Little => value.to_le_bytes(),
            Endianness::Big => value.to_be_bytes(),
        }
    }

    /// The first 20 bytes of an executable with this identity, as QEMU's
    /// `qemu-binfmt-conf.sh` registers them for binfmt_misc: `\x7fELF`, class, data,
    /// version 1, zero padding, `e_type` `ET_EXEC` (2) and `e_machine`.
    pub fn binfmt_magic(self) -> [u8; BINFMT_PATTERN_LEN] {
        let mut magic = [0u8; BINFMT_PATTERN_LEN];
        magic[..4].copy_from_slice(b"\x7fELF");
        magic[4] = self.class.ident_byte();
        magic[5] = self.endianness.ident_byte();
        magic[6] = 1;
        magic[16..18].copy_from_slice(&self.half(2));
        magic[18..20].copy_from_slice(&self.half(self.machine));
        magic
    }

    /// The binfmt_misc mask for [`ElfIdentity::binfmt_magic`]: the OS ABI byte
    /// (`EI_OSABI`) is ignored, and `e_type`'s lowest bit, so that position-independent
    /// executables (`ET_DYN`, 3) match too.
    pub fn binfmt_mask(self) -> [u8; BINFMT_PATTERN_LEN] {
        let mut mask = [0xffu8; BINFMT_PATTERN_LEN];
        mask[7] = 0;
        mask[16..18].copy_from_slice(&match self.endianness {
            Endianness::Little => [0xfe, 0xff],
            Endianness::Big => [0xff, 0xfe],
        });
        mask
    }

    /// The first 20 bytes of a binary with this identity whose `e_type` is `e_type` (2
    /// for a static executable, 3 for a PIE): what a binfmt handler must match.
    pub fn header_prefix(self, e_type: u16) -> [u8; BINFMT_PATTERN_LEN] {
        let mut header = self.binfmt_magic();
        header[16..18].copy_from_slice(&self.half(e_type));
        header
    }
}

/// One supported platform. Fields that a platform lacks are `None`.
struct Row {
    /// OCI architecture (the OS is always `linux`).
    arch: &'static str,
    /// OCI variant.
    variant: Option<&'static str>,
    goarch: &'static str,
    goarm: Option<&'static str>,
    goamd64: Option<&'static str>,
    /// rustc target, glibc (rustup/Debian form, vendor `unknown`).
    rust_gnu: &'static str,
    /// rustc target, musl (rustup form).
    rust_musl: &'static str,
    /// GNU triple as Debian names its cross compilers and multiarch directories.
    gnu_triple: &'static str,
    /// `clang --target=` value that finds Debian's multiarch sysroot.
    clang_triple: &'static str,
    debian_arch: &'static str,
    /// Alpine has no ARMv5 port.
    alpine_arch: Option<&'static str>,
    /// Triple of Alpine's musl toolchain (and of xx's cross sysroot `/<triple>`).
    alpine_triple: &'static str,
    rhel_arch: &'static str,
    uname_m: &'static str,
    /// QEMU user-mode emulator binary.
    qemu: &'static str,
    meson_cpu_family: &'static str,
    meson_cpu: &'static str,
    /// Node.js `process.arch` (what `npm_config_arch` takes).
    node_arch: &'static str,
    elf: ElfIdentity,
}

const fn elf(machine: u16, machine_name: &'static str, class: ElfClass) -> ElfIdentity {
    ElfIdentity {
        machine,
        machine_name,
        class,
        endianness: Endianness::Little,
    }
}

const X86_64_ELF: ElfIdentity = elf(62, "EM_X86_64", ElfClass::Elf64);
const ARM_ELF: ElfIdentity = elf(40, "EM_ARM", ElfClass::Elf32);

/// A `linux/amd64[/vN]` row; the microarchitecture levels differ only in GOAMD64.
const fn amd64(variant: Option<&'static str>) -> Row {
    Row {
        arch: "amd64",
        variant,
        goarch: "amd64",
        goarm: None,
        goamd64: variant,
        rust_gnu: "x86_64-unknown-linux-gnu",
        rust_musl: "x86_64-unknown-linux-musl",
        gnu_triple: "x86_64-linux-gnu",
        clang_triple: "x86_64-linux-gnu",
        debian_arch: "amd64",
        alpine_arch: Some("x86_64"),
        alpine_triple: "x86_64-alpine-linux-musl",
        rhel_arch: "x86_64",
        uname_m: "x86_64",
        qemu: "qemu-x86_64",
        meson_cpu_family: "x86_64",
        meson_cpu: "x86_64",
        node_arch: "x64",
        elf: X86_64_ELF,
    }
}

/// The supported platforms, all `linux/...`.
///
/// Choices where sources differ:
/// - `arm/v5` uses rustc's `armv5te-*` targets; xx maps it to `arm-*` (ARMv6).
/// - `clang_triple` for `arm/v7` is `armv7-linux-gnueabihf` (xx's
///   `ARM_TARGET_ARCH=armv7` form), since plain `arm-linux-gnueabihf` makes clang
///   default to an ARMv6 CPU; Debian's multiarch paths are found either way.
/// - `cmake_system_processor` is the first part of the GNU triple, as Debian's
///   debhelper sets `CMAKE_SYSTEM_PROCESSOR` from `DEB_HOST_GNU_CPU`.
const TARGETS: &[Row] = &[
    amd64(None),
    amd64(Some("v2")),
    amd64(Some("v3")),
    amd64(Some("v4")),
    Row {
        arch: "arm64",
        variant: None,
        goarch: "arm64",
        goarm: None,
        goamd64: None,
        rust_gnu: "aarch64-unknown-linux-gnu",
        rust_musl: "aarch64-unknown-linux-musl",
        gnu_triple: "aarch64-linux-gnu",
        clang_triple: "aarch64-linux-gnu",
        debian_arch: "arm64",
        alpine_arch: Some("aarch64"),
        alpine_triple: "aarch64-alpine-linux-musl",
        rhel_arch: "aarch64",
        uname_m: "aarch64",
        qemu: "qemu-aarch64",
        meson_cpu_family: "aarch64",
        meson_cpu: "aarch64",
        node_arch: "arm64",
        elf: elf(183, "EM_AARCH64", ElfClass::Elf64),
    },
    Row {
        arch: "arm",
        variant: Some("v7"),
        goarch: "arm",
        goarm: Some("7"),
        goamd64: None,
        rust_gnu: "armv7-unknown-linux-gnueabihf",
        rust_musl: "armv7-unknown-linux-musleabihf",
        gnu_triple: "arm-linux-gnueabihf",
        clang_triple: "armv7-linux-gnueabihf",
        debian_arch: "armhf",
        alpine_arch: Some("armv7"),
        alpine_triple: "armv7-alpine-linux-musleabihf",
        rhel_arch: "armv7hl",
        uname_m: "armv7l",
        qemu: "qemu-arm",
        meson_cpu_family: "arm",
        meson_cpu: "armv7l",
        node_arch: "arm",
        elf: ARM_ELF,
    },
    Row {
        arch: "arm",
        variant: Some("v6"),
        goarch: "arm",
        goarm: Some("6"),
        goamd64: None,
        rust_gnu: "arm-unknown-linux-gnueabi",
        rust_musl: "arm-unknown-linux-musleabi",
        gnu_triple: "arm-linux-gnueabi",
        clang_triple: "arm-linux-gnueabi",
        debian_arch: "armel",
        alpine_arch: Some("armhf"),
        alpine_triple: "armv6-alpine-linux-musleabihf",
        rhel_arch: "armv6hl",
        uname_m: "armv6l",
        qemu: "qemu-arm",
        meson_cpu_family: "arm",
        meson_cpu: "armv6l",
        node_arch: "arm",
        elf: ARM_ELF,
    },
    Row {
        arch: "arm",
        variant: Some("v5"),
        goarch: "arm",
        goarm: Some("5"),
        goamd64: None,
        rust_gnu: "armv5te-unknown-linux-gnueabi",
        rust_musl: "armv5te-unknown-linux-musleabi",
        gnu_triple: "arm-linux-gnueabi",
        clang_triple: "arm-linux-gnueabi",
        debian_arch: "armel",
        alpine_arch: None,
        alpine_triple: "armv5-alpine-linux-musleabi",
        rhel_arch: "armv5tel",
        uname_m: "armv5l",
        qemu: "qemu-arm",
        meson_cpu_family: "arm",
        meson_cpu: "armv5l",
        node_arch: "arm",
        elf: ARM_ELF,
    },
    Row {
        arch: "386",
        variant: None,
        goarch: "386",
        goarm: None,
        goamd64: None,
        rust_gnu: "i686-unknown-linux-gnu",
        rust_musl: "i686-unknown-linux-musl",
        gnu_triple: "i686-linux-gnu",
        clang_triple: "i686-linux-gnu",
        debian_arch: "i386",
        alpine_arch: Some("x86"),
        alpine_triple: "i586-alpine-linux-musl",
        rhel_arch: "i386",
        uname_m: "i386",
        qemu: "qemu-i386",
        meson_cpu_family: "x86",
        meson_cpu: "i686",
        node_arch: "ia32",
        elf: elf(3, "EM_386", ElfClass::Elf32),
    },
    Row {
        arch: "ppc64le",
        variant: None,
        goarch: "ppc64le",
        goarm: None,
        goamd64: None,
        rust_gnu: "powerpc64le-unknown-linux-gnu",
        rust_musl: "powerpc64le-unknown-linux-musl",
        gnu_triple: "powerpc64le-linux-gnu",
        clang_triple: "powerpc64le-linux-gnu",
        debian_arch: "ppc64el",
        alpine_arch: Some("ppc64le"),
        alpine_triple: "powerpc64le-alpine-linux-musl",
        rhel_arch: "ppc64le",
        uname_m: "ppc64le",
        qemu: "qemu-ppc64le",
        meson_cpu_family: "ppc64",
        meson_cpu: "ppc64le",
        node_arch: "ppc64",
        elf: elf(21, "EM_PPC64", ElfClass::Elf64),
    },
    Row {
        arch: "s390x",
        variant: None,
        goarch: "s390x",
        goarm: None,
        goamd64: None,
        rust_gnu: "s390x-unknown-linux-gnu",
        rust_musl: "s390x-unknown-linux-musl",
        gnu_triple: "s390x-linux-gnu",
        clang_triple: "s390x-linux-gnu",
        debian_arch: "s390x",
        alpine_arch: Some("s390x"),
        alpine_triple: "s390x-alpine-linux-musl",
        rhel_arch: "s390x",
        uname_m: "s390x",
        qemu: "qemu-s390x",
        meson_cpu_family: "s390x",
        meson_cpu: "s390x",
        node_arch: "s390x",
        elf: ElfIdentity {
            machine: 22,
            machine_name: "EM_S390",
            class: ElfClass::Elf64,
            endianness: Endianness::Big,
        },
    },
    Row {
        arch: "riscv64",
        variant: None,
        goarch: "riscv64",
        goarm: None,
        goamd64: None,
        rust_gnu: "riscv64gc-unknown-linux-gnu",
        rust_musl: "riscv64gc-unknown-linux-musl",
        gnu_triple: "riscv64-linux-gnu",
        clang_triple: "riscv64-linux-gnu",
        debian_arch: "riscv64",
        alpine_arch: Some("riscv64"),
        alpine_triple: "riscv64-alpine-linux-musl",
        rhel_arch: "riscv64",
        uname_m: "riscv64",
        qemu: "qemu-riscv64",
        meson_cpu_family: "riscv64",
        meson_cpu: "riscv64",
        node_arch: "riscv64",
        elf: elf(243, "EM_RISCV", ElfClass::Elf64),
    },
];

/// A platform has no row in the target table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot cross-compile for {platform}: not a supported target; supported: {supported}")]
pub struct UnsupportedTarget {
    platform: Platform,
    supported: String,
}

impl UnsupportedTarget {
    /// The platform that was asked for.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }
}

/// How to build for one supported Linux platform: the toolchain settings of
/// [`Platform::target`].
///
/// ```
/// let target = crossbuild::Platform::parse("linux/arm/v7")?.target()?;
/// assert_eq!(target.rust_triple(), "armv7-unknown-linux-gnueabihf");
/// assert_eq!(target.gnu_triple(), "arm-linux-gnueabihf");
/// assert_eq!(target.go_env(), [("GOOS", "linux"), ("GOARCH", "arm"), ("GOARM", "7")]);
/// assert_eq!(target.render("{cross_gcc} --version")?, "arm-linux-gnueabihf-gcc --version");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct Target {
    row: &'static Row,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target")
            .field(&self.platform().to_string())
            .finish()
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.row, other.row)
    }
}

impl Eq for Target {}

impl Platform {
    /// The cross-compilation settings for this platform, or an error naming the
    /// supported platforms. The OS version is ignored.
    pub fn target(&self) -> Result<Target, UnsupportedTarget> {
        Target::for_platform(self)
    }
}

impl Target {
    /// See [`Platform::target`].
    pub fn for_platform(platform: &Platform) -> Result<Self, UnsupportedTarget> {
        TARGETS
            .iter()
            .find(|row| {
                platform.os() == "linux"
                    && platform.arch() == row.arch
                    && platform.variant() == row.variant
            })
            .map(|row| {
                debug_assert!(
                    [row.rust_gnu, row.rust_musl].iter().all(|t| {
                        <target_lexicon::Triple as std::str::FromStr>::from_str(t).is_ok()
                    }),
                    "target table: a Rust triple of linux/{} is not a valid target",
                    row.arch
                );
                Self { row }
            })
            .ok_or_else(|| UnsupportedTarget {
                platform: platform.clone(),
                supported: Self::all()
                    .map(|t| t.platform().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Every supported target, in table order.
    pub fn all() -> impl Iterator<Item = Self> {
        TARGETS.iter().map(|row| Self { row })
    }

    /// The platform this target builds for, e.g. `linux/arm/v7`.
    pub fn platform(&self) -> Platform {
        let text = match self.row.variant {
            Some(v) => format!("linux/{}/{v}", self.row.arch),
            None => format!("linux/{}", self.row.arch),
        };
        // The table's own platforms are well-formed and already normalised.
        Platform::parse(&text).unwrap_or_else(|e| unreachable!("target table: {e}"))
    }

    /// `GOOS`, `GOARCH` and, where they apply, `GOARM` or `GOAMD64`, in that
    /// order (xx-go's settings; `GOAMD64` stays unset for plain `amd64`).
    pub fn go_env(&self) -> Vec<(&'static str, &'static str)> {
        let row = self.row;
        let mut env = vec![("GOOS", "linux"), ("GOARCH", row.goarch)];
        env.extend(row.goarm.map(|v| ("GOARM", v)));
        env.extend(row.goamd64.map(|v| ("GOAMD64", v)));
        env
    }

    /// The rustc target for glibc, e.g. `aarch64-unknown-linux-gnu`.
    pub fn rust_triple(&self) -> &'static str {
        self.row.rust_gnu
    }

    /// The rustc target for musl, e.g. `aarch64-unknown-linux-musl`.
    pub fn rust_triple_musl(&self) -> &'static str {
        self.row.rust_musl
    }

    /// The GNU triple Debian names its cross toolchain after, e.g.
    /// `arm-linux-gnueabihf`, `i686-linux-gnu`.
    pub fn gnu_triple(&self) -> &'static str {
        self.row.gnu_triple
    }

    /// The `clang --target=` value, e.g. `armv7-linux-gnueabihf`.
    pub fn clang_triple(&self) -> &'static str {
        self.row.clang_triple
    }

    /// The Debian architecture, e.g. `armhf`, `ppc64el`.
    pub fn debian_arch(&self) -> &'static str {
        self.row.debian_arch
    }

    /// The suffix of Debian's cross toolchain packages: the GNU triple with `_`
    /// replaced by `-` (package names allow no `_`), e.g. `x86-64-linux-gnu`.
    pub fn debian_cross_suffix(&self) -> String {
        self.row.gnu_triple.replace('_', "-")
    }

    /// Debian's cross C/C++ toolchain for this target: `gcc-<suffix>`,
    /// `g++-<suffix>`, `binutils-<suffix>` and `libc6-dev-<debian arch>-cross`.
    pub fn debian_cross_packages(&self) -> Vec<String> {
        let suffix = self.debian_cross_suffix();
        vec![
            format!("gcc-{suffix}"),
            format!("g++-{suffix}"),
            format!("binutils-{suffix}"),
            format!("libc6-dev-{}-cross", self.row.debian_arch),
        ]
    }

    /// The multiarch name of a Debian package for this target: `name:<debian arch>`.
    pub fn debian_multiarch(&self, package: &str) -> String {
        format!("{package}:{}", self.row.debian_arch)
    }

    /// The Alpine architecture (`apk --arch`), e.g. `armv7`; `None` for
    /// `arm/v5`, which Alpine does not build for.
    pub fn alpine_arch(&self) -> Option<&'static str> {
        self.row.alpine_arch
    }

    /// The triple of Alpine's musl toolchain, e.g. `aarch64-alpine-linux-musl`.
    pub fn alpine_triple(&self) -> &'static str {
        self.row.alpine_triple
    }

    /// The RPM architecture, e.g. `aarch64`, `armv7hl`.
    pub fn rhel_arch(&self) -> &'static str {
        self.row.rhel_arch
    }

    /// What `uname -m` reports on the target, e.g. `aarch64`, `armv7l`.
    pub fn uname_m(&self) -> &'static str {
        self.row.uname_m
    }

    /// The QEMU user-mode emulator, e.g. `qemu-aarch64`, `qemu-arm`.
    pub fn qemu_binary(&self) -> &'static str {
        self.row.qemu
    }

    /// The ELF identity every binary built for this target has.
    pub fn elf(&self) -> ElfIdentity {
        self.row.elf
    }

    /// The value of one [template variable](TEMPLATE_VARIABLES): `None` when
    /// `name` is no such variable, `Some("")` when it does not apply here
    /// (`goarm` on arm64).
    pub fn var(&self, name: &str) -> Option<String> {
        TEMPLATE_VARIABLES
            .iter()
            .find(|v| v.name == name)
            .map(|v| (v.value)(self))
    }

    /// Replaces each `{name}` in `template` with [`Target::var`]`(name)`; `{{`
    /// and `}}` are literal braces. Unknown names and unbalanced braces are errors.
    pub fn render(&self, template: &str) -> Result<String, TemplateError> {
        template::render_template(template, |name| self.var(name))
    }
}

/// The environment variable cargo reads for a per-target setting:
/// `CARGO_TARGET_<TRIPLE>_<KEY>`, the triple uppercased with every character
/// other than a letter or digit turned into `_`.
///
/// ```
/// assert_eq!(
///     crossbuild::cargo_target_env("armv7-unknown-linux-gnueabihf", "LINKER"),
///     "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER"
/// );
/// ```
pub fn cargo_target_env(rust_triple: &str, key: &str) -> String {
    format!("CARGO_TARGET_{}_{key}", upper_underscore(rust_triple))
}

/// The environment variable the `cc` crate reads for a per-target tool:
/// `<TOOL>_<triple>`, the triple's `-` turned into `_`.
///
/// ```
/// assert_eq!(
///     crossbuild::cc_env("CC", "x86_64-unknown-linux-gnu"),
///     "CC_x86_64_unknown_linux_gnu"
/// );
/// ```
pub fn cc_env(tool: &str, rust_triple: &str) -> String {
    format!("{tool}_{}", rust_triple.replace('-', "_"))
}

fn upper_underscore(triple: &str) -> String {
    triple
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A variable the toolchain data files may use as `{name}`; see [`Target::var`].
pub struct TemplateVariable {
    /// The name between the braces.
    pub name: &'static str,
    /// What it stands for.
    pub description: &'static str,
    value: fn(&Target) -> String,
}

impl fmt::Debug for TemplateVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateVariable")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

const fn var(
    name: &'static str,
    description: &'static str,
    value: fn(&Target) -> String,
) -> TemplateVariable {
    TemplateVariable {
        name,
        description,
        value,
    }
}

/// Every template variable, with the value it takes for a [`Target`].
pub const TEMPLATE_VARIABLES: &[TemplateVariable] = &[
    var("os", "OCI OS: linux", |_| "linux".into()),
    var("arch", "OCI architecture: amd64, arm64, arm, ...", |t| {
        t.row.arch.into()
    }),
    var("variant", "OCI variant: v7, v2, ...; empty if none", |t| {
        t.row.variant.unwrap_or_default().into()
    }),
    var("platform", "the platform: linux/arm/v7", |t| {
        t.platform().to_string()
    }),
    var("goos", "GOOS: linux", |_| "linux".into()),
    var("goarch", "GOARCH: amd64, arm, ...", |t| t.row.goarch.into()),
    var("goarm", "GOARM: 5, 6 or 7; empty if not arm", |t| {
        t.row.goarm.unwrap_or_default().into()
    }),
    var("goamd64", "GOAMD64: v2, v3 or v4; empty otherwise", |t| {
        t.row.goamd64.unwrap_or_default().into()
    }),
    var(
        "rust_triple",
        "rustc target, glibc: aarch64-unknown-linux-gnu",
        |t| t.rust_triple().into(),
    ),
    var(
        "rust_triple_upper",
        "rust_triple as in CARGO_TARGET_<..>_LINKER: AARCH64_UNKNOWN_LINUX_GNU",
        |t| upper_underscore(t.rust_triple()),
    ),
    var(
        "rust_triple_underscore",
        "rust_triple as in CC_<..>: aarch64_unknown_linux_gnu",
        |t| t.rust_triple().replace('-', "_"),
    ),
    var(
        "rust_triple_musl",
        "rustc target, musl: aarch64-unknown-linux-musl",
        |t| t.rust_triple_musl().into(),
    ),
    var(
        "rust_triple_musl_upper",
        "rust_triple_musl uppercased, '-' as '_'",
        |t| upper_underscore(t.rust_triple_musl()),
    ),
    var(
        "rust_triple_musl_underscore",
        "rust_triple_musl with '-' as '_'",
        |t| t.rust_triple_musl().replace('-', "_"),
    ),
    var(
        "gnu_triple",
        "Debian GNU triple: arm-linux-gnueabihf",
        |t| t.gnu_triple().into(),
    ),
    var(
        "clang_triple",
        "clang --target: armv7-linux-gnueabihf",
        |t| t.clang_triple().into(),
    ),
    var(
        "cross_gcc",
        "Debian cross C compiler: aarch64-linux-gnu-gcc",
        |t| format!("{}-gcc", t.gnu_triple()),
    ),
    var(
        "cross_gxx",
        "Debian cross C++ compiler: aarch64-linux-gnu-g++",
        |t| format!("{}-g++", t.gnu_triple()),
    ),
    var(
        "cross_cc_pkg",
        "Debian package of cross_gcc: gcc-aarch64-linux-gnu",
        |t| format!("gcc-{}", t.debian_cross_suffix()),
    ),
    var(
        "debian_arch",
        "Debian architecture: arm64, armhf, ppc64el, ...",
        |t| t.debian_arch().into(),
    ),
    var(
        "debian_cross_suffix",
        "suffix of Debian cross packages: x86-64-linux-gnu",
        |t| t.debian_cross_suffix(),
    ),
    var(
        "alpine_arch",
        "Alpine architecture: aarch64, armv7, x86; empty for arm/v5",
        |t| t.alpine_arch().unwrap_or_default().into(),
    ),
    var(
        "alpine_triple",
        "Alpine musl triple: aarch64-alpine-linux-musl",
        |t| t.alpine_triple().into(),
    ),
    var(
        "rhel_arch",
        "RPM architecture: aarch64, armv7hl, ...",
        |t| t.rhel_arch().into(),
    ),
    var(
        "uname_m",
        "uname -m on the target: aarch64, armv7l, ...",
        |t| t.uname_m().into(),
    ),
    var(
        "qemu",
        "QEMU user emulator: qemu-aarch64, qemu-arm, ...",
        |t| t.qemu_binary().into(),
    ),
    var(
        "cmake_system_processor",
        "CMAKE_SYSTEM_PROCESSOR: aarch64, arm, i686, ...",
        |t| t.gnu_triple().split('-').next().unwrap_or_default().into(),
    ),
    var(
        "meson_cpu_family",
        "Meson cpu_family: aarch64, arm, x86, ppc64, ...",
        |t| t.row.meson_cpu_family.into(),
    ),
    var("meson_cpu", "Meson cpu: aarch64, armv7l, i686, ...", |t| {
        t.row.meson_cpu.into()
    }),
    var("meson_endian", "Meson endian: little or big", |t| {
        t.elf().endianness.name().into()
    }),
    var(
        "node_arch",
        "Node.js process.arch / npm_config_arch: x64, arm64, arm, ia32, ...",
        |t| t.row.node_arch.into(),
    ),
];

#[cfg(test)]
pub(crate) mod tests {
    use std::str::FromStr;

    use target_lexicon::{Architecture, PointerWidth, Triple};

    use super::*;

    /// The target of a supported platform string.
    pub(crate) fn target(platform: &str) -> Target {
        let p = Platform::parse(platform).unwrap_or_else(|e| panic!("{e}"));
        p.target().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The columns of platform-mapping.md for one platform.
    struct Expect {
        platform: &'static str,
        go: &'static [(&'static str, &'static str)],
        rust: [&'static str; 2],
        gnu: &'static str,
        clang: &'static str,
        debian: &'static str,
        cross_pkgs: [&'static str; 4],
        alpine: (Option<&'static str>, &'static str),
        rhel: &'static str,
        uname: &'static str,
        qemu: &'static str,
        elf: (u16, &'static str, u32, Endianness),
    }

    const L: Endianness = Endianness::Little;

    const EXPECTED: &[Expect] = &[
        Expect {
            platform: "linux/amd64",
            go: &[("GOOS", "linux"), ("GOARCH", "amd64")],
            rust: ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"],
            gnu: "x86_64-linux-gnu",
            clang: "x86_64-linux-gnu",
            debian: "amd64",
            cross_pkgs: [
                "gcc-x86-64-linux-gnu",
                "g++-x86-64-linux-gnu",
                "binutils-x86-64-linux-gnu",
                "libc6-dev-amd64-cross",
            ],
            alpine: (Some("x86_64"), "x86_64-alpine-linux-musl"),
            rhel: "x86_64",
            uname: "x86_64",
            qemu: "qemu-x86_64",
            elf: (62, "EM_X86_64", 64, L),
        },
        Expect {
            platform: "linux/arm64",
            go: &[("GOOS", "linux"), ("GOARCH", "arm64")],
            rust: ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"],
            gnu: "aarch64-linux-gnu",
            clang: "aarch64-linux-gnu",
            debian: "arm64",
            cross_pkgs: [
                "gcc-aarch64-linux-gnu",
                "g++-aarch64-linux-gnu",
                "binutils-aarch64-linux-gnu",
                "libc6-dev-arm64-cross",
            ],
            alpine: (Some("aarch64"), "aarch64-alpine-linux-musl"),
            rhel: "aarch64",
            uname: "aarch64",
            qemu: "qemu-aarch64",
            elf: (183, "EM_AARCH64", 64, L),
        },
        Expect {
            platform: "linux/arm/v7",
            go: &[("GOOS", "linux"), ("GOARCH", "arm"), ("GOARM", "7")],
            rust: [
                "armv7-unknown-linux-gnueabihf",
                "armv7-unknown-linux-musleabihf",
            ],
            gnu: "arm-linux-gnueabihf",
            clang: "armv7-linux-gnueabihf",
            debian: "armhf",
            cross_pkgs: [
                "gcc-arm-linux-gnueabihf",
                "g++-arm-linux-gnueabihf",
                "binutils-arm-linux-gnueabihf",
                "libc6-dev-armhf-cross",
            ],
            alpine: (Some("armv7"), "armv7-alpine-linux-musleabihf"),
            rhel: "armv7hl",
            uname: "armv7l",
            qemu: "qemu-arm",
            elf: (40, "EM_ARM", 32, L),
        },
        Expect {
            platform: "linux/arm/v6",
            go: &[("GOOS", "linux"), ("GOARCH", "arm"), ("GOARM", "6")],
            rust: ["arm-unknown-linux-gnueabi", "arm-unknown-linux-musleabi"],
            gnu: "arm-linux-gnueabi",
            clang: "arm-linux-gnueabi",
            debian: "armel",
            cross_pkgs: [
                "gcc-arm-linux-gnueabi",
                "g++-arm-linux-gnueabi",
                "binutils-arm-linux-gnueabi",
                "libc6-dev-armel-cross",
            ],
            alpine: (Some("armhf"), "armv6-alpine-linux-musleabihf"),
            rhel: "armv6hl",
            uname: "armv6l",
            qemu: "qemu-arm",
            elf: (40, "EM_ARM", 32, L),
        },
        Expect {
            platform: "linux/arm/v5",
            go: &[("GOOS", "linux"), ("GOARCH", "arm"), ("GOARM", "5")],
            rust: [
                "armv5te-unknown-linux-gnueabi",
                "armv5te-unknown-linux-musleabi",
            ],
            gnu: "arm-linux-gnueabi",
            clang: "arm-linux-gnueabi",
            debian: "armel",
            cross_pkgs: [
                "gcc-arm-linux-gnueabi",
                "g++-arm-linux-gnueabi",
                "binutils-arm-linux-gnueabi",
                "libc6-dev-armel-cross",
            ],
            alpine: (None, "armv5-alpine-linux-musleabi"),
            rhel: "armv5tel",
            uname: "armv5l",
            qemu: "qemu-arm",
            elf: (40, "EM_ARM", 32, L),
        },
        Expect {
            platform: "linux/386",
            go: &[("GOOS", "linux"), ("GOARCH", "386")],
            rust: ["i686-unknown-linux-gnu", "i686-unknown-linux-musl"],
            gnu: "i686-linux-gnu",
            clang: "i686-linux-gnu",
            debian: "i386",
            cross_pkgs: [
                "gcc-i686-linux-gnu",
                "g++-i686-linux-gnu",
                "binutils-i686-linux-gnu",
                "libc6-dev-i386-cross",
            ],
            alpine: (Some("x86"), "i586-alpine-linux-musl"),
            rhel: "i386",
            uname: "i386",
            qemu: "qemu-i386",
            elf: (3, "EM_386", 32, L),
        },
        Expect {
            platform: "linux/ppc64le",
            go: &[("GOOS", "linux"), ("GOARCH", "ppc64le")],
            rust: [
                "powerpc64le-unknown-linux-gnu",
                "powerpc64le-unknown-linux-musl",
            ],
            gnu: "powerpc64le-linux-gnu",
            clang: "powerpc64le-linux-gnu",
            debian: "ppc64el",
            cross_pkgs: [
                "gcc-powerpc64le-linux-gnu",
                "g++-powerpc64le-linux-gnu",
                "binutils-powerpc64le-linux-gnu",
                "libc6-dev-ppc64el-cross",
            ],
            alpine: (Some("ppc64le"), "powerpc64le-alpine-linux-musl"),
            rhel: "ppc64le",
            uname: "ppc64le",
            qemu: "qemu-ppc64le",
            elf: (21, "EM_PPC64", 64, L),
        },
        Expect {
            platform: "linux/s390x",
            go: &[("GOOS", "linux"), ("GOARCH", "s390x")],
            rust: ["s390x-unknown-linux-gnu", "s390x-unknown-linux-musl"],
            gnu: "s390x-linux-gnu",
            clang: "s390x-linux-gnu",
            debian: "s390x",
            cross_pkgs: [
                "gcc-s390x-linux-gnu",
                "g++-s390x-linux-gnu",
                "binutils-s390x-linux-gnu",
                "libc6-dev-s390x-cross",
            ],
            alpine: (Some("s390x"), "s390x-alpine-linux-musl"),
            rhel: "s390x",
            uname: "s390x",
            qemu: "qemu-s390x",
            elf: (22, "EM_S390", 64, Endianness::Big),
        },
        Expect {
            platform: "linux/riscv64",
            go: &[("GOOS", "linux"), ("GOARCH", "riscv64")],
            rust: [
                "riscv64gc-unknown-linux-gnu",
                "riscv64gc-unknown-linux-musl",
            ],
            gnu: "riscv64-linux-gnu",
            clang: "riscv64-linux-gnu",
            debian: "riscv64",
            cross_pkgs: [
                "gcc-riscv64-linux-gnu",
                "g++-riscv64-linux-gnu",
                "binutils-riscv64-linux-gnu",
                "libc6-dev-riscv64-cross",
            ],
            alpine: (Some("riscv64"), "riscv64-alpine-linux-musl"),
            rhel: "riscv64",
            uname: "riscv64",
            qemu: "qemu-riscv64",
            elf: (243, "EM_RISCV", 64, L),
        },
    ];

    #[test]
    fn rows_match_the_mapping_tables() {
        for e in EXPECTED {
            let t = target(e.platform);
            let p = e.platform;
            assert_eq!(t.platform().to_string(), p);
            assert_eq!(t.go_env(), e.go, "{p} go env");
            assert_eq!([t.rust_triple(), t.rust_triple_musl()], e.rust, "{p} rust");
            assert_eq!(t.gnu_triple(), e.gnu, "{p} gnu triple");
            assert_eq!(t.clang_triple(), e.clang, "{p} clang triple");
            assert_eq!(t.debian_arch(), e.debian, "{p} debian arch");
            assert_eq!(
                t.debian_cross_packages(),
                e.cross_pkgs,
                "{p} cross packages"
            );
            assert_eq!((t.alpine_arch(), t.alpine_triple()), e.alpine, "{p} alpine");
            assert_eq!(t.rhel_arch(), e.rhel, "{p} rhel");
            assert_eq!(t.uname_m(), e.uname, "{p} uname -m");
            assert_eq!(t.qemu_binary(), e.qemu, "{p} qemu");
            let elf = t.elf();
            assert_eq!(
                (
                    elf.machine,
                    elf.machine_name,
                    elf.class.bits(),
                    elf.endianness
                ),
                e.elf,
                "{p} elf"
            );
        }
    }

    #[test]
    fn every_row_is_tested_and_unique() {
        let all: Vec<String> = Target::all().map(|t| t.platform().to_string()).collect();
        let amd64 = target("linux/amd64");
        for platform in &all {
            if EXPECTED.iter().any(|e| e.platform == platform) {
                continue;
            }
            // amd64/v2..v4 are the amd64 row plus GOAMD64.
            let t = target(platform);
            let level = t.platform().variant().map(str::to_owned);
            assert!(
                matches!(level.as_deref(), Some("v2" | "v3" | "v4")),
                "{platform} untested"
            );
            let go = t.go_env();
            assert_eq!(go[..2], amd64.go_env()[..], "{platform}");
            assert_eq!(
                go[2..]
                    .iter()
                    .map(|(k, v)| (*k, Some(*v)))
                    .collect::<Vec<_>>(),
                [("GOAMD64", level.as_deref())]
            );
            for name in TEMPLATE_VARIABLES.iter().map(|v| v.name) {
                if !["variant", "platform", "goamd64"].contains(&name) {
                    assert_eq!(t.var(name), amd64.var(name), "{platform} {name}");
                }
            }
            assert_eq!(t.elf(), amd64.elf());
        }
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
        assert_eq!(all.len(), 12);
    }

    #[test]
    fn aliases_reach_the_same_row() {
        assert_eq!(target("linux/arm"), target("linux/arm/v7"));
        assert_eq!(target("linux/armhf"), target("linux/arm/v7"));
        assert_eq!(target("linux/aarch64"), target("linux/arm64"));
        assert_eq!(target("linux/x86_64/v1"), target("linux/amd64"));
        assert_eq!(target("linux/i386"), target("linux/386"));
    }

    #[test]
    fn unsupported_targets_list_the_supported_ones() {
        for platform in [
            "linux/mips64le",
            "darwin/arm64",
            "windows/amd64",
            "linux/arm64/v9",
            "linux/arm/v8",
        ] {
            let p = Platform::parse(platform).unwrap_or_else(|e| panic!("{e}"));
            let err = p.target().expect_err(platform);
            assert_eq!(err.platform(), &p);
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("cannot cross-compile for {platform}:")),
                "{message}"
            );
            assert!(
                message.ends_with(
                    "supported: linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, \
                     linux/arm64, linux/arm/v7, linux/arm/v6, linux/arm/v5, linux/386, \
                     linux/ppc64le, linux/s390x, linux/riscv64"
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn rust_triples_agree_with_target_lexicon_and_elf() {
        for t in Target::all() {
            for triple in [t.rust_triple(), t.rust_triple_musl()] {
                let parsed = Triple::from_str(triple).unwrap_or_else(|e| panic!("{triple}: {e}"));
                assert_eq!(parsed.to_string(), triple);
                let bits = match parsed.pointer_width() {
                    Ok(PointerWidth::U32) => 32,
                    Ok(PointerWidth::U64) => 64,
                    other => panic!("{triple}: {other:?}"),
                };
                assert_eq!(bits, t.elf().class.bits(), "{triple}");
                let little = parsed.endianness() == Ok(target_lexicon::Endianness::Little);
                assert_eq!(little, t.elf().endianness == Endianness::Little, "{triple}");
                let family_ok = match parsed.architecture {
                    Architecture::X86_64 => t.elf().machine == 62,
                    Architecture::Aarch64(_) => t.elf().machine == 183,
                    Architecture::Arm(_) => t.elf().machine == 40,
                    Architecture::X86_32(_) => t.elf().machine == 3,
                    Architecture::Powerpc64le => t.elf().machine == 21,
                    Architecture::S390x => t.elf().machine == 22,
                    Architecture::Riscv64(_) => t.elf().machine == 243,
                    _ => false,
                };
                assert!(family_ok, "{triple} vs {:?}", t.elf());
            }
        }
    }

    #[test]
    fn elf_ident_bytes() {
        assert_eq!(ElfClass::Elf32.ident_byte(), 1);
        assert_eq!(ElfClass::Elf64.ident_byte(), 2);
        assert_eq!(Endianness::Little.ident_byte(), 1);
        assert_eq!(Endianness::Big.ident_byte(), 2);
    }

    #[test]
    fn env_name_derivations() {
        assert_eq!(
            cargo_target_env("x86_64-unknown-linux-gnu", "LINKER"),
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"
        );
        assert_eq!(
            cargo_target_env("riscv64gc-unknown-linux-gnu", "RUNNER"),
            "CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUNNER"
        );
        assert_eq!(
            cc_env("CXX", "armv7-unknown-linux-gnueabihf"),
            "CXX_armv7_unknown_linux_gnueabihf"
        );
        let t = target("linux/arm64");
        assert_eq!(
            t.render("CARGO_TARGET_{rust_triple_upper}_LINKER"),
            Ok(cargo_target_env(t.rust_triple(), "LINKER"))
        );
        assert_eq!(
            t.render("CC_{rust_triple_underscore}"),
            Ok(cc_env("CC", t.rust_triple()))
        );
    }

    #[test]
    fn variables() {
        // (platform, variable, value)
        let cases = [
            ("linux/arm64", "goarm", ""),
            ("linux/arm64", "goamd64", ""),
            ("linux/arm/v6", "goarm", "6"),
            ("linux/amd64/v2", "goamd64", "v2"),
            ("linux/amd64", "debian_cross_suffix", "x86-64-linux-gnu"),
            ("linux/amd64", "cross_cc_pkg", "gcc-x86-64-linux-gnu"),
            ("linux/arm/v7", "cross_gxx", "arm-linux-gnueabihf-g++"),
            ("linux/arm/v7", "cmake_system_processor", "arm"),
            ("linux/386", "cmake_system_processor", "i686"),
            ("linux/ppc64le", "cmake_system_processor", "powerpc64le"),
            ("linux/386", "meson_cpu_family", "x86"),
            ("linux/s390x", "meson_endian", "big"),
            ("linux/riscv64", "meson_endian", "little"),
            ("linux/arm/v5", "alpine_arch", ""),
            ("linux/arm/v7", "variant", "v7"),
            ("linux/arm64", "variant", ""),
            ("linux/arm/v7", "platform", "linux/arm/v7"),
            ("linux/ppc64le", "node_arch", "ppc64"),
            ("linux/386", "node_arch", "ia32"),
            (
                "linux/arm64",
                "rust_triple_musl_upper",
                "AARCH64_UNKNOWN_LINUX_MUSL",
            ),
            (
                "linux/arm64",
                "rust_triple_musl_underscore",
                "aarch64_unknown_linux_musl",
            ),
        ];
        for (platform, name, want) in cases {
            assert_eq!(
                target(platform).var(name).as_deref(),
                Some(want),
                "{platform} {name}"
            );
        }
        assert_eq!(target("linux/arm64").var("GOARCH"), None);
        assert_eq!(target("linux/arm64").var("nope"), None);
    }

    #[test]
    fn every_variable_is_named_once_and_nonempty_where_it_applies() {
        let names: Vec<&str> = TEMPLATE_VARIABLES.iter().map(|v| v.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        let optional = ["goarm", "goamd64", "variant", "alpine_arch"];
        for t in Target::all() {
            for name in &names {
                let value = t.var(name).unwrap_or_else(|| panic!("{name}"));
                assert!(
                    !value.is_empty() || optional.contains(name),
                    "{name} empty for {:?}",
                    t
                );
            }
        }
    }

    #[test]
    fn render_reports_unknown_variables() {
        let t = target("linux/arm64");
        assert_eq!(
            t.render("--host={gnu_triple}").as_deref(),
            Ok("--host=aarch64-linux-gnu")
        );
        assert!(matches!(
            t.render("{gnu_tripel}"),
            Err(TemplateError::UnknownVariable { name, .. }) if name == "gnu_tripel"
        ));
        assert!(matches!(
            t.render("{gnu_triple"),
            Err(TemplateError::Unterminated { .. })
        ));
    }
}

#[cfg(test)]
mod binfmt_tests {
    use crate::Platform;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The patterns Debian's qemu-user-static registers (`/usr/share/binfmts/qemu-*`,
    /// as shown in `/proc/sys/fs/binfmt_misc/qemu-*`) and QEMU's s390x entry.
    #[test]
    fn binfmt_patterns_match_what_qemu_registers() {
        let cases = [
            (
                "linux/arm64",
                "7f454c460201010000000000000000000200b700",
                "ffffffffffffff00fffffffffffffffffeffffff",
            ),
            (
                "linux/arm/v7",
                "7f454c4601010100000000000000000002002800",
                "ffffffffffffff00fffffffffffffffffeffffff",
            ),
            (
                "linux/s390x",
                "7f454c4602020100000000000000000000020016",
                "ffffffffffffff00fffffffffffffffffffeffff",
            ),
        ];
        for (platform, magic, mask) in cases {
            let elf = Platform::parse(platform)
                .expect("platform")
                .target()
                .expect("target")
                .elf();
            assert_eq!(hex(&elf.binfmt_magic()), magic, "{platform} magic");
            assert_eq!(hex(&elf.binfmt_mask()), mask, "{platform} mask");
        }
    }

    #[test]
    fn static_and_pie_headers_match_the_pattern() {
        let elf = Platform::parse("linux/arm64")
            .expect("platform")
            .target()
            .expect("target")
            .elf();
        let (magic, mask) = (elf.binfmt_magic(), elf.binfmt_mask());
        for e_type in [2, 3] {
            let header = elf.header_prefix(e_type);
            assert!(header
                .iter()
                .zip(mask)
                .zip(magic)
                .all(|((h, m), g)| h & m == g & m));
        }
        let relocatable = elf.header_prefix(1);
        assert!(!relocatable
            .iter()
            .zip(mask)
            .zip(magic)
            .all(|((h, m), g)| h & m == g & m));
    }
}
