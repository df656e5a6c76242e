//! C and C++: make, Autotools, CMake and Meson, with Debian's GCC cross compilers.
//!
//! What each step gets comes from the toolchain files, written as shell with the
//! per-platform values set by the RUN's `case "$TARGETPLATFORM"` prelude:
//! - `make`: `CC=… CXX=… AR=…` (the `[cross] env` of `c.toml`) on its command line,
//!   which overrides assignments in the Makefile; only the variables the Makefile in
//!   the build context uses, all three without one. A `make` after a configure step
//!   is left alone: the configure step chose the compilers.
//! - `gcc`/`cc`/`g++`/`c++`: replaced by the cross compiler (`cross_program`);
//!   `clang` gets `--target=` (`cross_args`).
//! - `./configure`: `--host=<gnu triple>` (`autotools.toml`).
//! - `cmake` configure: `-DCMAKE_SYSTEM_NAME`, `-DCMAKE_SYSTEM_PROCESSOR` and the
//!   compilers (`cmake.toml`); `cmake --build`/`--install` follow it.
//! - `meson setup`: `--cross-file`, the file written with `printf` from the template
//!   of `meson.toml` in the same RUN; `ninja`/`meson compile` follow it.
//!
//! The set-up RUN installs `[cross.packages]` (the cross GCC, binutils and the
//! target's libc), and the library `-dev` packages the stage installs again for the
//! target (`libssl-dev:arm64`). Alpine has no GCC cross packages; a clang + lld
//! build against a target sysroot is not generated, so Alpine stages are declined.

use crossbuild::Role;

use super::shell;
use super::{Decline, Distro, Edit, Job, StagePlan, StepRef};

/// Library packages the stage installs for the build machine that the target build
/// needs too: `lib*-dev`, but not the C library and compiler runtime, which the
/// cross packages bring.
fn library_dev(name: &str) -> bool {
    name.starts_with("lib")
        && name.ends_with("-dev")
        && !matches!(name, "libc6-dev" | "libc-dev")
        && !name.starts_with("libstdc++")
        && !name.starts_with("libgcc")
        && !name.starts_with("libstd-rust")
}

/// Records the library `-dev` packages the stage installs, to install them for the
/// target too.
pub(crate) fn add_dev_packages(job: &Job<'_, '_>, plan: &mut StagePlan) {
    for p in &job.installed {
        if p.arch.is_none() && library_dev(&p.name) && !plan.setup.dev_packages.contains(&p.name) {
            plan.setup.dev_packages.push(p.name.clone());
        }
    }
}

/// Whether the Makefile text uses variable `name` (`$(CC)` or `${CC}`).
fn makefile_uses(makefile: &str, name: &str) -> bool {
    makefile.contains(&format!("$({name})")) || makefile.contains(&format!("${{{name}}}"))
}

pub(crate) fn plan(
    job: &Job<'_, '_>,
    r: &StepRef<'_>,
    steps: &[StepRef<'_>],
    plan: &mut StagePlan,
) -> Result<(), Decline> {
    if !matches!(
        r.tool.role,
        Role::Compile | Role::Install | Role::Configure | Role::Test
    ) {
        return Ok(());
    }
    let words = &r.step.words;
    let program = words
        .first()
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
        .unwrap_or_default();
    let is_make = matches!(program.as_str(), "make" | "gmake");
    // Tests other than `make check` (ctest, meson test) need nothing: they use
    // what the configure step set up.
    if r.tool.role == Role::Test && !is_make {
        return Ok(());
    }
    match job.distro {
        Distro::Debian => {}
        Distro::Alpine => {
            return Err(job.decline(
                format!(
                    "`{}` on Alpine: Alpine has no GCC cross compilers, and a clang + lld build against a target sysroot is not generated; use a Debian-based image",
                    r.tool.summary
                ),
                r.step.span.clone(),
            ))
        }
        Distro::Unknown => {
            return Err(job.decline(
                format!(
                    "`{}`: crossdock cannot tell the image's distribution, so it does not know how to install a C cross compiler; use a Debian-based image",
                    r.tool.summary
                ),
                r.step.span.clone(),
            ))
        }
    }
    if !job.editable(r.step) {
        return Err(job.decline(
            format!(
                "the `{}` command is in a form crossdock cannot edit exactly (exec form or a quoted script)",
                r.tool.summary
            ),
            r.step.span.clone(),
        ));
    }
    if !job.insertable(r.step) {
        return Err(job.not_insertable(r));
    }
    let tc = crossbuild::toolchain(&r.tool.toolchain).expect("a built-in toolchain");
    plan.setup.add_toolchain(tc);
    plan.needs_setup(r.command);
    for p in &job.installed {
        if p.arch.is_none() && library_dev(&p.name) && !plan.setup.dev_packages.contains(&p.name) {
            plan.setup.dev_packages.push(p.name.clone());
        }
    }
    let configured = steps.iter().any(|o| {
        matches!(o.tool.toolchain.as_str(), "cmake" | "autotools" | "meson")
            && o.tool.role == Role::Configure
            && (o.command, o.step.span.start) < (r.command, r.step.span.start)
    });
    let mut used = std::collections::BTreeSet::new();
    let sub_pattern =
        crossbuild::classify_command(&words.iter().map(String::as_str).collect::<Vec<_>>());
    let program_span = r.step.word_spans[0].clone();
    let err = |e: crossbuild::TemplateError| {
        job.decline(format!("internal error: {e}"), r.step.span.clone())
    };
    match (r.tool.toolchain.as_str(), is_make) {
        ("c", true) => {
            if configured {
                return Ok(());
            }
            let c = crossbuild::toolchain("c").expect("c.toml is built in");
            let mut args = Vec::new();
            for (name, value) in c.cross_env_templates() {
                let wanted = match &job.opts.makefile {
                    Some(m) => {
                        let any = c
                            .cross_env_templates()
                            .iter()
                            .any(|(n, _)| makefile_uses(m, n));
                        !any || makefile_uses(m, name)
                    }
                    None => true,
                };
                if wanted {
                    args.push(format!(
                        "{name}={}",
                        shell::word(value, &mut used).map_err(err)?
                    ));
                }
            }
            plan.insert(program_span.end, format!(" {}", args.join(" ")));
        }
        ("c", false) => {
            let Some(m) = sub_pattern else { return Ok(()) };
            if let Some(prog) = m.pattern.cross_program_template() {
                plan.edits.push(Edit {
                    span: program_span,
                    text: shell::word(prog, &mut used).map_err(err)?,
                });
            } else {
                insert_args(
                    plan,
                    program_span.end,
                    m.pattern.cross_arg_templates(),
                    &mut used,
                )
                .map_err(err)?;
            }
        }
        ("autotools" | "cmake", _) => {
            if r.tool.role != Role::Configure {
                return Ok(());
            }
            let Some(m) = sub_pattern else { return Ok(()) };
            insert_args(
                plan,
                program_span.end,
                m.pattern.cross_arg_templates(),
                &mut used,
            )
            .map_err(err)?;
        }
        ("meson", _) => {
            if r.tool.role != Role::Configure {
                return Ok(());
            }
            let Some(m) = sub_pattern else { return Ok(()) };
            let at = if words.get(1).is_some_and(|w| w == "setup") {
                r.step.word_spans[1].end
            } else {
                program_span.end
            };
            insert_args(plan, at, m.pattern.cross_arg_templates(), &mut used).map_err(err)?;
            for (path, content) in tc.cross_file_templates() {
                let command = write_file(path, content, &mut used).map_err(err)?;
                plan.after_prelude(r.instruction, r.step.span.start, command);
            }
        }
        _ => return Ok(()),
    }
    plan.prelude(r.instruction, r.step.span.start)
        .vars
        .extend(used);
    Ok(())
}

/// Inserts rendered argument templates at `at`.
fn insert_args(
    plan: &mut StagePlan,
    at: usize,
    templates: &[String],
    used: &mut std::collections::BTreeSet<String>,
) -> Result<(), crossbuild::TemplateError> {
    let mut words = Vec::new();
    for t in templates {
        words.push(shell::word(t, used)?);
    }
    if !words.is_empty() {
        plan.insert(at, format!(" {}", words.join(" ")));
    }
    Ok(())
}

/// A command that writes a file from a template: `mkdir -p` its directory, then one
/// `printf` argument per line.
fn write_file(
    path: &str,
    content: &str,
    used: &mut std::collections::BTreeSet<String>,
) -> Result<String, crossbuild::TemplateError> {
    let dir = path.rsplit_once('/').map_or(".", |(d, _)| d);
    let mut lines = Vec::new();
    for line in content.trim_start_matches('\n').lines() {
        let w = shell::word(line, used)?;
        lines.push(if line.is_empty() { "''".to_string() } else { w });
    }
    Ok(format!(
        "mkdir -p {} && printf '%s\\n' {} > {}",
        shell::word(dir, used)?,
        lines.join(" "),
        shell::word(path, used)?
    ))
}
