//! Rust: `cargo build`, `cargo install --path`, `cargo chef cook` (and `cargo
//! auditable build`) get `--target` with the target's rustc triple; the RUN exports
//! the cross linker and C compilers of `rust.toml` (`CARGO_TARGET_<TRIPLE>_LINKER`,
//! `CC_<triple>`, …); the set-up RUN installs the target's standard library and the
//! cross GCC. A cross `cargo build` writes to `target/<triple>/<profile>/`, so the
//! binaries are copied back to `target/<profile>/`, where later `COPY` lines look.
//!
//! The binary names come from the Cargo manifest in the build context
//! ([`cargo_binaries`]); without one every executable file of the output directory
//! is copied.

use crossbuild::Role;

use super::shell;
use super::{Decline, Distro, Job, RustStd, StagePlan, StepRef};

/// The binaries a package's `cargo build` makes, from its `Cargo.toml`: the
/// `[[bin]]` targets, `src/main.rs` as the package's name (unless `autobins` is
/// off), and `src/bin/*.rs` from `bin_files` (paths relative to the manifest's
/// directory). `None` for a manifest without a package (a virtual workspace) or one
/// that does not parse.
///
/// The manifest is read as TOML rather than through `cargo metadata`: that needs
/// cargo on the machine running crossdock and resolves the dependency graph (a
/// lock file, maybe the network), while only the target names are needed here.
pub fn cargo_binaries(manifest: &str, bin_files: &[String]) -> Option<Vec<String>> {
    let doc: toml::Table = toml::from_str(manifest).ok()?;
    let package = doc.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?.to_string();
    let autobins = package
        .get("autobins")
        .and_then(toml::Value::as_bool)
        .unwrap_or(true);
    let mut bins = Vec::new();
    if let Some(list) = doc.get("bin").and_then(toml::Value::as_array) {
        for b in list {
            if let Some(n) = b.get("name").and_then(toml::Value::as_str) {
                bins.push(n.to_string());
            }
        }
    }
    if autobins {
        for f in bin_files {
            let implied = if f == "src/main.rs" {
                Some(name.clone())
            } else {
                f.strip_prefix("src/bin/")
                    .and_then(|r| r.strip_suffix(".rs"))
                    .filter(|r| !r.contains('/'))
                    .map(str::to_string)
            };
            if let Some(n) = implied {
                if !bins.contains(&n) {
                    bins.push(n);
                }
            }
        }
    }
    Some(bins)
}

/// The index of the last word of cargo's subcommand (`build`, `chef cook`).
fn subcommand_end(words: &[String]) -> Option<usize> {
    let mut i = 1;
    while i < words.len() && words[i].starts_with('-') {
        i += if ["--config", "-Z", "-C", "--color"].contains(&words[i].as_str()) {
            2
        } else {
            1
        };
    }
    let first = words.get(i)?;
    if first == "chef" || first == "auditable" {
        words.get(i + 1)?;
        return Some(i + 1);
    }
    Some(i)
}

/// The value of option `name` (`--profile x` or `--profile=x`).
fn option<'w>(words: &'w [String], name: &str) -> Option<&'w str> {
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if w == name {
            return it.next().map(String::as_str);
        }
        if let Some(v) = w.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

pub(crate) fn plan(
    job: &Job<'_, '_>,
    r: &StepRef<'_>,
    plan: &mut StagePlan,
) -> Result<(), Decline> {
    if !matches!(r.tool.role, Role::Compile | Role::Install) {
        return Ok(());
    }
    let words = &r.step.words;
    if r.tool.role == Role::Install && option(words, "--path").is_none() {
        // `cargo install cargo-chef`: a tool for the build machine.
        plan.tools += 1;
        return Ok(());
    }
    if words.first().is_some_and(|w| w.ends_with("rustc")) {
        return Err(job.decline(
            "rustc is run directly; crossdock rewrites cargo commands only",
            r.step.span.clone(),
        ));
    }
    match job.distro {
        Distro::Debian => {}
        Distro::Alpine => {
            return Err(job.decline(
                "Rust on Alpine would need clang, lld and a musl sysroot for the target, which crossdock does not set up; use a Debian-based Rust image (rust:<version>) or cross-compile by hand",
                r.step.span.clone(),
            ))
        }
        Distro::Unknown => {
            return Err(job.decline(
                "crossdock cannot tell the image's distribution, so it does not know how to install the cross linker; use a Debian-based image",
                r.step.span.clone(),
            ))
        }
    }
    let Some(sub) = subcommand_end(words).filter(|_| job.editable(r.step)) else {
        return Err(job.decline(
            format!(
                "the `{}` command is in a form crossdock cannot edit exactly (exec form or a quoted script)",
                r.tool.summary
            ),
            r.step.span.clone(),
        ));
    };
    if !job.insertable(r.step) {
        return Err(job.not_insertable(r));
    }
    let rust = crossbuild::toolchain("rust").expect("rust.toml is built in");
    let block = plan.prelude(r.instruction, r.step.span.start);
    block.vars.insert("rust_triple".into());
    block.add_exports(rust.cross_env_templates());
    plan.setup.add_toolchain(rust);
    plan.setup.rust = Some(rust_std(job));
    // `openssl-sys` and friends link the target's libraries.
    super::c::add_dev_packages(job, plan);
    plan.needs_setup(r.command);
    plan.insert(
        r.step.word_spans[sub].end,
        format!(" --target \"${{{}}}\"", shell::var_name("rust_triple")),
    );
    let chef = words.iter().any(|w| w == "chef");
    if r.tool.role != Role::Compile || chef {
        // `cargo install` puts the binaries in its bin directory whatever the target;
        // `chef cook` builds only dependencies.
        return Ok(());
    }
    let profile = match option(words, "--profile") {
        Some("dev") => "debug".to_string(),
        Some(p) => p.to_string(),
        None if words.iter().any(|w| w == "--release" || w == "-r") => "release".into(),
        None => "debug".into(),
    };
    let dir = option(words, "--target-dir").unwrap_or("target");
    let from = format!(
        "{dir}/\"${{{}}}\"/{profile}",
        shell::var_name("rust_triple")
    );
    let to = format!("{dir}/{profile}");
    let named: Vec<String> = words
        .windows(2)
        .filter(|w| w[0] == "--bin")
        .map(|w| w[1].clone())
        .collect();
    let bins = if !named.is_empty() {
        Some(named)
    } else if option(words, "--manifest-path").is_some()
        || option(words, "-p").is_some()
        || option(words, "--package").is_some()
    {
        None
    } else {
        job.opts.cargo_bins.clone().filter(|b| !b.is_empty())
    };
    let copy = match bins {
        Some(bins) => {
            let sources: Vec<String> = bins
                .iter()
                .map(|b| format!("{from}/{}", shell::quote(b)))
                .collect();
            format!(" && mkdir -p {to} && cp {} {to}/", sources.join(" "))
        }
        None => format!(
            " && mkdir -p {to} && for f in {from}/*; do if [ -f \"$f\" ] && [ -x \"$f\" ]; then cp \"$f\" {to}/; fi; done"
        ),
    };
    plan.insert(r.step.span.end, copy);
    Ok(())
}

/// Where the stage's rustc comes from.
fn rust_std(job: &Job<'_, '_>) -> RustStd {
    let names: Vec<&str> = job.installed.iter().map(|p| p.name.as_str()).collect();
    if names.contains(&"rustc-web") || names.contains(&"cargo-web") {
        RustStd::Debian { web: true }
    } else if names.contains(&"rustc") || names.contains(&"cargo") {
        RustStd::Debian { web: false }
    } else {
        RustStd::Detect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_from_the_manifest() {
        let files = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = "[package]\nname = \"ember\"\n[[bin]]\nname = \"ember\"\npath = \"src/main.rs\"\n";
        assert_eq!(
            cargo_binaries(m, &files(&["src/main.rs"])),
            Some(vec!["ember".to_string()])
        );
        let m = "[package]\nname = \"app\"\n";
        assert_eq!(
            cargo_binaries(m, &files(&["src/main.rs", "src/bin/tool.rs", "src/lib.rs"])),
            Some(vec!["app".to_string(), "tool".to_string()])
        );
        let m = "[package]\nname = \"lib\"\nautobins = false\n";
        assert_eq!(cargo_binaries(m, &files(&["src/main.rs"])), Some(vec![]));
        assert_eq!(cargo_binaries("[workspace]\nmembers = []\n", &[]), None);
        assert_eq!(cargo_binaries("not toml [", &[]), None);
    }
}
