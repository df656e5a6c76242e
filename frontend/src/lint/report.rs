//! Rendering findings, apart from finding them: one function per output format.

use serde_json::{json, Value};

use super::Finding;
use crate::source::SourceFile;

/// One finding as the `json` format prints it:
/// `{"rule","severity","file","line","column","end_line","end_column","message","stage","help"}`
/// (1-based lines and columns; the end column is exclusive).
pub fn finding_json(source: &SourceFile, f: &Finding) -> Value {
    let start = source.location(f.span.start);
    let end = source.location(f.span.end.max(f.span.start));
    json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "file": source.path().display().to_string(),
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column,
        "message": f.message,
        "stage": f.stage,
        "help": f.help,
    })
}
