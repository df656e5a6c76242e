//! Rendering a located message for people: `file:line:col: message`, then the source
//! line with the span underlined (annotate-snippets does the drawing).

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use crate::source::{SourceFile, Span};

/// How severe a rendered message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops the command.
    Error,
    /// Worth fixing.
    Warning,
    /// For information.
    Info,
}

/// Renders `message` at `span` of `source`. The first line is always
/// `path:line:col: message` so editors and CI logs can jump to it.
pub fn render(
    source: &SourceFile,
    span: &Span,
    severity: Severity,
    message: &str,
    help: Option<&str>,
    color: bool,
) -> String {
    let loc = source.location(span.start);
    let mut out = format!(
        "{}:{}:{}: {message}\n",
        source.path().display(),
        loc.line,
        loc.column
    );
    let text = source.text();
    // Show whole lines from the span's first to its last (at most 6 lines).
    let first = source.line_start(loc.line);
    let end_loc = source.location(span.end.max(span.start));
    let last_line = end_loc.line.min(loc.line + 5);
    let last = source.line_start(last_line) + source.line_text(last_line).len();
    let Some(excerpt) = text.get(first..last.max(first)) else {
        return out;
    };
    let start = span.start.saturating_sub(first).min(excerpt.len());
    let end = span.end.saturating_sub(first).clamp(start, excerpt.len());
    let level = match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let snippet = Snippet::source(excerpt)
        .line_start(loc.line)
        .path(source.path().display().to_string())
        .annotation(AnnotationKind::Primary.span(start..end.max(start)));
    let mut group = level.primary_title(message).element(snippet);
    if let Some(help) = help {
        group = group.element(Level::HELP.message(help));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    out.push_str(&renderer.render(&[group]));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_is_file_line_col_and_the_source_line_is_shown() {
        let src = SourceFile::new("df/Dockerfile", "FROM a\nENV A\n");
        let text = render(
            &src,
            &(7..12),
            Severity::Error,
            "ENV must have two arguments",
            Some("write ENV A=value"),
            false,
        );
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("df/Dockerfile:2:1: ENV must have two arguments")
        );
        assert!(text.contains("2 | ENV A"), "{text}");
        assert!(text.contains("^^^^^"), "{text}");
        assert!(text.contains("write ENV A=value"), "{text}");
    }
}
