//! The layering of ARCHITECTURE.md, checked: the CLI (`commands/`) and the HTTP server
//! (`server/`) both sit on the application layer (`app/`) and never import each other,
//! except the one line of `firefly serve` that starts the server (issue 11).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Every `(file, line)` under `dir` that mentions `needle`.
fn mentions(dir: &str, needle: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let files = rust_files(&root);
    assert!(files.len() > 3, "expected source files under {dir}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (i, line) in text.lines().enumerate() {
            if line.contains(needle) {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn issue_11_the_server_does_not_import_the_cli() {
    let found = mentions("src/server", "crate::commands");
    assert!(found.is_empty(), "server/ uses the CLI: {found:#?}");
}

#[test]
fn issue_11_the_cli_imports_the_server_only_to_start_it() {
    let found = mentions("src/commands", "crate::server");
    assert_eq!(
        found.len(),
        1,
        "commands/ uses the server beyond `serve`: {found:#?}"
    );
    assert!(found[0].contains("commands/serve.rs"), "{found:#?}");
}

#[test]
fn issue_11_the_application_layer_knows_neither_edge() {
    for edge in ["crate::commands", "crate::server", "axum", "clap"] {
        let found = mentions("src/app", edge);
        assert!(found.is_empty(), "app/ depends on {edge}: {found:#?}");
    }
}
