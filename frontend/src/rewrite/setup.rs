//! The set-up `RUN` a rewritten stage gets before its first cross build: the
//! Debian cross compilers and target libraries its toolchains need
//! (`[cross.packages]` of the toolchain files), the target's Rust standard library,
//! and `dpkg --add-architecture` for `:<arch>` packages.
//!
//! It is a new `RUN` rather than an edit of the stage's own `apt-get install`: the
//! stage's list stays as the user wrote it, and the new one runs after whatever
//! installed the compiler (`rustc` from apt, say). When the target is the build
//! machine's own architecture Debian has no cross package (`gcc-x86-64-linux-gnu`
//! does not exist on amd64), so the native packages of the toolchain file are
//! installed instead; they provide the same `<gnu triple>-gcc` names.

use crossbuild::{DistroFamily, Toolchain};

use super::shell::{self, CaseBlock};
use super::{Job, RustStd};

/// The shell variable with the packages to install.
const PACKAGES: &str = "crossdock_packages";

/// What the set-up installs.
#[derive(Default)]
pub(crate) struct Setup {
    toolchains: Vec<&'static Toolchain>,
    /// The Rust standard library for the target, if Rust is built.
    pub rust: Option<RustStd>,
    /// Library `-dev` packages the stage installs for the build machine, to install
    /// for the target too (multiarch).
    pub dev_packages: Vec<String>,
}

impl Setup {
    /// Adds a toolchain whose Debian cross packages are needed.
    pub fn add_toolchain(&mut self, t: &'static Toolchain) {
        if !self.toolchains.iter().any(|u| u.id() == t.id()) {
            self.toolchains.push(t);
        }
    }

    /// The set-up RUN instruction (without a trailing newline).
    pub fn render(
        &self,
        job: &Job<'_, '_>,
        keyword: &str,
        newline: &str,
    ) -> Result<String, crossbuild::TemplateError> {
        let sep = format!(" {}{newline}    ", job.ctx.df.escape);
        let mut block = CaseBlock::default();
        block.vars.insert("debian_arch".into());
        let mut native: Vec<String> = Vec::new();
        for t in &self.toolchains {
            block.add_list(
                PACKAGES,
                t.cross_packages_templates(DistroFamily::Debian)
                    .iter()
                    .cloned(),
            );
            for n in t.native_packages(DistroFamily::Debian) {
                if !native.contains(n) {
                    native.push(n.clone());
                }
            }
        }
        let mut lines = vec![format!("{keyword} {}", block_text(&block, job, &sep)?)];
        let native_arch = "[ \"$crossdock_debian_arch\" = \"$(dpkg --print-architecture)\" ]";
        let multiarch = !self.dev_packages.is_empty();
        let mut native_cmd = format!("if {native_arch}; then {PACKAGES}={}", quote_list(&native));
        if multiarch {
            native_cmd.push_str("; else dpkg --add-architecture \"$crossdock_debian_arch\"");
        }
        native_cmd.push_str("; fi");
        lines.push(native_cmd);
        if multiarch {
            let extra: Vec<String> = self
                .dev_packages
                .iter()
                .map(|p| format!("{p}:$crossdock_debian_arch"))
                .collect();
            lines.push(format!("{PACKAGES}=\"${PACKAGES} {}\"", extra.join(" ")));
        }
        if let Some(std) = self.rust {
            lines.push(rust_std(std, &mut block)?);
        }
        lines.push("apt-get update".into());
        lines.push(format!(
            "apt-get install -y --no-install-recommends ${PACKAGES}"
        ));
        lines.push("rm -rf /var/lib/apt/lists/*".into());
        // The case block may have grown (the Rust triple).
        lines[0] = format!("{keyword} {}", block_text(&block, job, &sep)?);
        Ok(lines.join(&format!("{sep}&& ")))
    }
}

fn block_text(
    block: &CaseBlock,
    job: &Job<'_, '_>,
    sep: &str,
) -> Result<String, crossbuild::TemplateError> {
    block.render(&job.targets, sep)
}

fn quote_list(items: &[String]) -> String {
    let joined = items.join(" ");
    if items.len() == 1 {
        shell::quote(&joined)
    } else {
        format!("\"{joined}\"")
    }
}

/// The commands that install the target's Rust standard library.
fn rust_std(std: RustStd, block: &mut CaseBlock) -> Result<String, crossbuild::TemplateError> {
    let rust = crossbuild::toolchain("rust").expect("rust.toml is built in");
    let mut used = std::collections::BTreeSet::new();
    let mut rustup = Vec::new();
    for t in rust.cross_packages_templates(DistroFamily::Rustup) {
        rustup.push(shell::word(t, &mut used)?);
    }
    let debian_list = |templates: Vec<String>,
                       used: &mut std::collections::BTreeSet<String>|
     -> Result<String, crossbuild::TemplateError> {
        let mut words = Vec::new();
        for t in templates {
            let w = shell::word(&t, used)?;
            words.push(w.trim_matches('"').to_string());
        }
        Ok(format!("{PACKAGES}=\"${PACKAGES} {}\"", words.join(" ")))
    };
    let default = debian_list(
        rust.distro_toolchain_templates(DistroFamily::Debian)
            .to_vec(),
        &mut used,
    )?;
    let alternative = rust
        .distro_toolchain_alternatives()
        .iter()
        .find(|a| a.family() == DistroFamily::Debian);
    let debian = |web: bool, used: &mut std::collections::BTreeSet<String>| match (web, alternative)
    {
        (true, Some(a)) => debian_list(a.package_templates().to_vec(), used),
        _ => Ok(default.clone()),
    };
    let cross = "[ \"$crossdock_debian_arch\" != \"$(dpkg --print-architecture)\" ]";
    let text = match std {
        RustStd::Debian { web } => {
            let list = debian(web, &mut used)?;
            format!(
                "if {cross}; then dpkg --add-architecture \"$crossdock_debian_arch\" && {list}; fi"
            )
        }
        RustStd::Detect => {
            let plain = debian(false, &mut used)?;
            let detect = match alternative {
                Some(a) => format!(
                    "if dpkg -s {} >/dev/null 2>&1; then {}; else {plain}; fi",
                    a.installed(),
                    debian(true, &mut used)?
                ),
                None => plain,
            };
            format!(
                "if command -v rustup >/dev/null 2>&1; then rustup target add {}; elif {cross}; then dpkg --add-architecture \"$crossdock_debian_arch\" && {detect}; fi",
                rustup.join(" ")
            )
        }
    };
    block.vars.extend(used);
    Ok(text)
}
