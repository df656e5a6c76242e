//! (being written)
use crate::lint::{Category, Context, Finding, Rule, Severity};

/// (being written)
pub static CD131: Rule = Rule {
    id: "CD131",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD131.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD132: Rule = Rule {
    id: "CD132",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD132.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD133: Rule = Rule {
    id: "CD133",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD133.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD134: Rule = Rule {
    id: "CD134",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD134.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};

/// (being written)
pub static CD135: Rule = Rule {
    id: "CD135",
    name: "todo",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "todo",
    doc: include_str!("../../../../docs/rules/CD135.md"),
    check: |_: &Context<'_>, _: &mut Vec<Finding>| {},
};
