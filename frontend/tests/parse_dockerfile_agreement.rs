//! Differential test against the `parse-dockerfile` crate.
//!
//! crossdock's syntax layer reproduces BuildKit's parser itself, because the values
//! BuildKit produces (argument lists, line numbers, heredoc names, its errors) are not
//! what `parse-dockerfile` exposes, and the two differ on some inputs (the crate accepts
//! `ENV A` without a value, which BuildKit rejects). This test keeps the two honest with
//! each other: on every corpus file both accept, they must find the same instructions
//! with the same keywords at the same byte offsets. A disagreement here means one of
//! them misreads a construct, and the conformance test (against BuildKit's own parser)
//! says which.

use std::path::{Path, PathBuf};

use frontend::source::SourceFile;

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("conformance corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// (keyword upper-cased, keyword start offset) per instruction, ONBUILD unwrapped.
fn crate_view(text: &str) -> Option<Vec<(String, usize)>> {
    let df = parse_dockerfile::parse(text).ok()?;
    Some(
        df.instructions
            .iter()
            .map(|inst| {
                let json = serde_json::to_value(inst).expect("serializable");
                let kind = json["kind"].as_str().unwrap_or("").to_string();
                // Each instruction carries its keyword span under its own name
                // (`"env": {"span": ...}` for ENV).
                let start = json[kind.to_ascii_lowercase()]["span"]["start"]
                    .as_u64()
                    .unwrap_or(0) as usize;
                (kind, start)
            })
            .collect(),
    )
}

/// Files where the crate reads differently from BuildKit, with why. BuildKit's reading
/// (checked by the conformance test) is the one crossdock follows.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "continuation-double-backslash-eol.Dockerfile",
    "an escaped escape token at the end of a line ends the instruction in BuildKit; \
     parse-dockerfile continues it",
)];

#[test]
fn keywords_and_offsets_agree_where_both_parse() {
    let mut compared = 0;
    let mut differences = Vec::new();
    for path in corpus() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(ours) = frontend::syntax::parse(SourceFile::new(&path, text.clone())) else {
            continue;
        };
        let Some(mut theirs) = crate_view(&text) else {
            continue;
        };
        // The crate strips a UTF-8 byte order mark and counts from after it.
        if text.starts_with('\u{feff}') {
            for (_, start) in &mut theirs {
                *start += 3;
            }
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let known = KNOWN_DIFFERENCES.iter().any(|(f, _)| *f == name);
        compared += 1;
        let ours: Vec<(String, usize)> = ours
            .instructions
            .iter()
            .map(|i| (i.keyword_upper(), i.keyword_span.start))
            .collect();
        if known {
            assert_ne!(
                ours, theirs,
                "{name} is listed as a known difference but now agrees"
            );
            continue;
        }
        if ours != theirs {
            differences.push(format!(
                "{}:\n  crossdock: {ours:?}\n  parse-dockerfile: {theirs:?}",
                path.display()
            ));
        }
    }
    assert!(compared >= 50, "only {compared} files were parsed by both");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
