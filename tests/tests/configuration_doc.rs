//! `docs/CONFIGURATION.md` names every `AZURE_COSMOS_*` variable the core reads, with its origin
//! (official, documented only, or Sextant's own) and, for an official one, the file it comes from.

use sextant_core::options::environment::{VariableOrigin, VARIABLES};

#[test]
fn the_configuration_doc_lists_every_variable_and_its_source() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/CONFIGURATION.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for var in VARIABLES {
        let tag = match var.origin {
            VariableOrigin::Official(_) => "(O)",
            VariableOrigin::OfficialDocs(_) => "(D)",
            _ => "(S)",
        };
        assert!(
            doc.contains(&format!("`{}` {tag}", var.name)),
            "docs/CONFIGURATION.md lacks `{}` {tag}",
            var.name
        );
        if let Some(source) = var.origin.source() {
            assert!(
                doc.contains(source),
                "docs/CONFIGURATION.md does not name {source} (source of {})",
                var.name
            );
        }
    }
}
