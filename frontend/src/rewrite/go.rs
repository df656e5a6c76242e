//! Go: `go build` and `go install` get the target's GOOS/GOARCH/GOARM from the
//! platform ARGs by expansion alone; cgo gets the C cross compiler of `c.toml`.
//!
//! `go install` cross-compiled refuses to run when GOBIN is set and otherwise writes
//! to `$GOPATH/bin/<os>_<arch>/`, so later `COPY --from=… /go/bin/app` lines would
//! miss. It is rewritten to `go build -o "${GOBIN:-$(go env GOPATH)/bin}/"`, which
//! writes the same binaries (named after their packages) to where the native
//! `go install` put them, whatever GOBIN is. `go install pkg@version` installs a tool
//! for the build machine and is left alone; so are `go run`, `go generate` and
//! `go test`, which build for and run on the build machine.

use crossbuild::Role;

use super::{Decline, Distro, Job, StagePlan, StepRef};

/// The environment prefix that makes a go command build for the target.
const TARGET_ENV: &str = "GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} ";
/// Where `go install` writes natively.
const INSTALL_DIR: &str = "build -o \"${GOBIN:-$(go env GOPATH)/bin}/\"";

pub(crate) fn plan(
    job: &Job<'_, '_>,
    r: &StepRef<'_>,
    plan: &mut StagePlan,
) -> Result<(), Decline> {
    if !matches!(r.tool.role, Role::Compile | Role::Install) {
        return Ok(());
    }
    let words = &r.step.words;
    // The subcommand's position (after `go` and its -C option).
    let mut i = 1;
    while i < words.len() && words[i].starts_with('-') {
        i += if words[i] == "-C" { 2 } else { 1 };
    }
    if r.tool.role == Role::Install
        && words
            .iter()
            .skip(i + 1)
            .any(|w| !w.starts_with('-') && w.contains('@'))
    {
        // `go install tool@version`: a tool for the build machine.
        plan.tools += 1;
        return Ok(());
    }
    if !job.editable(r.step) || i >= words.len() {
        return Err(job.decline(
            format!(
                "the `{}` command is in a form crossdock cannot edit exactly (exec form or a quoted script)",
                r.tool.summary
            ),
            r.step.span.clone(),
        ));
    }
    let cgo = job.var(r, "CGO_ENABLED").is_some_and(|v| v.trim() == "1");
    if cgo {
        if !job.insertable(r.step) {
            return Err(job.not_insertable(r));
        }
        if job.distro != Distro::Debian {
            return Err(job.decline(
                "cgo is enabled and the image is not Debian-based: crossdock installs C cross compilers only from Debian's packages (on Alpine it would need clang, lld and a target sysroot); use a Debian-based Go image or CGO_ENABLED=0",
                r.step.span.clone(),
            ));
        }
        let c = crossbuild::toolchain("c").expect("c.toml is built in");
        plan.prelude(r.instruction, r.step.span.start)
            .add_exports(c.cross_env_templates());
        plan.setup.add_toolchain(c);
        super::c::add_dev_packages(job, plan);
        plan.needs_setup(r.command);
    }
    plan.args
        .extend(["TARGETOS", "TARGETARCH", "TARGETVARIANT"]);
    let program = &r.step.word_spans[0];
    plan.insert(program.start, TARGET_ENV);
    if r.tool.role == Role::Install {
        let sub = &r.step.word_spans[i];
        plan.edits.push(super::Edit {
            span: sub.clone(),
            text: INSTALL_DIR.to_string(),
        });
    }
    Ok(())
}
