//! Robustness: the whole pipeline (parse → instructions → eval → plan) must return a
//! result or a located error, never panic, on damaged versions of every corpus file:
//! each prefix cut at a line boundary and copies with single characters removed.

use std::path::Path;

use crossbuild::Platform;
use frontend::eval::EvalOptions;
use frontend::source::SourceFile;

fn pipeline(text: &str) -> usize {
    let Ok(df) = frontend::syntax::parse(SourceFile::new("Dockerfile", text)) else {
        return 0;
    };
    let Ok(program) = frontend::instructions::parse_program(&df) else {
        return 1;
    };
    let opts = EvalOptions {
        build_platform: Platform::parse("linux/amd64").expect("valid"),
        build_args: [("GO_VERSION".to_string(), "1.22".to_string())].into(),
        target_stage: None,
    };
    let platforms: Vec<Platform> = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
        .iter()
        .map(|p| Platform::parse(p).expect("valid"))
        .collect();
    match frontend::plan::plan(&df, &program, &platforms, &opts) {
        Ok(plan) => {
            // Every stage the plan lists exists in the program.
            for p in &plan.platforms {
                for s in &p.stages {
                    assert!(s.index < program.stages.len());
                }
            }
            3
        }
        Err(e) => {
            assert!(e.span.end <= text.len(), "error span inside the file");
            2
        }
    }
}

#[test]
fn damaged_files_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/cases");
    let mut files = 0;
    let mut planned = 0;
    for entry in std::fs::read_dir(&root).expect("corpus") {
        let path = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        files += 1;
        if std::env::var_os("NO_PANIC_TRACE").is_some() {
            eprintln!("{}", path.display());
        }
        if pipeline(&text) == 3 {
            planned += 1;
        }
        for (i, _) in text.match_indices('\n').take(300) {
            pipeline(&text[..i]);
        }
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        // At most ~300 damaged copies per file, so long-line files stay quick.
        for &(i, c) in chars.iter().step_by((chars.len() / 300).max(3)) {
            let mut damaged = String::with_capacity(text.len());
            damaged.push_str(&text[..i]);
            damaged.push_str(&text[i + c.len_utf8()..]);
            pipeline(&damaged);
        }
    }
    assert!(files >= 60, "corpus found: {files}");
    // Most corpus files are complete, valid Dockerfiles that plan successfully.
    assert!(planned >= files / 2, "planned {planned} of {files}");
}
