//! Rendering findings, apart from finding them: one function per output format.
//!
//! Every format is a pure function from the linted files, each with its findings
//! (`&[(SourceFile, Vec<Finding>)]`), to the text to print. Files and findings are
//! printed in the order given: the caller sorts files by path, and [`super::run`]
//! already orders each file's findings by line and rule.
//!
//! - [`tty`]: rustc-style snippets for people, with [`summary`] as the last line;
//! - [`json`]: an array of [`finding_json`] objects;
//! - [`sarif`]: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers;
//! - [`checkstyle`]: Checkstyle XML (Jenkins, reviewdog, GitLab converters, ...);
//! - [`gnu`]: the GNU error format, `file:line:col: severity: message [CDnnn]`.

use std::fmt::Write as _;
use std::path::{Component, Path};

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use serde_json::{json, Value};

use super::{Finding, Rule, Severity, RULES};
use crate::source::SourceFile;

/// Where the project lives (mirrors `workspace.package.repository` in Cargo.toml).
pub const HOMEPAGE_URL: &str = "https://example.invalid/crossdock";

/// Default base URL of the rule pages (`<base>CD101.md`): the `docs/rules/` folder of
/// the repository's main branch. SARIF's `helpUri` must be an absolute URI, so this is
/// a URL, not a repository-relative path; `crossdock lint --docs-url` overrides it.
pub const DEFAULT_DOCS_URL: &str = "https://example.invalid/crossdock/blob/main/docs/rules/";

/// The SARIF schema the `sarif` output declares (OASIS SARIF 2.1.0, errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

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

/// The URL of a rule's doc page under `docs_url` (a `/` is added between them if
/// missing).
pub fn rule_doc_url(docs_url: &str, rule_id: &str) -> String {
    let sep = if docs_url.ends_with('/') { "" } else { "/" };
    format!("{docs_url}{sep}{rule_id}.md")
}

fn rule_name(id: &str) -> &'static str {
    super::rule(id).map_or("", |r| r.name)
}

// ------------------------------------------------------------------------ tty

/// Renders one finding rustc-style: `warning[CD101]: message [rule-name]`, the
/// location, the source lines with the span underlined, and the help line.
pub fn render_finding(source: &SourceFile, f: &Finding, color: bool) -> String {
    let loc = source.location(f.span.start);
    let end_loc = source.location(f.span.end.max(f.span.start));
    // Whole lines from the span's first to its last (at most 6 lines).
    let first = source.line_start(loc.line);
    let last_line = end_loc.line.min(loc.line + 5);
    let last = source.line_start(last_line) + source.line_text(last_line).len();
    let excerpt = source.text().get(first..last.max(first)).unwrap_or("");
    let start = f.span.start.saturating_sub(first).min(excerpt.len());
    let end = f.span.end.saturating_sub(first).clamp(start, excerpt.len());
    let level = match f.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let name = rule_name(f.rule);
    let title = if name.is_empty() {
        f.message.clone()
    } else {
        format!("{} [{name}]", f.message)
    };
    let path = source.path().display().to_string();
    let snippet = Snippet::source(excerpt)
        .line_start(loc.line)
        .path(path)
        .annotation(AnnotationKind::Primary.span(start..end));
    let mut group = level.primary_title(title).id(f.rule).element(snippet);
    if let Some(help) = &f.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = renderer.render(&[group]);
    out.push_str("\n\n");
    out
}

/// The `tty` format: every finding rendered by [`render_finding`], then [`summary`].
pub fn tty(files: &[(SourceFile, Vec<Finding>)], color: bool) -> String {
    let mut out = String::new();
    for (source, findings) in files {
        for f in findings {
            out.push_str(&render_finding(source, f, color));
        }
    }
    out.push_str(&summary(files));
    out.push('\n');
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line counting the findings by severity and the files they are in, e.g.
/// `1 error, 3 warnings in 2 files`, or `no findings in 4 files`.
pub fn summary(files: &[(SourceFile, Vec<Finding>)]) -> String {
    let count = |s: Severity| {
        files
            .iter()
            .flat_map(|(_, fs)| fs)
            .filter(|f| f.severity == s)
            .count()
    };
    let parts: Vec<String> = [
        (count(Severity::Error), "error", "errors"),
        (count(Severity::Warning), "warning", "warnings"),
        (count(Severity::Info), "info", "infos"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| plural(n, one, many))
    .collect();
    if parts.is_empty() {
        return format!("no findings in {}", plural(files.len(), "file", "files"));
    }
    let with = files.iter().filter(|(_, fs)| !fs.is_empty()).count();
    format!("{} in {}", parts.join(", "), plural(with, "file", "files"))
}

// ----------------------------------------------------------------------- json

/// The `json` format: one array of [`finding_json`] objects, pretty-printed.
pub fn json(files: &[(SourceFile, Vec<Finding>)]) -> String {
    let all: Vec<Value> = files
        .iter()
        .flat_map(|(source, fs)| fs.iter().map(move |f| finding_json(source, f)))
        .collect();
    let mut out = serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

// ---------------------------------------------------------------------- sarif

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The first paragraph of a rule's doc page (after the title and the severity line).
fn doc_description(rule: &Rule) -> String {
    let mut para: Vec<&str> = Vec::new();
    for line in rule.doc.lines() {
        let line = line.trim();
        if line.is_empty() {
            if !para.is_empty() {
                break;
            }
            continue;
        }
        if para.is_empty() && (line.starts_with('#') || line.starts_with("**Severity")) {
            continue;
        }
        para.push(line);
    }
    if para.is_empty() {
        rule.summary.to_string()
    } else {
        para.join(" ")
    }
}

/// A path as a URI reference: relative paths stay relative (with `/` separators and
/// no `./`), absolute ones become `file://` URIs; reserved characters are
/// percent-encoded.
pub fn path_uri(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for c in path.components() {
        match c {
            Component::Prefix(p) => {
                absolute = true;
                parts.push(p.as_os_str().to_string_lossy().replace('\\', "/"));
            }
            Component::RootDir => absolute = true,
            Component::CurDir => {}
            Component::ParentDir => parts.push("..".to_string()),
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
        }
    }
    let encoded: Vec<String> = parts.iter().map(|p| percent_encode(p)).collect();
    let joined = encoded.join("/");
    if absolute {
        format!("file:///{joined}")
    } else {
        joined
    }
}

fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// FNV-1a, 64 bits: a hash that is the same on every machine and in every version
/// (std's hasher promises neither).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The text of a line with runs of whitespace collapsed, so reindenting does not
/// change a fingerprint.
fn normalized_line(source: &SourceFile, line: usize) -> String {
    source
        .line_text(line)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `sarif` format: SARIF 2.1.0 with one run whose driver lists every rule of the
/// registry (descriptions and help from the doc pages, `helpUri` under `docs_url`).
///
/// Each result carries `partialFingerprints.primaryLocationLineHash`: a stable hash of
/// the rule, the file and the finding's first line with whitespace collapsed, then
/// `:n` for the n-th such finding, so code scanning tracks an alert while lines
/// around it move. Columns count characters (`columnKind: unicodeCodePoints`); end
/// columns are exclusive, as SARIF defines them.
pub fn sarif(files: &[(SourceFile, Vec<Finding>)], docs_url: &str) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            let category = serde_json::to_value(r.category).unwrap_or(Value::Null);
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": doc_description(r) },
                "help": { "text": r.doc, "markdown": r.doc },
                "helpUri": rule_doc_url(docs_url, r.id),
                "defaultConfiguration": { "level": sarif_level(r.default_severity) },
                "properties": { "tags": ["dockerfile", "multi-platform", category] },
            })
        })
        .collect();
    let mut seen: std::collections::HashMap<(String, String, String), usize> =
        std::collections::HashMap::new();
    let mut results = Vec::new();
    for (source, findings) in files {
        let uri = path_uri(source.path());
        for f in findings {
            let start = source.location(f.span.start);
            let end = source.location(f.span.end.max(f.span.start));
            let line_text = normalized_line(source, start.line);
            let hash = fnv1a(&[f.rule, &uri, &line_text]);
            let n = seen
                .entry((f.rule.to_string(), uri.clone(), line_text))
                .or_insert(0);
            *n += 1;
            let mut text = f.message.clone();
            if let Some(help) = &f.help {
                text.push_str("\nHelp: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": f.rule,
                "level": sarif_level(f.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": {
                            "startLine": start.line,
                            "startColumn": start.column,
                            "endLine": end.line,
                            "endColumn": end.column,
                        }
                    }
                }],
                "partialFingerprints": {
                    "primaryLocationLineHash": format!("{hash:016x}:{n}"),
                },
            });
            if let Some(index) = RULES.iter().position(|r| r.id == f.rule) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(stage) = &f.stage {
                result["properties"] = json!({ "stage": stage });
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "crossdock",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": HOMEPAGE_URL,
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

// ----------------------------------------------------------------- checkstyle

/// Escapes text for an XML attribute value; characters XML 1.0 cannot hold become
/// U+FFFD.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push('\u{FFFD}');
            }
            c => out.push(c),
        }
    }
    out
}

/// The `checkstyle` format: Checkstyle XML, one `<file>` per linted file (also those
/// without findings) and one `<error>` per finding, with the rule id as `source`.
pub fn checkstyle(files: &[(SourceFile, Vec<Finding>)]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<checkstyle version=\"4.3\">\n");
    for (source, findings) in files {
        let name = xml_escape(&source.path().display().to_string());
        if findings.is_empty() {
            let _ = writeln!(out, "  <file name=\"{name}\"/>");
            continue;
        }
        let _ = writeln!(out, "  <file name=\"{name}\">");
        for f in findings {
            let loc = source.location(f.span.start);
            let _ = writeln!(
                out,
                "    <error line=\"{}\" column=\"{}\" severity=\"{}\" message=\"{}\" source=\"{}\"/>",
                loc.line,
                loc.column,
                f.severity.as_str(),
                xml_escape(&f.message),
                xml_escape(f.rule),
            );
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}

// ------------------------------------------------------------------------ gnu

/// The `gnu` format: `file:line:col: severity: message [CDnnn]`, one finding per line
/// (line breaks in messages become spaces).
pub fn gnu(files: &[(SourceFile, Vec<Finding>)]) -> String {
    let mut out = String::new();
    for (source, findings) in files {
        for f in findings {
            let loc = source.location(f.span.start);
            let message = f.message.replace(['\r', '\n'], " ");
            let _ = writeln!(
                out,
                "{}:{}:{}: {}: {message} [{}]",
                source.path().display(),
                loc.line,
                loc.column,
                f.severity.as_str(),
                f.rule
            );
        }
    }
    out
}

// ---------------------------------------------------------------- rules index

/// `docs/rules/README.md`: the index of every rule in the registry (id linking to its
/// page, name, default severity, group, summary). A test keeps the file equal to this.
pub fn rules_index() -> String {
    let mut out = String::from(
        "# crossdock lint rules\n\n\
         <!-- Generated from the rule registry (frontend/src/lint/rules); do not edit by hand.\n     \
         Regenerate: CROSSDOCK_UPDATE_RULES_INDEX=1 cargo test -p crossdock-frontend rules_index -->\n\n\
         Every rule `crossdock lint` checks, with its default severity. Each page says what\n\
         the rule finds, why it matters, a bad and a good example, how to fix it and how to\n\
         ignore it. Severities can be changed and rules ignored in `.crossdock.toml` or with\n\
         `# crossdock ignore=...` comments (see the README).\n\n\
         | Rule | Name | Severity | Group | Summary |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for r in RULES {
        let group = match r.category {
            super::Category::Emulation => "compile under emulation",
            super::Category::WrongArchitecture => "wrong architecture shipped",
            super::Category::PlatformArgs => "platform ARG traps",
            super::Category::CrossHazard => "cross-build hazards",
        };
        let _ = writeln!(
            out,
            "| [{id}]({id}.md) | `{name}` | {sev} | {group} | {summary} |",
            id = r.id,
            name = r.name,
            sev = r.default_severity.as_str(),
            summary = r.summary.replace('|', "\\|"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rule;

    fn sample() -> Vec<(SourceFile, Vec<Finding>)> {
        let src = SourceFile::new(
            "dir/Dockerfile",
            "FROM golang:1.22\nRUN   go build -o /app .\n",
        );
        let start = src.text().find("go build").expect("present");
        let end = src.text().len() - 1;
        let cd101 = rule("CD101").expect("CD101");
        let f = Finding::new(cd101, start..end, "`go build` <runs> \"emulated\" & slow")
            .stage("stage-0")
            .help("run `crossdock rewrite`");
        let empty = SourceFile::new("b/Dockerfile", "FROM scratch\n");
        vec![(src, vec![f]), (empty, vec![])]
    }

    #[test]
    fn tty_has_id_name_snippet_help_and_summary() {
        let text = tty(&sample(), false);
        assert!(text.contains("warning[CD101]: `go build` <runs>"), "{text}");
        assert!(text.contains("[go-compile-under-emulation]"), "{text}");
        assert!(text.contains("--> dir/Dockerfile:2:7"), "{text}");
        assert!(text.contains("2 | RUN   go build -o /app ."), "{text}");
        assert!(text.contains("help: run `crossdock rewrite`"), "{text}");
        assert!(text.ends_with("1 warning in 1 file\n"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour asked: {text}");
        assert!(tty(&sample(), true).contains('\u{1b}'));
    }

    #[test]
    fn summary_counts_by_severity() {
        let mut files = sample();
        let mut e = files[0].1[0].clone();
        e.severity = Severity::Error;
        files[1].1.push(e.clone());
        files[1].1.push(e);
        assert_eq!(summary(&files), "2 errors, 1 warning in 2 files");
        assert_eq!(summary(&files[1..1]), "no findings in 0 files");
        let none = vec![(SourceFile::new("Dockerfile", "FROM a\n"), vec![])];
        assert_eq!(summary(&none), "no findings in 1 file");
    }

    #[test]
    fn json_is_an_array_of_finding_objects() {
        let v: Value = serde_json::from_str(&json(&sample())).expect("json");
        assert_eq!(v.as_array().map(Vec::len), Some(1));
        assert_eq!(v[0]["rule"], "CD101");
        assert_eq!(v[0]["line"], 2);
        assert_eq!(v[0]["column"], 7);
        assert_eq!(v[0]["end_column"], 25);
        assert_eq!(v[0]["stage"], "stage-0");
    }

    #[test]
    fn gnu_is_one_line_per_finding() {
        assert_eq!(
            gnu(&sample()),
            "dir/Dockerfile:2:7: warning: `go build` <runs> \"emulated\" & slow [CD101]\n"
        );
    }

    #[test]
    fn checkstyle_escapes_xml() {
        let text = checkstyle(&sample());
        assert!(text.contains(
            "message=\"`go build` &lt;runs&gt; &quot;emulated&quot; &amp; slow\" source=\"CD101\""
        ), "{text}");
        assert!(text.contains("<file name=\"b/Dockerfile\"/>"), "{text}");
        assert_eq!(xml_escape("a\u{1}b\nc'"), "a\u{FFFD}b&#10;c&apos;");
    }

    #[test]
    fn sarif_lists_rules_and_locates_results() {
        let v: Value =
            serde_json::from_str(&sarif(&sample(), "https://x.test/docs")).expect("json");
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), RULES.len());
        assert_eq!(rules[0]["helpUri"], "https://x.test/docs/CD101.md");
        assert!(rules[0]["fullDescription"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("A stage without")));
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "CD101");
        assert_eq!(r["ruleIndex"], 0);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 2);
        assert_eq!(region["startColumn"], 7);
        assert_eq!(region["endColumn"], 25);
        let fp = r["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .expect("fingerprint");
        assert!(fp.ends_with(":1"), "{fp}");
    }

    #[test]
    fn fingerprints_ignore_whitespace_and_count_repeats() {
        let text = "FROM golang\nRUN go build .\n  RUN   go build  .\n";
        let src = SourceFile::new("Dockerfile", text);
        let cd101 = rule("CD101").expect("CD101");
        let a = text.find("go build").expect("first");
        let b = text.rfind("go build").expect("second");
        let files = vec![(
            src,
            vec![
                Finding::new(cd101, a..a + 8, "m"),
                Finding::new(cd101, b..b + 8, "m"),
            ],
        )];
        let v: Value = serde_json::from_str(&sarif(&files, DEFAULT_DOCS_URL)).expect("json");
        let fp = |i: usize| {
            v["runs"][0]["results"][i]["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        let (one, two) = (fp(0), fp(1));
        assert_eq!(one.split(':').next(), two.split(':').next());
        assert!(one.ends_with(":1") && two.ends_with(":2"), "{one} {two}");
    }

    #[test]
    fn uris_are_relative_with_forward_slashes_or_file_uris() {
        assert_eq!(path_uri(Path::new("./a b/Dockerfile")), "a%20b/Dockerfile");
        assert_eq!(path_uri(Path::new("x/#1.Dockerfile")), "x/%231.Dockerfile");
        assert_eq!(
            path_uri(Path::new("/tmp/p/Dockerfile")),
            "file:///tmp/p/Dockerfile"
        );
    }

    #[test]
    fn rules_index_matches_docs_rules_readme() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules/README.md");
        let want = rules_index();
        if std::env::var_os("CROSSDOCK_UPDATE_RULES_INDEX").is_some() {
            std::fs::write(&path, &want).expect("write docs/rules/README.md");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/rules/README.md does not match the rule registry; regenerate it with\n  \
             CROSSDOCK_UPDATE_RULES_INDEX=1 cargo test -p crossdock-frontend rules_index\n\
             expected:\n{want}"
        );
        for r in RULES {
            assert!(
                have.contains(&format!("[{0}]({0}.md)", r.id)),
                "{} missing",
                r.id
            );
        }
    }
}
