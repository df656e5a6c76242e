//! CD101–CD104: a stage that runs on the target platform compiles, so for every foreign
//! target platform the compiler runs under QEMU, 5 to 50 times slower than natively.

use crossbuild::Role;

use crate::eval::PlatformSource;
use crate::lint::{Category, Context, Finding, Rule, Severity};

/// Go compiled under emulation.
pub static CD101: Rule = Rule {
    id: "CD101",
    name: "go-compile-under-emulation",
    category: Category::Emulation,
    default_severity: Severity::Warning,
    summary: "Go is compiled under QEMU emulation for a foreign target platform",
    doc: include_str!("../../../../docs/rules/CD101.md"),
    check: check_cd101,
};

/// Rust compiled under emulation.
pub static CD102: Rule = Rule {
    id: "CD102",
    name: "rust-compile-under-emulation",
    category: Category::Emulation,
    default_severity: Severity::Warning,
    summary: "Rust (cargo) is compiled under QEMU emulation for a foreign target platform",
    doc: include_str!("../../../../docs/rules/CD102.md"),
    check: check_cd102,
};

/// C/C++ compiled under emulation.
pub static CD103: Rule = Rule {
    id: "CD103",
    name: "c-compile-under-emulation",
    category: Category::Emulation,
    default_severity: Severity::Warning,
    summary: "C/C++ (make, cmake, configure, cc, meson, ninja) is compiled under QEMU emulation",
    doc: include_str!("../../../../docs/rules/CD103.md"),
    check: check_cd103,
};

/// Native add-ons built under emulation.
pub static CD104: Rule = Rule {
    id: "CD104",
    name: "native-addon-build-under-emulation",
    category: Category::Emulation,
    default_severity: Severity::Info,
    summary: "npm/yarn/pip/gem may build native add-ons under QEMU emulation",
    doc: include_str!("../../../../docs/rules/CD104.md"),
    check: check_cd104,
};

fn check_cd101(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    check(ctx, out, &CD101, &["go"]);
}

fn check_cd102(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    check(ctx, out, &CD102, &["rust"]);
}

fn check_cd103(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    check(ctx, out, &CD103, &["c", "cmake", "autotools", "meson"]);
}

fn check_cd104(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    check(ctx, out, &CD104, &["node", "python", "ruby"]);
}

/// Whether a package is a compiler or a C library's headers: installing one next to
/// `npm ci` or `pip install` says native add-ons are expected to compile.
fn is_build_tool(name: &str) -> bool {
    matches!(
        name,
        "gcc" | "g++" | "clang" | "make" | "cmake" | "build-essential" | "build-base" | "node-gyp"
    ) || name.ends_with("-dev")
        || name.ends_with("-devel")
}

/// For package installers (CD104): only steps that can compile native code, in a stage
/// (or its base stages) that installs build tools. Pure-binary installs
/// (`--only-binary`, `--ignore-scripts`) never compile.
fn native_addons_expected(
    ctx: &Context<'_>,
    p: usize,
    s: usize,
    step: &crate::analysis::Step,
) -> bool {
    if step.words.iter().any(|w| {
        w.starts_with("--only-binary") || w == "--ignore-scripts" || w == "--prefer-binary"
    }) {
        return false;
    }
    let mut stage = Some(s);
    while let Some(i) = stage {
        let installs_tools = ctx.views[p][i].runs.iter().any(|r| {
            r.analysis.steps.iter().any(|st| match &st.kind {
                crate::analysis::StepKind::Packages(pkgs) => {
                    pkgs.packages.iter().any(|pk| is_build_tool(&pk.name))
                }
                _ => false,
            })
        });
        if installs_tools {
            return true;
        }
        stage = match ctx.eval_stage(p, i).base {
            crate::eval::Base::Stage(b) if b < i => Some(b),
            _ => None,
        };
    }
    false
}

/// Roles that run a compiler.
fn compiles(role: Role) -> bool {
    matches!(
        role,
        Role::Compile | Role::Install | Role::Test | Role::RunHost
    )
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>, rule: &'static Rule, toolchains: &[&str]) {
    for stage in &ctx.program.stages {
        let s = stage.index;
        let emulated = ctx.emulated_platforms(s);
        let Some(&p) = emulated.first() else {
            continue;
        };
        let ev = ctx.eval_stage(p, s);
        let uses_target_args = ev
            .scopes
            .last()
            .is_some_and(|sc| sc.args.keys().any(|k| k.starts_with("TARGET")));
        for run in &ctx.views[p][s].runs {
            let Some((step, tool)) = run.analysis.toolchain_steps().find(|(st, t)| {
                compiles(t.role)
                    && toolchains.contains(&t.toolchain.as_str())
                    && (rule.id != CD104.id || native_addons_expected(ctx, p, s, st))
            }) else {
                continue;
            };
            let platforms = ctx.platform_names(&emulated);
            let mut message = format!(
                "`{}` in stage {} runs under QEMU emulation for {platforms}",
                tool.summary,
                ev.display_name()
            );
            if uses_target_args && ev.platform_source == PlatformSource::Target {
                message.push_str(
                    "; the stage already uses TARGET* args but has no --platform=$BUILDPLATFORM, so it still runs emulated",
                );
            }
            let help = match ctx.rewrite_blocker(s) {
                None => "run `crossdock rewrite` to build this stage on $BUILDPLATFORM and cross-compile".to_string(),
                Some(why) => format!("`crossdock rewrite` cannot fix this automatically: {why}"),
            };
            out.push(
                Finding::new(rule, step.span.clone(), message)
                    .stage(ev.display_name())
                    .help(help),
            );
        }
    }
}
