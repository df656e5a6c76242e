//! Inline pragmas in Dockerfile comments:
//!
//! - `# crossdock ignore=CD101,CD103` silences those rules on the next instruction;
//! - `# crossdock global ignore=CD104` silences them in the whole file.

use crate::source::Span;
use crate::syntax::Dockerfile;

/// The pragmas of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pragmas {
    /// Rules ignored everywhere.
    pub global: Vec<String>,
    /// (span of the instruction it applies to, rules).
    pub local: Vec<(Span, Vec<String>)>,
}

/// Parses `crossdock [global] ignore=A,B` from a comment's text (after `#`).
fn parse_comment(text: &str) -> Option<(bool, Vec<String>)> {
    let rest = text.trim().strip_prefix("crossdock")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let (global, rest) = match rest.strip_prefix("global") {
        Some(r) if r.starts_with(char::is_whitespace) => (true, r.trim_start()),
        _ => (false, rest),
    };
    let list = rest
        .strip_prefix("ignore")?
        .trim_start()
        .strip_prefix('=')?;
    let rules: Vec<String> = list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_uppercase())
        .collect();
    (!rules.is_empty()).then_some((global, rules))
}

impl Pragmas {
    /// Finds the pragmas in a file's comment lines.
    pub fn scan(df: &Dockerfile) -> Pragmas {
        let mut out = Pragmas::default();
        let source = &df.source;
        // Comment lines inside an instruction's span (continuations, heredoc bodies)
        // are not pragmas.
        let inside = |offset: usize| df.instructions.iter().any(|i| i.span.contains(&offset));
        for line in 1..=source.line_count() {
            let start = source.line_start(line);
            let text = source.line_text(line);
            let Some(comment) = text.trim_start().strip_prefix('#') else {
                continue;
            };
            if inside(start) {
                continue;
            }
            let Some((global, rules)) = parse_comment(comment) else {
                continue;
            };
            if global {
                out.global.extend(rules);
            } else if let Some(next) = df.instructions.iter().find(|i| i.span.start > start) {
                out.local.push((next.span.clone(), rules));
            }
        }
        out
    }

    /// Whether `rule` is silenced for a finding at `span`.
    pub fn ignores(&self, _df: &Dockerfile, rule: &str, span: &Span) -> bool {
        let named = |rules: &Vec<String>| rules.iter().any(|r| r.eq_ignore_ascii_case(rule));
        named(&self.global)
            || self.local.iter().any(|(s, rules)| {
                s.start <= span.start && span.start < s.end.max(s.start + 1) && named(rules)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::syntax::parse;

    #[test]
    fn comments() {
        assert_eq!(
            parse_comment(" crossdock ignore=CD101,cd103"),
            Some((false, vec!["CD101".into(), "CD103".into()]))
        );
        assert_eq!(
            parse_comment(" crossdock global ignore = CD104"),
            Some((true, vec!["CD104".into()]))
        );
        assert_eq!(parse_comment(" crossdockignore=CD101"), None);
        assert_eq!(parse_comment(" crossdock ignore="), None);
        assert_eq!(parse_comment(" just a comment"), None);
    }

    #[test]
    fn local_pragmas_apply_to_the_next_instruction_only() {
        let text = "FROM a\n# crossdock ignore=CD101\nRUN go build\nRUN go build\n# crossdock global ignore=CD199\n";
        let df = parse(SourceFile::new("D", text)).unwrap();
        let p = Pragmas::scan(&df);
        let first = df.instructions[1].span.clone();
        let second = df.instructions[2].span.clone();
        assert!(p.ignores(&df, "CD101", &first));
        assert!(!p.ignores(&df, "CD101", &second));
        assert!(!p.ignores(&df, "CD103", &first));
        assert!(p.ignores(&df, "CD199", &second));
    }
}
