//! Toolchains as data: how to recognise their commands in a `RUN` and what a
//! cross build with them needs. One TOML file per toolchain lives in the
//! workspace's `toolchains/` directory and is embedded at compile time; its
//! schema is described in `toolchains/README.md`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::{Target, TemplateError};

/// The embedded toolchain files, in matching order: `(file name, contents)`.
const FILES: &[(&str, &str)] = &[
    ("go.toml", include_str!("../../toolchains/go.toml")),
    ("rust.toml", include_str!("../../toolchains/rust.toml")),
    ("c.toml", include_str!("../../toolchains/c.toml")),
    ("cmake.toml", include_str!("../../toolchains/cmake.toml")),
    (
        "autotools.toml",
        include_str!("../../toolchains/autotools.toml"),
    ),
    ("meson.toml", include_str!("../../toolchains/meson.toml")),
    ("node.toml", include_str!("../../toolchains/node.toml")),
    ("python.toml", include_str!("../../toolchains/python.toml")),
    ("ruby.toml", include_str!("../../toolchains/ruby.toml")),
];

/// Every built-in toolchain, parsed once, in matching order (Go, Rust, C, CMake,
/// Autotools, Meson, then the native add-on installers of Node.js, Python and Ruby).
pub fn toolchains() -> &'static [Toolchain] {
    static PARSED: OnceLock<Vec<Toolchain>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let parsed: Vec<Toolchain> = FILES
            .iter()
            .map(|(file, text)| {
                Toolchain::from_toml(text).unwrap_or_else(|e| {
                    // The files are ours and a test loads each one.
                    panic!("embedded toolchain file toolchains/{file} is invalid: {e}")
                })
            })
            .collect();
        if let Some(dup) = parsed
            .iter()
            .enumerate()
            .find(|(i, t)| parsed[..*i].iter().any(|u| u.id == t.id))
        {
            panic!("embedded toolchain id {:?} is used twice", dup.1.id);
        }
        parsed
    })
}

/// The built-in toolchain with this `id` (`go`, `rust`, `c`, `cmake`, ...).
pub fn toolchain(id: &str) -> Option<&'static Toolchain> {
    toolchains().iter().find(|t| t.id == id)
}

/// A toolchain file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolchainError {
    /// The TOML is malformed or does not fit the schema.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// The file parsed but breaks a rule of the schema.
    #[error("toolchain {id:?}: {message}")]
    Invalid {
        /// The toolchain's `id`.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// One toolchain: its identity, the command patterns that recognise its steps,
/// and what a cross build with it needs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    id: String,
    name: String,
    language: String,
    description: String,
    #[serde(default)]
    pub(crate) value_options: Vec<String>,
    #[serde(default)]
    pub(crate) helpers: Vec<Helper>,
    #[serde(rename = "command")]
    pub(crate) commands: Vec<CommandPattern>,
    #[serde(default)]
    cross: CrossSettings,
}

/// A program that wraps one of the toolchain's programs and cross-compiles for
/// `TARGETPLATFORM` by itself, such as `xx-go` for `go`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Helper {
    pub(crate) program: String,
    pub(crate) runs: String,
}

impl Helper {
    /// The helper's name, e.g. `xx-go`.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The program it stands for, e.g. `go`.
    pub fn runs(&self) -> &str {
        &self.runs
    }
}

/// What a recognised command does, as far as cross-compiling is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Produces binaries for the target (`go build`, `cargo build`, `make`, `gcc`).
    Compile,
    /// Compiles and installs (`go install`, `cargo install`, `make install`).
    Install,
    /// Downloads sources; architecture-independent (`go mod download`, `cargo fetch`).
    Fetch,
    /// Configures a build for a host system (`cmake -B`, `./configure`, `meson setup`).
    Configure,
    /// Compiles and runs a program on the build machine (`go run`, `cargo run`).
    RunHost,
    /// Compiles and runs tests (`go test`, `cargo test`, `make check`).
    Test,
    /// Analyses code for the target without producing binaries (`go vet`, `cargo check`).
    Check,
    /// Generates sources on the build machine (`go generate`, `autoreconf`).
    Generate,
}

impl Role {
    /// The name used in the data files, e.g. `run-host`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Compile => "compile",
            Self::Install => "install",
            Self::Fetch => "fetch",
            Self::Configure => "configure",
            Self::RunHost => "run-host",
            Self::Test => "test",
            Self::Check => "check",
            Self::Generate => "generate",
        }
    }

    /// Whether the step writes code for the target platform, so that it must be
    /// cross-compiled rather than run natively (compile, install, configure).
    pub fn targets_platform(self) -> bool {
        matches!(self, Self::Compile | Self::Install | Self::Configure)
    }

    /// Whether the step executes what it builds, which a cross build can only
    /// do under emulation (run-host, test).
    pub fn executes_output(self) -> bool {
        matches!(self, Self::RunHost | Self::Test)
    }
}

/// One way of invoking a toolchain, with the role it plays. Patterns are tried
/// in file order and the first that fits wins.
///
/// A pattern fits a command when the program's name is one of `programs` and
/// every condition it sets holds: the first positional words (after options)
/// start with one of `subcommands`; some argument equals one of `any_arg`; no
/// argument equals any of `none_of`; there is no positional word
/// (`no_subcommand`); the program was invoked by a path (`by_path`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandPattern {
    description: String,
    pub(crate) programs: Vec<String>,
    #[serde(default)]
    pub(crate) by_path: bool,
    #[serde(default)]
    pub(crate) cross_prefixed: bool,
    #[serde(default)]
    pub(crate) subcommands: Vec<String>,
    #[serde(default)]
    pub(crate) any_arg: Vec<String>,
    #[serde(default)]
    pub(crate) none_of: Vec<String>,
    #[serde(default)]
    pub(crate) no_subcommand: bool,
    role: Role,
    #[serde(default)]
    cross_program: Option<String>,
    #[serde(default)]
    cross_args: Vec<String>,
    #[serde(default)]
    output_paths: Vec<OutputPath>,
}

/// How an output location moves when the step cross-compiles.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputPath {
    native: String,
    cross: String,
}

/// A distribution family or toolchain installer that packages are named for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistroFamily {
    /// Debian and Ubuntu (`apt-get install`).
    Debian,
    /// Alpine (`apk add`).
    Alpine,
    /// RHEL, Fedora, CentOS, Rocky, Oracle Linux (`dnf install`).
    Rhel,
    /// Rust's own installer: the entries are targets for `rustup target add`.
    Rustup,
}

impl DistroFamily {
    /// The family of a distribution, from the `ID` of its `/etc/os-release`.
    pub fn from_os_release_id(id: &str) -> Option<Self> {
        match id {
            "debian" | "ubuntu" => Some(Self::Debian),
            "alpine" => Some(Self::Alpine),
            "rhel" | "fedora" | "centos" | "rocky" | "almalinux" | "ol" | "amzn" => {
                Some(Self::Rhel)
            }
            _ => None,
        }
    }
}

/// A variable to set for a cross build; both parts are templates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvTemplate {
    name: String,
    value: String,
}

/// Packages that replace [`Toolchain::distro_toolchain_packages`] when the
/// distribution's toolchain is a differently named variant (Debian's `rustc-web`
/// wants `libstd-rust-web-dev`, not `libstd-rust-dev`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistroAlternative {
    family: DistroFamily,
    installed: String,
    packages: Vec<String>,
}

impl DistroAlternative {
    /// The distribution family it applies to.
    pub fn family(&self) -> DistroFamily {
        self.family
    }

    /// The package whose presence selects this alternative (`rustc-web`).
    pub fn installed(&self) -> &str {
        &self.installed
    }

    /// The package templates, unrendered.
    pub fn package_templates(&self) -> &[String] {
        &self.packages
    }

    /// The packages to install instead, rendered for `target`.
    pub fn packages(&self, target: &Target) -> Result<Vec<String>, TemplateError> {
        render_all(target, &self.packages)
    }
}

/// A file to write before a cross build (a Meson cross file); both parts are templates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileTemplate {
    path: String,
    content: String,
}

/// What, found in a command or its environment, shows the step already
/// cross-compiles.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossMarkers {
    /// Variables whose presence is enough (`GOARCH`).
    #[serde(default)]
    pub(crate) env: Vec<String>,
    /// Variables that count when their value names a cross tool (`CC`).
    #[serde(default)]
    pub(crate) triple_env: Vec<String>,
    /// Arguments that count as whole words (`--target`).
    #[serde(default)]
    pub(crate) args: Vec<String>,
    /// Arguments that count by their start (`--host=`).
    #[serde(default)]
    pub(crate) arg_prefixes: Vec<String>,
    /// Programs that, run in the same step, prepare a cross build (`xx-apt-get`).
    #[serde(default)]
    pub(crate) programs: Vec<String>,
}

impl CrossMarkers {
    /// Programs that, run in the same `RUN`, show the step prepares a cross
    /// build (e.g. `xx-apt-get`, `xx-apk`).
    pub fn programs(&self) -> &[String] {
        &self.programs
    }
}

/// What a cross build with a toolchain needs: environment, packages, files, and
/// the markers of a step that already cross-compiles. Every string is a
/// template over [`Target::var`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CrossSettings {
    #[serde(default)]
    env: Vec<EnvTemplate>,
    #[serde(default)]
    packages: BTreeMap<DistroFamily, Vec<String>>,
    #[serde(default)]
    distro_toolchain_packages: BTreeMap<DistroFamily, Vec<String>>,
    #[serde(default)]
    distro_toolchain_alternatives: Vec<DistroAlternative>,
    #[serde(default)]
    native_packages: BTreeMap<DistroFamily, Vec<String>>,
    #[serde(default)]
    files: Vec<FileTemplate>,
    #[serde(default)]
    pub(crate) markers: CrossMarkers,
}

/// Renders each template, dropping those that render empty.
fn render_all<'a>(
    target: &Target,
    templates: impl IntoIterator<Item = &'a String>,
) -> Result<Vec<String>, TemplateError> {
    let mut out = Vec::new();
    for template in templates {
        let value = target.render(template)?;
        if !value.is_empty() {
            out.push(value);
        }
    }
    Ok(out)
}

fn render_packages(
    map: &BTreeMap<DistroFamily, Vec<String>>,
    family: DistroFamily,
    target: &Target,
) -> Result<Vec<String>, TemplateError> {
    render_all(target, map.get(&family).into_iter().flatten())
}

impl Toolchain {
    /// Parses and checks one toolchain file.
    pub fn from_toml(text: &str) -> Result<Self, ToolchainError> {
        let toolchain: Self = toml::from_str(text)?;
        toolchain
            .check()
            .map_err(|message| ToolchainError::Invalid {
                id: toolchain.id.clone(),
                message,
            })?;
        Ok(toolchain)
    }

    /// The rules serde cannot express.
    fn check(&self) -> Result<(), String> {
        let blank = |s: &String| s.trim().is_empty();
        if blank(&self.id) || blank(&self.name) || blank(&self.language) {
            return Err("id, name and language must not be blank".into());
        }
        if self.commands.is_empty() {
            return Err("has no [[command]] patterns".into());
        }
        for (i, pattern) in self.commands.iter().enumerate() {
            if blank(&pattern.description) || pattern.programs.is_empty() {
                return Err(format!(
                    "command {} needs a description and programs",
                    i + 1
                ));
            }
            let words = [
                &pattern.programs,
                &pattern.subcommands,
                &pattern.any_arg,
                &pattern.none_of,
            ];
            if words.into_iter().flatten().any(blank) {
                return Err(format!(
                    "command {:?} has a blank word",
                    pattern.description
                ));
            }
        }
        for helper in &self.helpers {
            if !self
                .commands
                .iter()
                .any(|p| p.programs.contains(&helper.runs))
            {
                return Err(format!(
                    "helper {:?} runs {:?}, which no command pattern names",
                    helper.program, helper.runs
                ));
            }
        }
        Ok(())
    }

    /// Short identifier, e.g. `go`, `rust`, `cmake`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Display name, e.g. `Go`, `Cargo`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Language, e.g. `Rust`, `C/C++`.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// One or two sentences on how the toolchain cross-compiles.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Its command patterns, in matching order.
    pub fn commands(&self) -> &[CommandPattern] {
        &self.commands
    }

    /// Its cross-compiling wrappers (`xx-go`, ...).
    pub fn helpers(&self) -> &[Helper] {
        &self.helpers
    }

    /// What shows a step already cross-compiles.
    pub fn cross_markers(&self) -> &CrossMarkers {
        &self.cross.markers
    }

    /// The environment a cross build for `target` needs, names and values
    /// rendered, in file order. Entries whose value renders empty (`GOARM` when
    /// the target is not arm) are left out.
    pub fn cross_env(&self, target: &Target) -> Result<Vec<(String, String)>, TemplateError> {
        let mut out = Vec::new();
        for entry in &self.cross.env {
            let value = target.render(&entry.value)?;
            if !value.is_empty() {
                out.push((target.render(&entry.name)?, value));
            }
        }
        Ok(out)
    }

    /// The packages a cross build for `target` installs on a `family` system
    /// (for [`DistroFamily::Rustup`], the targets to `rustup target add`).
    /// Empty when the file names none for that family.
    pub fn cross_packages(
        &self,
        family: DistroFamily,
        target: &Target,
    ) -> Result<Vec<String>, TemplateError> {
        render_packages(&self.cross.packages, family, target)
    }

    /// Packages needed in addition when the language itself came from the
    /// `family` distribution rather than its own installer (Debian's
    /// `libstd-rust-dev:<arch>` instead of `rustup target add`).
    pub fn distro_toolchain_packages(
        &self,
        family: DistroFamily,
        target: &Target,
    ) -> Result<Vec<String>, TemplateError> {
        render_packages(&self.cross.distro_toolchain_packages, family, target)
    }

    /// The variants of [`Toolchain::distro_toolchain_packages`] chosen by which
    /// package provides the distribution's toolchain.
    pub fn distro_toolchain_alternatives(&self) -> &[DistroAlternative] {
        &self.cross.distro_toolchain_alternatives
    }

    /// What to install instead of [`Toolchain::cross_packages`] when the target is
    /// the build machine's own architecture: the native compilers, which Debian also
    /// installs under their `<gnu triple>-` names (there is no `gcc-x86-64-linux-gnu`
    /// on amd64).
    pub fn native_packages(&self, family: DistroFamily) -> &[String] {
        self.cross
            .native_packages
            .get(&family)
            .map_or(&[], Vec::as_slice)
    }

    /// The templates of [`Toolchain::cross_packages`] for `family`, unrendered.
    pub fn cross_packages_templates(&self, family: DistroFamily) -> &[String] {
        self.cross.packages.get(&family).map_or(&[], Vec::as_slice)
    }

    /// The templates of [`Toolchain::distro_toolchain_packages`] for `family`,
    /// unrendered.
    pub fn distro_toolchain_templates(&self, family: DistroFamily) -> &[String] {
        self.cross
            .distro_toolchain_packages
            .get(&family)
            .map_or(&[], Vec::as_slice)
    }

    /// The cross environment as `(name, value)` templates, unrendered.
    pub fn cross_env_templates(&self) -> Vec<(&str, &str)> {
        self.cross
            .env
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect()
    }

    /// The files to write before a cross build as `(path, content)` templates,
    /// unrendered.
    pub fn cross_file_templates(&self) -> Vec<(&str, &str)> {
        self.cross
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.content.as_str()))
            .collect()
    }

    /// The files to write before a cross build, as `(path, content)`.
    pub fn cross_files(&self, target: &Target) -> Result<Vec<(String, String)>, TemplateError> {
        self.cross
            .files
            .iter()
            .map(|f| Ok((target.render(&f.path)?, target.render(&f.content)?)))
            .collect()
    }

    /// Every template string in the file, for checks.
    #[cfg(test)]
    pub(crate) fn templates(&self) -> Vec<&str> {
        let cross = &self.cross;
        let mut all: Vec<&String> = Vec::new();
        all.extend(cross.env.iter().flat_map(|e| [&e.name, &e.value]));
        all.extend(cross.packages.values().flatten());
        all.extend(cross.distro_toolchain_packages.values().flatten());
        all.extend(
            cross
                .distro_toolchain_alternatives
                .iter()
                .flat_map(|a| &a.packages),
        );
        all.extend(cross.native_packages.values().flatten());
        all.extend(cross.files.iter().flat_map(|f| [&f.path, &f.content]));
        for pattern in &self.commands {
            all.extend(&pattern.cross_program);
            all.extend(&pattern.cross_args);
            all.extend(
                pattern
                    .output_paths
                    .iter()
                    .flat_map(|o| [&o.native, &o.cross]),
            );
        }
        all.into_iter().map(String::as_str).collect()
    }
}

impl CommandPattern {
    /// Short human text, e.g. `go build`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The program names it recognises (basenames).
    pub fn programs(&self) -> &[String] {
        &self.programs
    }

    /// What the command does.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The program to run instead when cross-compiling (`gcc` becomes
    /// `aarch64-linux-gnu-gcc`); `None` to keep the program.
    pub fn cross_program(&self, target: &Target) -> Result<Option<String>, TemplateError> {
        self.cross_program
            .as_deref()
            .map(|t| target.render(t))
            .transpose()
    }

    /// The template of [`CommandPattern::cross_program`], unrendered.
    pub fn cross_program_template(&self) -> Option<&str> {
        self.cross_program.as_deref()
    }

    /// The templates of [`CommandPattern::cross_args`], unrendered.
    pub fn cross_arg_templates(&self) -> &[String] {
        &self.cross_args
    }

    /// Arguments to add when cross-compiling (`--target aarch64-unknown-linux-gnu`,
    /// `--host=aarch64-linux-gnu`); arguments that render empty are left out.
    pub fn cross_args(&self, target: &Target) -> Result<Vec<String>, TemplateError> {
        render_all(target, &self.cross_args)
    }

    /// Where outputs move when cross-compiling, as `(native prefix, cross
    /// prefix)`: cargo's `target/` becomes `target/<rust triple>/`.
    pub fn output_paths(&self, target: &Target) -> Result<Vec<(String, String)>, TemplateError> {
        self.output_paths
            .iter()
            .map(|o| Ok((target.render(&o.native)?, target.render(&o.cross)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::target;

    fn pattern<'a>(toolchain: &'a Toolchain, description: &str) -> &'a CommandPattern {
        toolchain
            .commands()
            .iter()
            .find(|p| p.description() == description)
            .unwrap_or_else(|| panic!("no pattern {description:?} in {}", toolchain.id()))
    }

    fn builtin(id: &str) -> &'static Toolchain {
        toolchain(id).unwrap_or_else(|| panic!("no toolchain {id}"))
    }

    #[test]
    fn embedded_list_matches_the_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../toolchains");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(f, _)| (*f).to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn every_file_loads_and_its_id_is_its_name() {
        assert_eq!(toolchains().len(), FILES.len());
        for ((file, text), loaded) in FILES.iter().zip(toolchains()) {
            let parsed = Toolchain::from_toml(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(format!("{}.toml", parsed.id()), *file);
            assert_eq!(loaded.id(), parsed.id());
        }
    }

    #[test]
    fn every_template_renders_for_every_target() {
        for toolchain in toolchains() {
            let templates = toolchain.templates();
            for t in Target::all() {
                for template in &templates {
                    let rendered = t
                        .render(template)
                        .unwrap_or_else(|e| panic!("{} for {}: {e}", toolchain.id(), t.platform()));
                    assert!(!rendered.contains(['{', '}']), "{rendered}");
                }
                // The public renderers agree with the raw check above.
                let env = toolchain.cross_env(&t).unwrap_or_else(|e| panic!("{e}"));
                assert!(env.iter().all(|(n, v)| !n.is_empty() && !v.is_empty()));
                assert!(toolchain.cross_files(&t).is_ok());
                for family in [
                    DistroFamily::Debian,
                    DistroFamily::Alpine,
                    DistroFamily::Rhel,
                    DistroFamily::Rustup,
                ] {
                    assert!(toolchain.cross_packages(family, &t).is_ok());
                    assert!(toolchain.distro_toolchain_packages(family, &t).is_ok());
                }
            }
        }
    }

    #[test]
    fn go_cross_env() {
        let go = builtin("go");
        let pairs = |platform: &str| {
            go.cross_env(&target(platform))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(
            pairs("linux/arm64"),
            owned(&[("GOOS", "linux"), ("GOARCH", "arm64")])
        );
        assert_eq!(
            pairs("linux/arm/v6"),
            owned(&[("GOOS", "linux"), ("GOARCH", "arm"), ("GOARM", "6")])
        );
        assert_eq!(
            pairs("linux/amd64/v3"),
            owned(&[("GOOS", "linux"), ("GOARCH", "amd64"), ("GOAMD64", "v3")])
        );
        // The data file and Target::go_env say the same thing.
        for t in Target::all() {
            let from_file = go.cross_env(&t).unwrap_or_else(|e| panic!("{e}"));
            let from_table: Vec<(String, String)> = owned(&t.go_env());
            assert_eq!(from_file, from_table, "{}", t.platform());
        }
        let install = pattern(go, "go install");
        assert_eq!(
            install.output_paths(&target("linux/arm64")),
            Ok(vec![(
                "$GOPATH/bin/".to_owned(),
                "$GOPATH/bin/linux_arm64/".to_owned()
            )])
        );
    }

    #[test]
    fn rust_cross_settings() {
        let rust = builtin("rust");
        let t = target("linux/arm/v7");
        let env = rust.cross_env(&t).unwrap_or_else(|e| panic!("{e}"));
        assert!(env.contains(&(
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER".to_owned(),
            "arm-linux-gnueabihf-gcc".to_owned()
        )));
        assert!(env.contains(&(
            "CC_armv7_unknown_linux_gnueabihf".to_owned(),
            "arm-linux-gnueabihf-gcc".to_owned()
        )));
        let build = pattern(rust, "cargo build");
        assert_eq!(
            build.cross_args(&t),
            Ok(vec![
                "--target".to_owned(),
                "armv7-unknown-linux-gnueabihf".to_owned()
            ])
        );
        assert_eq!(
            build.output_paths(&t),
            Ok(vec![(
                "target/".to_owned(),
                "target/armv7-unknown-linux-gnueabihf/".to_owned()
            )])
        );
        assert_eq!(
            rust.cross_packages(DistroFamily::Rustup, &t),
            Ok(vec!["armv7-unknown-linux-gnueabihf".to_owned()])
        );
        let debian = rust
            .cross_packages(DistroFamily::Debian, &t)
            .unwrap_or_default();
        assert!(
            debian.contains(&"gcc-arm-linux-gnueabihf".to_owned()),
            "{debian:?}"
        );
        assert!(
            debian.contains(&"libc6-dev-armhf-cross".to_owned()),
            "{debian:?}"
        );
        assert_eq!(
            rust.distro_toolchain_packages(DistroFamily::Debian, &t),
            Ok(vec!["libstd-rust-dev:armhf".to_owned()])
        );
        assert_eq!(rust.cross_packages(DistroFamily::Rhel, &t), Ok(vec![]));
    }

    #[test]
    fn c_family_cross_settings() {
        let t = target("linux/amd64");
        let c = builtin("c");
        assert_eq!(
            c.cross_packages(DistroFamily::Debian, &t),
            Ok(t.debian_cross_packages())
        );
        assert_eq!(
            pattern(c, "gcc").cross_program(&t),
            Ok(Some("x86_64-linux-gnu-gcc".to_owned()))
        );
        assert_eq!(
            pattern(c, "clang").cross_args(&t),
            Ok(vec!["--target=x86_64-linux-gnu".to_owned()])
        );
        let configure = pattern(builtin("autotools"), "./configure");
        assert_eq!(
            configure.cross_args(&t),
            Ok(vec!["--host=x86_64-linux-gnu".to_owned()])
        );

        let arm = target("linux/arm/v7");
        let cmake_args = pattern(builtin("cmake"), "cmake configure")
            .cross_args(&arm)
            .unwrap_or_default();
        assert_eq!(
            cmake_args,
            [
                "-DCMAKE_SYSTEM_NAME=Linux",
                "-DCMAKE_SYSTEM_PROCESSOR=arm",
                "-DCMAKE_C_COMPILER=arm-linux-gnueabihf-gcc",
                "-DCMAKE_CXX_COMPILER=arm-linux-gnueabihf-g++",
            ]
        );
        let meson = builtin("meson");
        let files = meson
            .cross_files(&target("linux/s390x"))
            .unwrap_or_default();
        assert_eq!(files.len(), 1);
        let (path, content) = &files[0];
        assert_eq!(
            path,
            "/usr/local/share/meson/cross/crossdock-s390x-linux-gnu.ini"
        );
        assert!(content.contains("c = 's390x-linux-gnu-gcc'"), "{content}");
        assert!(content.contains("cpu_family = 's390x'"), "{content}");
        assert!(content.contains("endian = 'big'"), "{content}");
        let setup = pattern(meson, "meson setup").cross_args(&target("linux/s390x"));
        assert_eq!(setup, Ok(vec!["--cross-file".to_owned(), path.clone()]));
    }

    #[test]
    fn rejects_bad_files() {
        let cases = [
            ("id = 'x'", "missing field"),
            (
                "id = 'x'\nname = 'X'\nlanguage = 'X'\ndescription = ''\ncolour = 1\n[[command]]\ndescription = 'x'\nprograms = ['x']\nrole = 'compile'",
                "unknown field",
            ),
            (
                "id = 'x'\nname = 'X'\nlanguage = 'X'\ndescription = ''\n[[command]]\ndescription = 'x'\nprograms = ['x']\nrole = 'build'",
                "unknown variant",
            ),
            (
                "id = 'x'\nname = 'X'\nlanguage = 'X'\ndescription = ''\n[[command]]\ndescription = 'x'\nprograms = []\nrole = 'compile'",
                "needs a description and programs",
            ),
            (
                "id = 'x'\nname = 'X'\nlanguage = 'X'\ndescription = ''\nhelpers = [{ program = 'xx-x', runs = 'y' }]\n[[command]]\ndescription = 'x'\nprograms = ['x']\nrole = 'compile'",
                "which no command pattern names",
            ),
            (
                "id = 'x'\nname = 'X'\nlanguage = 'X'\ndescription = ''\n[[command]]\ndescription = 'x'\nprograms = ['x']\nrole = 'compile'\n[cross.packages]\narch = ['x']",
                "unknown variant",
            ),
        ];
        for (text, want) in cases {
            let err = Toolchain::from_toml(text).expect_err(text).to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn readme_lists_every_template_variable() {
        let readme = include_str!("../../toolchains/README.md");
        let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `{")).collect();
        let expected: Vec<String> = crate::TEMPLATE_VARIABLES
            .iter()
            .map(|v| format!("| `{{{}}}` | {} |", v.name, v.description))
            .collect();
        assert_eq!(
            rows, expected,
            "toolchains/README.md's variable table is out of date"
        );
    }

    #[test]
    fn role_names_are_the_data_file_names() {
        #[derive(Deserialize)]
        struct One {
            role: Role,
        }
        let roles = [
            Role::Compile,
            Role::Install,
            Role::Fetch,
            Role::Configure,
            Role::RunHost,
            Role::Test,
            Role::Check,
            Role::Generate,
        ];
        for role in roles {
            let parsed: One = toml::from_str(&format!("role = '{}'", role.name()))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.role, role);
        }
    }

    #[test]
    fn roles_and_families() {
        assert_eq!(Role::RunHost.name(), "run-host");
        assert!(Role::Compile.targets_platform());
        assert!(!Role::Fetch.targets_platform());
        assert!(Role::Test.executes_output());
        assert!(!Role::Install.executes_output());
        assert_eq!(
            DistroFamily::from_os_release_id("ubuntu"),
            Some(DistroFamily::Debian)
        );
        assert_eq!(
            DistroFamily::from_os_release_id("rocky"),
            Some(DistroFamily::Rhel)
        );
        assert_eq!(
            DistroFamily::from_os_release_id("alpine"),
            Some(DistroFamily::Alpine)
        );
        assert_eq!(DistroFamily::from_os_release_id("arch"), None);
    }
}
