//! The POSIX shell the rewrite writes: toolchain templates turned into shell
//! variables, and the `case "$TARGETPLATFORM" in … esac` block that sets those
//! variables per target platform.
//!
//! A template variable such as `{gnu_triple}` cannot be derived from
//! `$TARGETARCH`/`$TARGETVARIANT` by parameter expansion (arm/v7 is
//! `arm-linux-gnueabihf`, arm64 is `aarch64-linux-gnu`), so the rewritten `RUN`
//! starts with a `case` over the requested platforms that assigns
//! `crossdock_gnu_triple` from the data in `crossbuild`, and the template is written
//! as `${crossdock_gnu_triple}`. A platform the file was not rewritten for stops
//! the build with a message saying so, instead of building for the wrong machine.

use std::collections::BTreeSet;

use crossbuild::{render_template, Platform, Target, TemplateError};

/// The prefix of every shell variable the rewrite introduces.
pub(crate) const PREFIX: &str = "crossdock_";

/// The shell variable holding template variable `name` (`crossdock_gnu_triple`).
pub(crate) fn var_name(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// Whether `s` can be written as one shell word without quotes.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
}

/// `s` as one shell word: bare when it is plain, else in single quotes.
pub(crate) fn quote(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else if s.contains('\'') && !s.contains(['"', '$', '`', '\\']) {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Escapes literal text for the inside of a double-quoted shell string.
fn in_double_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '$' | '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A template written as one shell word: `{x}` becomes `${crossdock_x}` (recorded in
/// `used`), inside double quotes when anything is substituted or the text needs
/// them; a template without variables is written as plain text.
pub(crate) fn word(template: &str, used: &mut BTreeSet<String>) -> Result<String, TemplateError> {
    let names = crossbuild::template_variables(template)?;
    let text = render_template(template, |name| Some(format!("\u{0}{name}\u{0}")))?;
    if names.is_empty() {
        return Ok(quote(&text));
    }
    let mut out = String::from("\"");
    for (i, part) in text.split('\u{0}').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("${{{}}}", var_name(part)));
            used.insert(part.to_string());
        } else {
            out.push_str(&in_double_quotes(part));
        }
    }
    out.push('"');
    Ok(out)
}

/// What a `case "$TARGETPLATFORM"` block sets in each branch.
#[derive(Debug, Default, Clone)]
pub(crate) struct CaseBlock {
    /// Template variables to assign as `crossdock_<name>`.
    pub vars: BTreeSet<String>,
    /// Shell variables holding a space-separated list of rendered templates
    /// (`crossdock_packages="gcc-aarch64-linux-gnu ..."`).
    pub lists: Vec<(String, Vec<String>)>,
    /// Variables to export, `(name template, value template)`; an entry whose value
    /// renders empty is left out (as [`crossbuild::Toolchain::cross_env`] does).
    pub exports: Vec<(String, String)>,
}

impl CaseBlock {
    /// Adds a list, or appends to the list of the same name.
    pub fn add_list(&mut self, name: &str, items: impl IntoIterator<Item = String>) {
        let pos = match self.lists.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.lists.push((name.to_string(), Vec::new()));
                self.lists.len() - 1
            }
        };
        for item in items {
            if !self.lists[pos].1.contains(&item) {
                self.lists[pos].1.push(item);
            }
        }
    }

    /// Adds exports, once each.
    pub fn add_exports<'a>(&mut self, env: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (n, v) in env {
            let entry = (n.to_string(), v.to_string());
            if !self.exports.contains(&entry) {
                self.exports.push(entry);
            }
        }
    }

    /// The block, one branch per platform, joined by `sep` (a space, or an escaped
    /// newline and indentation). The last branch stops the build for a platform the
    /// rewrite did not cover.
    pub fn render(
        &self,
        targets: &[(Platform, Target)],
        sep: &str,
    ) -> Result<String, TemplateError> {
        let mut out = String::from("case \"$TARGETPLATFORM\" in");
        let mut seen = BTreeSet::new();
        for (platform, target) in targets {
            let key = platform.to_string();
            if !seen.insert(key.clone()) {
                continue;
            }
            let mut assigns = Vec::new();
            for name in &self.vars {
                let value = target
                    .var(name)
                    .ok_or_else(|| TemplateError::UnknownVariable {
                        name: name.clone(),
                        template: format!("{{{name}}}"),
                    })?;
                assigns.push(format!("{}={}", var_name(name), quote_value(&value)));
            }
            for (name, items) in &self.lists {
                let mut rendered = Vec::new();
                for item in items {
                    let r = target.render(item)?;
                    if !r.is_empty() {
                        rendered.push(r);
                    }
                }
                assigns.push(format!("{name}={}", quote_value(&rendered.join(" "))));
            }
            let mut exports = Vec::new();
            for (n, v) in &self.exports {
                let value = target.render(v)?;
                if !value.is_empty() {
                    exports.push(format!("{}={}", target.render(n)?, quote_value(&value)));
                }
            }
            let mut body = Vec::new();
            if !assigns.is_empty() {
                body.push(assigns.join(" "));
            }
            if !exports.is_empty() {
                body.push(format!("export {}", exports.join(" ")));
            }
            if body.is_empty() {
                body.push(":".to_string());
            }
            out.push_str(sep);
            out.push_str(&format!("{key}) {} ;;", body.join("; ")));
        }
        out.push_str(sep);
        out.push_str(
            "*) echo \"crossdock: this stage was rewritten for other platforms, not $TARGETPLATFORM; run crossdock rewrite --platform with it\" >&2; exit 1 ;;",
        );
        out.push_str(sep);
        out.push_str("esac");
        Ok(out)
    }
}

/// A value in an assignment: bare when plain, else double-quoted.
fn quote_value(v: &str) -> String {
    if is_plain(v) {
        v.to_string()
    } else {
        format!("\"{}\"", in_double_quotes(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(list: &str) -> Vec<(Platform, Target)> {
        crossbuild::parse_platform_list(list)
            .unwrap()
            .into_iter()
            .map(|p| {
                let t = p.target().unwrap();
                (p, t)
            })
            .collect()
    }

    #[test]
    fn words_turn_template_variables_into_shell_variables() {
        let mut used = BTreeSet::new();
        assert_eq!(
            word("--host={gnu_triple}", &mut used).unwrap(),
            "\"--host=${crossdock_gnu_triple}\""
        );
        assert_eq!(
            word("-DCMAKE_SYSTEM_NAME=Linux", &mut used).unwrap(),
            "-DCMAKE_SYSTEM_NAME=Linux"
        );
        assert_eq!(word("a b$", &mut used).unwrap(), "'a b$'");
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["gnu_triple"]);
    }

    #[test]
    fn case_block_per_platform() {
        let mut block = CaseBlock::default();
        block.vars.insert("gnu_triple".into());
        block.add_list("crossdock_packages", ["{cross_cc_pkg}".to_string()]);
        block.add_exports([
            ("CC_{rust_triple_underscore}", "{cross_gcc}"),
            ("GOARM", "{goarm}"),
        ]);
        let text = block
            .render(&targets("linux/arm64,linux/arm/v7"), " ")
            .unwrap();
        assert_eq!(
            text,
            "case \"$TARGETPLATFORM\" in linux/arm64) crossdock_gnu_triple=aarch64-linux-gnu crossdock_packages=gcc-aarch64-linux-gnu; export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc ;; linux/arm/v7) crossdock_gnu_triple=arm-linux-gnueabihf crossdock_packages=gcc-arm-linux-gnueabihf; export CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc GOARM=7 ;; *) echo \"crossdock: this stage was rewritten for other platforms, not $TARGETPLATFORM; run crossdock rewrite --platform with it\" >&2; exit 1 ;; esac"
        );
    }
}
