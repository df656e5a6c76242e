//! `.crossdock.toml`: per-project lint settings.
//!
//! The file is searched upward from each Dockerfile's directory; the first one found
//! applies to that Dockerfile (files are not merged). Every setting lives under `[lint]`:
//!
//! ```toml
//! [lint]
//! # Target platforms linted for when --platform is not given
//! # (default: linux/amd64, linux/arm64).
//! platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
//! # Rules never reported.
//! ignore = ["CD104"]
//!
//! [lint.severity]
//! # error, warning or info.
//! CD101 = "error"
//! ```
//!
//! Unknown keys, unknown rule ids, bad values and invalid TOML are errors that name
//! the file, the line and the key (a typo must not silently turn a setting off).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crossbuild::Platform;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{RuleSettings, Severity, RULES};
use crate::diagnostic;
use crate::source::{SourceFile, Span};

/// The configuration file's name.
pub const CONFIG_FILE_NAME: &str = ".crossdock.toml";

/// Target platforms linted for when neither `--platform` nor the configuration names any.
pub const DEFAULT_LINT_PLATFORMS: &str = "linux/amd64,linux/arm64";

/// Keys allowed in `[lint]`.
const LINT_KEYS: [&str; 3] = ["platforms", "ignore", "severity"];

/// Lint settings read from one `.crossdock.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The file they were read from.
    pub path: PathBuf,
    /// `[lint] platforms`: target platforms (`None` when not set).
    pub platforms: Option<Vec<Platform>>,
    /// `[lint] ignore`: rule ids never reported (as the registry spells them).
    pub ignore: Vec<String>,
    /// `[lint.severity]`: severity overrides by rule id (as the registry spells them).
    pub severity: BTreeMap<String, Severity>,
}

/// A configuration file that cannot be used.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file (its text, for showing the offending line).
    pub file: Box<SourceFile>,
    /// Where in the file, when the problem is at a place in it.
    pub span: Option<Span>,
    /// What is wrong, naming the key.
    pub message: String,
    /// What is accepted instead.
    pub help: Option<String>,
}

impl ConfigError {
    fn at(file: &SourceFile, span: Span, message: String, help: Option<String>) -> Self {
        ConfigError {
            file: Box::new(file.clone()),
            span: Some(span),
            message,
            help,
        }
    }

    /// Renders the error for people: `file:line:col: message` and the offending line,
    /// or `file: message` when the problem is not at a place in the file.
    pub fn render(&self, color: bool) -> String {
        match &self.span {
            Some(span) => diagnostic::render(
                &self.file,
                span,
                diagnostic::Severity::Error,
                &self.message,
                self.help.as_deref(),
                color,
            ),
            None => {
                let mut out = format!("{}: {}\n", self.file.path().display(), self.message);
                if let Some(help) = &self.help {
                    out.push_str(&format!("help: {help}\n"));
                }
                out
            }
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.span {
            Some(span) => {
                let loc = self.file.location(span.start);
                write!(
                    f,
                    "{}:{}:{}: {}",
                    self.file.path().display(),
                    loc.line,
                    loc.column,
                    self.message
                )
            }
            None => write!(f, "{}: {}", self.file.path().display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Looks a rule id up in the registry (case-insensitive) and returns it as the registry
/// spells it; the error names the valid ids.
pub fn resolve_rule_id(id: &str) -> Result<&'static str, String> {
    super::rule(id.trim())
        .map(|r| r.id)
        .ok_or_else(|| format!("unknown rule {:?}; valid rules: {}", id, valid_rule_ids()))
}

/// Every rule id, comma-separated.
fn valid_rule_ids() -> String {
    RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
}

/// Finds the `.crossdock.toml` that applies to files in `dir`: the one in `dir` or the
/// nearest one above it. `dir` should be absolute (a relative one is searched only as
/// far up as it goes).
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(CONFIG_FILE_NAME))
        .find(|p| p.is_file())
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(path, &text),
            Err(e) => Err(ConfigError {
                file: Box::new(SourceFile::new(path, "")),
                span: None,
                message: format!("cannot read the configuration: {e}"),
                help: None,
            }),
        }
    }

    /// Parses and checks the text of a configuration file read from `path`.
    pub fn parse(path: impl Into<PathBuf>, text: &str) -> Result<Config, ConfigError> {
        let path = path.into();
        let file = SourceFile::new(&path, text);
        let doc = DeTable::parse(text).map_err(|e| ConfigError {
            file: Box::new(file.clone()),
            span: Some(e.span().unwrap_or(0..0)),
            message: format!("invalid TOML: {}", e.message().trim_end()),
            help: None,
        })?;
        let mut config = Config {
            path,
            ..Config::default()
        };
        for (key, value) in sorted(doc.get_ref()) {
            if key.get_ref() != "lint" {
                return Err(unknown_key(&file, key, "", &["lint"]));
            }
            let Some(lint) = value.get_ref().as_table() else {
                return Err(wrong_type(&file, value, "lint", "a table ([lint])"));
            };
            for (key, value) in sorted(lint) {
                match key.get_ref().as_ref() {
                    "platforms" => config.platforms = Some(platforms(&file, value)?),
                    "ignore" => config.ignore = ignore(&file, value)?,
                    "severity" => config.severity = severity(&file, value)?,
                    _ => return Err(unknown_key(&file, key, "lint.", &LINT_KEYS)),
                }
            }
        }
        Ok(config)
    }

    /// The rule settings these lint settings give.
    pub fn settings(&self) -> RuleSettings {
        RuleSettings {
            ignore: self.ignore.clone(),
            severity: self.severity.clone(),
        }
    }
}

/// A table's entries in file order (so the first problem reported is the first in the file).
fn sorted<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(
    &'a Spanned<toml::de::DeString<'i>>,
    &'a Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn unknown_key(
    file: &SourceFile,
    key: &Spanned<toml::de::DeString<'_>>,
    prefix: &str,
    valid: &[&str],
) -> ConfigError {
    let valid: Vec<String> = valid.iter().map(|k| format!("{prefix}{k}")).collect();
    ConfigError::at(
        file,
        key.span(),
        format!("unknown key \"{prefix}{}\"", key.get_ref()),
        Some(format!("valid keys: {}", valid.join(", "))),
    )
}

fn wrong_type(
    file: &SourceFile,
    value: &Spanned<DeValue<'_>>,
    key: &str,
    expected: &str,
) -> ConfigError {
    ConfigError::at(
        file,
        value.span(),
        format!(
            "\"{key}\" must be {expected}, not {}",
            value.get_ref().type_str()
        ),
        None,
    )
}

/// An array of strings, each with its span.
fn strings<'a>(
    file: &SourceFile,
    value: &'a Spanned<DeValue<'_>>,
    key: &str,
) -> Result<Vec<(&'a str, Span)>, ConfigError> {
    let Some(items) = value.get_ref().as_array() else {
        return Err(wrong_type(file, value, key, "an array of strings"));
    };
    items
        .iter()
        .map(|item| match item.get_ref().as_str() {
            Some(s) => Ok((s, item.span())),
            None => Err(wrong_type(file, item, key, "an array of strings")),
        })
        .collect()
}

fn rule_id(file: &SourceFile, id: &str, span: Span, key: &str) -> Result<String, ConfigError> {
    resolve_rule_id(id).map(str::to_string).map_err(|_| {
        ConfigError::at(
            file,
            span,
            format!("unknown rule {id:?} in \"{key}\""),
            Some(format!("valid rules: {}", valid_rule_ids())),
        )
    })
}

fn platforms(
    file: &SourceFile,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<Platform>, ConfigError> {
    let items = strings(file, value, "lint.platforms")?;
    if items.is_empty() {
        return Err(ConfigError::at(
            file,
            value.span(),
            "\"lint.platforms\" must name at least one platform".to_string(),
            Some(format!(
                "for example: platforms = [\"{}\"]",
                DEFAULT_LINT_PLATFORMS.replace(',', "\", \"")
            )),
        ));
    }
    let mut out: Vec<Platform> = Vec::new();
    for (s, span) in items {
        let platform = Platform::parse(s).map_err(|e| {
            ConfigError::at(file, span.clone(), format!("lint.platforms: {e}"), None)
        })?;
        if out.contains(&platform) {
            return Err(ConfigError::at(
                file,
                span,
                format!("lint.platforms: {s:?} is listed twice"),
                None,
            ));
        }
        out.push(platform);
    }
    Ok(out)
}

fn ignore(file: &SourceFile, value: &Spanned<DeValue<'_>>) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for (id, span) in strings(file, value, "lint.ignore")? {
        let id = rule_id(file, id, span, "lint.ignore")?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn severity(
    file: &SourceFile,
    value: &Spanned<DeValue<'_>>,
) -> Result<BTreeMap<String, Severity>, ConfigError> {
    let Some(table) = value.get_ref().as_table() else {
        return Err(wrong_type(
            file,
            value,
            "lint.severity",
            "a table ([lint.severity])",
        ));
    };
    let mut out = BTreeMap::new();
    for (key, value) in sorted(table) {
        let id = rule_id(file, key.get_ref(), key.span(), "lint.severity")?;
        let level = value
            .get_ref()
            .as_str()
            .and_then(|s| match s {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "info" => Some(Severity::Info),
                _ => None,
            })
            .ok_or_else(|| {
                ConfigError::at(
                    file,
                    value.span(),
                    format!("lint.severity.{id}: expected \"error\", \"warning\" or \"info\""),
                    None,
                )
            })?;
        out.insert(id, level);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse("proj/.crossdock.toml", text)
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_every_setting() {
        let c = parse(
            "[lint]\nplatforms = [\"linux/amd64\", \"linux/arm/v7\"]\nignore = [\"cd104\"]\n\
             [lint.severity]\nCD101 = \"error\"\n",
        )
        .expect("valid");
        let platforms: Vec<String> = c
            .platforms
            .as_ref()
            .expect("platforms")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm/v7"]);
        assert_eq!(c.ignore, ["CD104"]);
        assert_eq!(c.severity.get("CD101"), Some(&Severity::Error));
        let s = c.settings();
        assert_eq!(s.ignore, ["CD104"]);
    }

    #[test]
    fn an_empty_file_sets_nothing() {
        let c = parse("").expect("valid");
        assert_eq!(c.platforms, None);
        assert!(c.ignore.is_empty() && c.severity.is_empty());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        assert_eq!(
            error("[lint]\nignore = []\nignored = [\"CD101\"]\n"),
            "proj/.crossdock.toml:3:1: unknown key \"lint.ignored\""
        );
        assert_eq!(
            error("platforms = [\"linux/amd64\"]\n"),
            "proj/.crossdock.toml:1:1: unknown key \"platforms\""
        );
    }

    #[test]
    fn unknown_rules_list_the_valid_ones() {
        let e = parse("[lint]\nignore = [\"CD999\"]\n").expect_err("unknown rule");
        assert_eq!(
            e.to_string(),
            "proj/.crossdock.toml:2:11: unknown rule \"CD999\" in \"lint.ignore\""
        );
        assert!(e.help.as_deref().is_some_and(|h| h.contains("CD101")));
        let e = parse("[lint.severity]\nCD998 = \"error\"\n").expect_err("unknown rule");
        assert!(e.to_string().contains("\"CD998\""), "{e}");
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(error("[lint.severity]\nCD101 = \"fatal\"\n").contains("expected \"error\""));
        assert!(error("[lint]\nplatforms = []\n").contains("at least one platform"));
        assert!(error("[lint]\nplatforms = [\"linux//x\"]\n").contains("lint.platforms"));
        assert!(error("[lint]\nignore = \"CD101\"\n").contains("array of strings"));
        assert!(error("lint = 3\n").contains("must be a table"));
        assert!(error("[lint\n").contains("invalid TOML"));
    }

    #[test]
    fn errors_render_the_line() {
        let e = parse("[lint]\nbogus = 1\n").expect_err("unknown key");
        let text = e.render(false);
        assert!(
            text.starts_with("proj/.crossdock.toml:2:1: unknown key"),
            "{text}"
        );
        assert!(text.contains("bogus = 1"), "{text}");
        assert!(text.contains("valid keys: lint.platforms"), "{text}");
    }

    #[test]
    fn the_nearest_file_wins() {
        let root = std::env::temp_dir().join(format!("crossdock-config-{}", std::process::id()));
        let deep = root.join("a").join("b");
        std::fs::create_dir_all(&deep).expect("dirs");
        std::fs::write(root.join(CONFIG_FILE_NAME), "").expect("write");
        assert_eq!(find_config(&deep), Some(root.join(CONFIG_FILE_NAME)));
        std::fs::write(root.join("a").join(CONFIG_FILE_NAME), "").expect("write");
        assert_eq!(
            find_config(&deep),
            Some(root.join("a").join(CONFIG_FILE_NAME))
        );
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn rule_ids_resolve_case_insensitively() {
        assert_eq!(resolve_rule_id("cd101"), Ok("CD101"));
        let e = resolve_rule_id("XX1").expect_err("unknown");
        assert!(e.contains("CD101") && e.contains("CD135"), "{e}");
    }
}
