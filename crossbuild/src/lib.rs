//! Target platforms and the native cross toolchains that build for them.
//!
//! crossdock makes multi-platform container builds fast by cross-compiling on
//! the build machine instead of emulating the target under QEMU. This crate
//! holds what that takes, as pure functions over data: no I/O beyond reading
//! the host's CPU details.
//!
//! # Brief overview
//!
//! A [`Platform`] (`linux/arm/v7`) is parsed once and normalised as containerd
//! does; [`parse_platform_list`] reads a `--platform` list, [`Platform::host`]
//! gives the build platform and [`automatic_args`] the `BUILDPLATFORM` /
//! `TARGETARCH` ARGs BuildKit derives from a build and target platform pair.
//!
//! [`Platform::target`] turns a supported platform into a [`Target`]: its Go
//! environment, Rust and GNU triples, Debian/Alpine/RPM architectures, Debian
//! cross packages, QEMU binary and the [`ElfIdentity`] its binaries carry. A
//! `Target` also renders the `{variable}` templates ([`TEMPLATE_VARIABLES`])
//! of the toolchain files; [`render_template`] and [`template_variables`] let a
//! caller render them another way (the rewrite turns `{gnu_triple}` into a shell
//! variable set per platform).
//!
//! [`toolchains`] are data: one embedded TOML file per [`Toolchain`] (Go, Cargo,
//! C compilers and make, CMake, Autotools, Meson, and the native add-on
//! installers of Node.js, Python and Ruby). Each lists [`CommandPattern`]s with
//! a [`Role`] and what a cross build needs, rendered for a `Target` by
//! [`Toolchain::cross_env`], [`Toolchain::cross_packages`] and
//! [`CommandPattern::cross_args`]. [`classify_command`] matches the words of a
//! `RUN` command against the patterns and returns a [`CommandMatch`], whose
//! [`CommandMatch::cross_evidence`] tells whether the step cross-compiles
//! already.
//!
//! ```
//! use crossbuild::{classify_command, toolchain, Platform, Role};
//!
//! let target = Platform::parse("linux/aarch64")?.target()?;
//! let step = classify_command(&["cargo", "build", "--release"]).expect("a cargo step");
//! assert_eq!((step.toolchain.id(), step.role), ("rust", Role::Compile));
//! assert_eq!(
//!     step.pattern.cross_args(&target)?,
//!     ["--target", "aarch64-unknown-linux-gnu"]
//! );
//! let env = toolchain("rust").expect("built in").cross_env(&target)?;
//! assert_eq!(
//!     env[0],
//!     (
//!         "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER".to_string(),
//!         "aarch64-linux-gnu-gcc".to_string()
//!     )
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod args;
mod command;
mod platform;
mod target;
mod template;
mod toolchain;

pub use crate::{
    args::{automatic_args, is_automatic_arg, AUTOMATIC_ARGS, DEFAULT_TARGET_STAGE},
    command::{classify_command, CommandMatch, CrossEvidence},
    platform::{
        parse_platform_list, ParsePlatformError, ParsePlatformErrorKind, Platform,
        PlatformListError,
    },
    target::{
        cargo_target_env, cc_env, ElfClass, ElfIdentity, Endianness, Target, TemplateVariable,
        UnsupportedTarget, BINFMT_PATTERN_LEN, TEMPLATE_VARIABLES,
    },
    template::{render_template, template_variables, TemplateError},
    toolchain::{
        toolchain, toolchains, CommandPattern, CrossMarkers, DistroAlternative, DistroFamily,
        Helper, Role, Toolchain, ToolchainError,
    },
};
