//! (being written)
use crate::lint::{Category, Context, Finding, Rule, Severity};

/// (being written)
pub static CD111: Rule = Rule {
    id: "CD111",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD111.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD112: Rule = Rule {
    id: "CD112",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD112.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD113: Rule = Rule {
    id: "CD113",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD113.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD114: Rule = Rule {
    id: "CD114",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD114.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};
