//! The build plan: for each target platform, the stages the target needs, where each
//! runs, and for each RUN the toolchain found and whether it runs natively, cross-compiles
//! or runs under emulation. This is what `crossdock plan` prints.

use std::fmt::Write as _;

use crossbuild::Platform;
use serde::Serialize;

use crate::analysis::{analyze_run, RunAnalysis, StageMemory, StepKind};
use crate::eval::{evaluate, Base, EvalError, EvalOptions, Evaluation, PlatformSource};
use crate::instructions::{CommandKind, Program};
use crate::syntax::Dockerfile;

/// How a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// On the build machine, for the build machine's platform.
    Native,
    /// On the build machine, producing code for the target platform.
    Cross,
    /// Under QEMU user-mode emulation of the target platform.
    Emulated,
}

impl Mode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Cross => "cross",
            Mode::Emulated => "emulated",
        }
    }
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The Dockerfile.
    pub file: String,
    /// The platform the build runs on.
    pub build_platform: String,
    /// One entry per target platform, in the order requested.
    pub platforms: Vec<PlatformPlan>,
}

/// The plan for one target platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformPlan {
    /// The target platform.
    pub platform: String,
    /// The target stage.
    pub target: String,
    /// The stages the target needs, in file order.
    pub stages: Vec<StagePlan>,
}

/// One needed stage.
#[derive(Debug, Clone, Serialize)]
pub struct StagePlan {
    /// Index in the file.
    pub index: usize,
    /// Name (or `stage-N`).
    pub name: String,
    /// 1-based line of its FROM.
    pub line: usize,
    /// The evaluated base: an image reference, `scratch`, or `stage <name>`.
    pub base: String,
    /// The platform its steps run on.
    pub platform: String,
    /// `build`, `target`, `constant`, `expression` or `inherited`.
    pub platform_source: PlatformSource,
    /// Whether that platform runs natively on the build machine.
    pub native: bool,
    /// Its RUN steps.
    pub steps: Vec<StepPlan>,
}

/// One RUN instruction.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlan {
    /// 1-based line of the RUN.
    pub line: usize,
    /// The RUN text, shortened to one line.
    pub instruction: String,
    /// Toolchain commands found (`go build`, `make`), in order.
    pub toolchain: Vec<String>,
    /// How the step runs.
    pub mode: Mode,
}

/// Builds the plan for every target platform.
pub fn plan(
    df: &Dockerfile,
    program: &Program,
    platforms: &[Platform],
    opts: &EvalOptions,
) -> Result<Plan, EvalError> {
    let mut out = Vec::new();
    for platform in platforms {
        let eval = evaluate(df, program, platform, opts)?;
        out.push(platform_plan(df, program, &eval));
    }
    Ok(Plan {
        file: df.source.path().display().to_string(),
        build_platform: opts.build_platform.to_string(),
        platforms: out,
    })
}

/// The mode of one analysed RUN in a stage running on `stage_platform`.
pub fn run_mode(analysis: &RunAnalysis, stage_platform: &Platform, eval: &Evaluation) -> Mode {
    if !stage_platform.runs_natively_on(&eval.build_platform) {
        return Mode::Emulated;
    }
    let cross = eval.target_platform != *stage_platform
        && analysis
            .toolchain_steps()
            .any(|(_, t)| t.role.targets_platform() && t.cross_aware);
    if cross {
        Mode::Cross
    } else {
        Mode::Native
    }
}

fn platform_plan(df: &Dockerfile, program: &Program, eval: &Evaluation) -> PlatformPlan {
    let mut stages = Vec::new();
    for (stage, ev) in program.stages.iter().zip(&eval.stages) {
        if !eval.needed[stage.index] {
            continue;
        }
        let mut memory = StageMemory::default();
        let mut steps = Vec::new();
        for (cmd, scope) in stage.commands.iter().zip(&ev.scopes) {
            let CommandKind::Run(run) = &cmd.kind else {
                continue;
            };
            let inst = &df.instructions[cmd.instruction];
            let analysis = analyze_run(inst, run, scope, &mut memory);
            let toolchain = analysis
                .steps
                .iter()
                .filter_map(|s| match &s.kind {
                    StepKind::Toolchain(t) => Some(t.summary.clone()),
                    _ => None,
                })
                .collect();
            steps.push(StepPlan {
                line: inst.start_line,
                instruction: one_line(&format!("RUN {}", inst.args_text), 60),
                toolchain,
                mode: run_mode(&analysis, &ev.platform, eval),
            });
        }
        let base = match &ev.base {
            Base::Image(r) => r.clone(),
            Base::Scratch => "scratch".to_string(),
            Base::Stage(i) => format!("stage {}", eval.stages[*i].display_name()),
        };
        stages.push(StagePlan {
            index: stage.index,
            name: ev.display_name(),
            line: df.instructions[stage.from].start_line,
            base,
            platform: ev.platform.to_string(),
            platform_source: ev.platform_source,
            native: ev.platform.runs_natively_on(&eval.build_platform),
            steps,
        });
    }
    PlatformPlan {
        platform: eval.target_platform.to_string(),
        target: eval.stages[eval.target].display_name(),
        stages,
    }
}

/// Collapses whitespace and cuts at `max` characters with an ellipsis.
fn one_line(s: &str, max: usize) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let cut: String = joined.chars().take(max - 1).collect();
    format!("{cut}…")
}

impl Plan {
    /// A human-readable table.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} (build platform {})",
            self.file, self.build_platform
        );
        for p in &self.platforms {
            let _ = writeln!(out, "\n{} → target stage {}", p.platform, p.target);
            for s in &p.stages {
                let source = match s.platform_source {
                    PlatformSource::Build => "build",
                    PlatformSource::Target => "target",
                    PlatformSource::Constant => "constant",
                    PlatformSource::Expression => "expression",
                    PlatformSource::Inherited => "inherited",
                };
                let _ = writeln!(
                    out,
                    "  stage {} (line {}) FROM {} on {} [{}]",
                    s.name, s.line, s.base, s.platform, source
                );
                for st in &s.steps {
                    let tool = if st.toolchain.is_empty() {
                        "-".to_string()
                    } else {
                        st.toolchain.join(", ")
                    };
                    let _ = writeln!(
                        out,
                        "    {:>4}  {:<9} {:<30} {}",
                        st.line,
                        st.mode.as_str(),
                        one_line(&tool, 30),
                        st.instruction
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instructions::parse_program;
    use crate::source::SourceFile;
    use crate::syntax::parse;

    fn modes(text: &str, targets: &[&str]) -> Vec<Vec<(String, Mode)>> {
        let df = parse(SourceFile::new("Dockerfile", text)).expect("parses");
        let program = parse_program(&df).expect("valid");
        let opts = EvalOptions {
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: Default::default(),
            target_stage: None,
        };
        let platforms: Vec<Platform> = targets
            .iter()
            .map(|t| Platform::parse(t).unwrap())
            .collect();
        let plan = plan(&df, &program, &platforms, &opts).unwrap();
        plan.platforms
            .iter()
            .map(|p| {
                p.stages
                    .iter()
                    .flat_map(|s| s.steps.iter().map(|st| (st.toolchain.join(","), st.mode)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn naive_go_build_is_emulated_for_foreign_targets() {
        let text = "FROM golang:1.22 AS build\nRUN go mod download\nRUN CGO_ENABLED=0 go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\n";
        let m = modes(text, &["linux/amd64", "linux/arm64"]);
        assert_eq!(
            m[0],
            [
                ("go mod download".into(), Mode::Native),
                ("go build".into(), Mode::Native)
            ]
        );
        assert_eq!(
            m[1],
            [
                ("go mod download".into(), Mode::Emulated),
                ("go build".into(), Mode::Emulated)
            ]
        );
    }

    #[test]
    fn buildplatform_stage_with_target_env_cross_compiles() {
        let text = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\n";
        let m = modes(text, &["linux/amd64", "linux/arm64"]);
        assert_eq!(m[0], [("go build".into(), Mode::Native)]);
        assert_eq!(m[1], [("go build".into(), Mode::Cross)]);
    }

    #[test]
    fn one_line_cuts() {
        assert_eq!(one_line("RUN a \n   b", 60), "RUN a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }
}
