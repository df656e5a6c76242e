//! What every rule looks at: the file, its program, and for each target platform the
//! evaluation and the analysis of every RUN, computed once.

use crossbuild::Platform;

use crate::analysis::{analyze_run, RunAnalysis, StageMemory};
use crate::eval::{evaluate, EvalError, EvalOptions, EvalStage, Evaluation, PlatformSource};
use crate::instructions::{CommandKind, Program, Stage};
use crate::syntax::{Dockerfile, Instruction};

/// One RUN of a stage, analysed for one target platform.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Index of the command in [`Stage::commands`].
    pub command: usize,
    /// Index of the instruction in [`Dockerfile::instructions`].
    pub instruction: usize,
    /// What it runs.
    pub analysis: RunAnalysis,
}

/// A stage as seen for one target platform.
#[derive(Debug, Clone)]
pub struct StageView {
    /// Its RUNs, in order.
    pub runs: Vec<RunInfo>,
}

/// Everything a rule needs, computed once per file.
#[derive(Debug)]
pub struct Context<'a> {
    /// The parsed file.
    pub df: &'a Dockerfile,
    /// Its stages and commands.
    pub program: &'a Program,
    /// The platforms linted for.
    pub platforms: Vec<Platform>,
    /// The build machine's platform.
    pub build_platform: Platform,
    /// One evaluation per platform (same order as `platforms`).
    pub evals: Vec<Evaluation>,
    /// `views[p][s]`: stage `s` for platform `p`.
    pub views: Vec<Vec<StageView>>,
}

impl<'a> Context<'a> {
    /// Evaluates and analyses `program` for every platform.
    pub fn new(
        df: &'a Dockerfile,
        program: &'a Program,
        platforms: &[Platform],
        opts: &EvalOptions,
    ) -> Result<Self, EvalError> {
        let mut evals = Vec::with_capacity(platforms.len());
        let mut views = Vec::with_capacity(platforms.len());
        for platform in platforms {
            let eval = evaluate(df, program, platform, opts)?;
            let mut stage_views = Vec::with_capacity(program.stages.len());
            for (stage, ev) in program.stages.iter().zip(&eval.stages) {
                let mut memory = StageMemory::default();
                let mut runs = Vec::new();
                for (i, (cmd, scope)) in stage.commands.iter().zip(&ev.scopes).enumerate() {
                    if let CommandKind::Run(run) = &cmd.kind {
                        let inst = &df.instructions[cmd.instruction];
                        runs.push(RunInfo {
                            command: i,
                            instruction: cmd.instruction,
                            analysis: analyze_run(inst, run, scope, &mut memory),
                        });
                    }
                }
                stage_views.push(StageView { runs });
            }
            evals.push(eval);
            views.push(stage_views);
        }
        Ok(Context {
            df,
            program,
            platforms: platforms.to_vec(),
            build_platform: opts.build_platform.clone(),
            evals,
            views,
        })
    }

    /// The instruction at `index`.
    pub fn instruction(&self, index: usize) -> &Instruction {
        &self.df.instructions[index]
    }

    /// The FROM instruction of a stage.
    pub fn from_instruction(&self, stage: &Stage) -> &Instruction {
        &self.df.instructions[stage.from]
    }

    /// Stage `s` evaluated for platform `p`.
    pub fn eval_stage(&self, p: usize, s: usize) -> &EvalStage {
        &self.evals[p].stages[s]
    }

    /// Whether platform `p`'s target needs stage `s`.
    pub fn needed(&self, p: usize, s: usize) -> bool {
        self.evals[p].needed[s]
    }

    /// The platforms (indexes) for which stage `s` is needed and runs under emulation.
    pub fn emulated_platforms(&self, s: usize) -> Vec<usize> {
        (0..self.platforms.len())
            .filter(|&p| {
                self.needed(p, s)
                    && !self
                        .eval_stage(p, s)
                        .platform
                        .runs_natively_on(&self.build_platform)
            })
            .collect()
    }

    /// The platforms (indexes) for which stage `s` is needed.
    pub fn needed_platforms(&self, s: usize) -> Vec<usize> {
        (0..self.platforms.len())
            .filter(|&p| self.needed(p, s))
            .collect()
    }

    /// Platform names, comma-separated (`linux/arm64, linux/arm/v7`).
    pub fn platform_names(&self, ps: &[usize]) -> String {
        ps.iter()
            .map(|&p| self.platforms[p].to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether stage `s` runs on the build platform (or a fixed platform) rather than
    /// the target: its platform comes from BUILD* args or a constant, directly or
    /// through `FROM <stage>`.
    pub fn runs_off_target(&self, s: usize) -> bool {
        let mut i = s;
        loop {
            let ev = &self.evals.first().map(|e| &e.stages[i]);
            let Some(ev) = ev else { return false };
            match ev.platform_source {
                PlatformSource::Build | PlatformSource::Constant => return true,
                PlatformSource::Target => return false,
                PlatformSource::Expression => return false,
                PlatformSource::Inherited => match ev.base {
                    crate::eval::Base::Stage(b) if b < i => i = b,
                    _ => return false,
                },
            }
        }
    }

    /// The stages that read from stage `s` (by FROM, `COPY --from` or a mount),
    /// for platform `p`.
    pub fn consumers(&self, p: usize, s: usize) -> Vec<usize> {
        self.evals[p]
            .stages
            .iter()
            .filter(|st| st.deps.contains(&s))
            .map(|st| st.index)
            .collect()
    }

    /// Whether what stage `s` produces reaches, through any chain of consumers, a stage
    /// that runs on the target platform and is needed for platform `p` (so its
    /// binaries end up in the target image).
    pub fn reaches_target_stage(&self, p: usize, s: usize) -> bool {
        let mut seen = vec![false; self.program.stages.len()];
        let mut todo = self.consumers(p, s);
        while let Some(c) = todo.pop() {
            if std::mem::replace(&mut seen[c], true) {
                continue;
            }
            if self.needed(p, c) && !self.runs_off_target(c) {
                return true;
            }
            todo.extend(self.consumers(p, c));
        }
        false
    }
    /// Why `crossdock rewrite` cannot move stage `s` to the build platform, if it
    /// cannot: the compile happens in the final image stage, the stage runs what it
    /// built, or the stage builds FROM another stage (which is where the platform is).
    pub fn rewrite_blocker(&self, s: usize) -> Option<String> {
        let p = self.emulated_platforms(s).first().copied()?;
        if self.evals[p].target == s {
            return Some(
                "the compile happens in the final image stage; split it into a build stage and COPY its output"
                    .to_string(),
            );
        }
        let view = &self.views[p][s];
        // Running tests or a program the stage built works under emulation, but not
        // once the stage cross-compiles (`go run`, which builds for the build machine,
        // stays fine).
        if view.runs.iter().any(|r| {
            r.analysis.steps.iter().any(|st| match &st.kind {
                crate::analysis::StepKind::RunsBuiltBinary { .. } => true,
                crate::analysis::StepKind::Toolchain(t) => t.role == crossbuild::Role::Test,
                _ => false,
            })
        }) {
            return Some(
                "the stage runs a program it built, which would then be for the wrong architecture"
                    .into(),
            );
        }
        if let crate::eval::Base::Stage(b) = self.eval_stage(p, s).base {
            let base = self.program.stages[b]
                .name
                .clone()
                .unwrap_or_else(|| b.to_string());
            return Some(format!(
                "it builds FROM stage {base}, where the platform is set; move --platform=$BUILDPLATFORM there"
            ));
        }
        None
    }
}
