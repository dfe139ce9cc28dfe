#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The layout docs/architecture.md describes ("Layers: who may import whom") is the one
//! in the code: the module import graph, drawn from the sources by
//! scripts/import-graph.py, has no cycle and no import against the layers, at the
//! top-level modules and one level down.

use std::process::Command;

fn graph(depth: &str) -> (bool, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg(format!("{root}/scripts/import-graph.py"))
        .args(["--depth", depth])
        .current_dir(root)
        .output()
        .expect("python3 runs scripts/import-graph.py");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn imports_run_one_way() {
    for depth in ["1", "2"] {
        let (ok, summary) = graph(depth);
        assert!(ok, "depth {depth}:\n{summary}");
        assert!(
            summary.contains(" 0 cycle(s), 0 upward import(s)"),
            "depth {depth}:\n{summary}"
        );
    }
}

/// The checker itself finds a cycle: a copy of the tree with one import added against
/// the layers fails.
#[test]
fn the_checker_sees_a_cycle() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("keystore")).unwrap();
    for sub in ["src", "keystore/src", "scripts"] {
        let status = Command::new("cp")
            .args(["-r", &format!("{root}/{sub}")])
            .arg(dir.path().join(sub))
            .status()
            .unwrap();
        assert!(status.success(), "cp {sub}");
    }
    // The MIME leaf importing a stage: a cycle (adapt uses mime) and an upward import.
    let tree = dir.path().join("src/mime/tree.rs");
    let mut text = std::fs::read_to_string(&tree).unwrap();
    text.push_str("\n#[allow(unused_imports)]\nuse crate::adapt::Change;\n");
    std::fs::write(&tree, text).unwrap();
    let out = Command::new("python3")
        .arg(dir.path().join("scripts/import-graph.py"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{summary}");
    assert!(summary.contains("# cycle: "), "{summary}");
    assert!(summary.contains("# upward: mime -> adapt"), "{summary}");
}
