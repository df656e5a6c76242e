//! The rules, one module per group; each module declares its [`Rule`]s as constants,
//! with their checks and tests. [`RULES`] is the one registry.

use super::Rule;

mod arg_traps;
mod cross_hazards;
mod emulation;
mod wrong_arch;

/// Every rule, in id order.
pub static RULES: &[&Rule] = &[
    &emulation::CD101,
    &emulation::CD102,
    &emulation::CD103,
    &emulation::CD104,
    &wrong_arch::CD111,
    &wrong_arch::CD112,
    &wrong_arch::CD113,
    &wrong_arch::CD114,
    &arg_traps::CD121,
    &arg_traps::CD122,
    &arg_traps::CD123,
    &arg_traps::CD124,
    &cross_hazards::CD131,
    &cross_hazards::CD132,
    &cross_hazards::CD133,
    &cross_hazards::CD134,
    &cross_hazards::CD135,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_documented() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted, "rule ids must be unique and in order");
        for r in RULES {
            assert!(
                r.doc.starts_with(&format!("# {}", r.id)),
                "{} doc page must start with its id",
                r.id
            );
            for section in ["## Why", "## Bad", "## Good", "## Fix", "## Ignore"] {
                assert!(r.doc.contains(section), "{} doc page lacks {section}", r.id);
            }
        }
    }

    #[test]
    fn every_doc_page_belongs_to_a_rule() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules");
        for entry in std::fs::read_dir(dir).expect("docs/rules exists") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .to_string();
            if name == "README.md" {
                continue;
            }
            let id = name.trim_end_matches(".md");
            assert!(
                RULES.iter().any(|r| r.id == id),
                "docs/rules/{name} has no rule"
            );
        }
    }
}
