//! (being written)
use crate::lint::{Category, Context, Finding, Rule, Severity};

/// (being written)
pub static CD121: Rule = Rule {
    id: "CD121",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD121.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD122: Rule = Rule {
    id: "CD122",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD122.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD123: Rule = Rule {
    id: "CD123",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD123.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD124: Rule = Rule {
    id: "CD124",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD124.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};
