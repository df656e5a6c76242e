//! `{name}` templates, as used by the toolchain data files.

/// A template could not be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{name}` names no known variable.
    #[error("unknown template variable {{{name}}} in {template:?}")]
    UnknownVariable {
        /// The variable name between the braces.
        name: String,
        /// The whole template.
        template: String,
    },
    /// A `{` has no closing `}`.
    #[error("unterminated '{{' at byte {offset} of template {template:?}")]
    Unterminated {
        /// Byte offset of the `{`.
        offset: usize,
        /// The whole template.
        template: String,
    },
    /// A `}` closes nothing (write `}}` for a literal brace).
    #[error("unmatched '}}' at byte {offset} of template {template:?}")]
    UnmatchedClose {
        /// Byte offset of the `}`.
        offset: usize,
        /// The whole template.
        template: String,
    },
}

/// One piece of a template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a template into literal text and `{variable}` references. `{{` and
/// `}}` stand for literal braces.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let offset = template.len() - rest.len() + i;
        let (text, tail) = rest.split_at(i);
        out.push(Piece::Text(text));
        match (tail.as_bytes()[0], tail.as_bytes().get(1)) {
            (b'{', Some(b'{')) => {
                out.push(Piece::Text("{"));
                rest = &tail[2..];
            }
            (b'}', Some(b'}')) => {
                out.push(Piece::Text("}"));
                rest = &tail[2..];
            }
            (b'}', _) => {
                return Err(TemplateError::UnmatchedClose {
                    offset,
                    template: template.to_owned(),
                })
            }
            _ => {
                let end = tail[1..]
                    .find(['{', '}'])
                    .filter(|&j| tail.as_bytes()[j + 1] == b'}');
                let Some(end) = end else {
                    return Err(TemplateError::Unterminated {
                        offset,
                        template: template.to_owned(),
                    });
                };
                out.push(Piece::Var(&tail[1..=end]));
                rest = &tail[end + 2..];
            }
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Renders `template`, replacing each `{name}` with `lookup(name)`; an unknown name
/// (`lookup` gives `None`) is an error. Used with [`crate::Target::var`] for one
/// platform's values, and by callers that render a template into another language
/// (the rewrite turns `{gnu_triple}` into a shell variable).
pub fn render_template(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var(name) => {
                let value = lookup(name).ok_or_else(|| TemplateError::UnknownVariable {
                    name: name.to_owned(),
                    template: template.to_owned(),
                })?;
                out.push_str(&value);
            }
        }
    }
    Ok(out)
}

/// The variable names a template refers to, in order of appearance.
pub fn template_variables(template: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(pieces(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "a" => Some("x86_64".into()),
            "b" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn renders() {
        let cases = [
            ("", ""),
            ("plain", "plain"),
            ("{a}", "x86_64"),
            ("CC_{a}={a}-gcc", "CC_x86_64=x86_64-gcc"),
            ("[{b}]", "[]"),
            ("{{a}} {{{a}}}", "{a} {x86_64}"),
            ("$GOPATH/bin/{a}_{a}/", "$GOPATH/bin/x86_64_x86_64/"),
            ("ünï{a}cødé", "ünïx86_64cødé"),
        ];
        for (template, want) in cases {
            assert_eq!(
                render_template(template, lookup).as_deref(),
                Ok(want),
                "{template:?}"
            );
        }
    }

    #[test]
    fn errors() {
        let unknown = |name: &str, template: &str| TemplateError::UnknownVariable {
            name: name.into(),
            template: template.into(),
        };
        assert_eq!(render_template("x{c}", lookup), Err(unknown("c", "x{c}")));
        assert_eq!(render_template("{}", lookup), Err(unknown("", "{}")));
        assert_eq!(
            render_template("ab{a", lookup),
            Err(TemplateError::Unterminated {
                offset: 2,
                template: "ab{a".into()
            })
        );
        assert_eq!(
            render_template("{a{b}}", lookup),
            Err(TemplateError::Unterminated {
                offset: 0,
                template: "{a{b}}".into()
            })
        );
        assert_eq!(
            render_template("a}b", lookup),
            Err(TemplateError::UnmatchedClose {
                offset: 1,
                template: "a}b".into()
            })
        );
        let message = render_template("--host={gnu}", lookup)
            .expect_err("unknown")
            .to_string();
        assert_eq!(
            message,
            "unknown template variable {gnu} in \"--host={gnu}\""
        );
    }

    #[test]
    fn lists_variables() {
        assert_eq!(template_variables("{a}-{b} {{c}}"), Ok(vec!["a", "b"]));
        assert!(template_variables("{a").is_err());
    }
}
