//! The MIME tree (`mime::tree::parse`) and the text-part editing that services do on it.
//!
//! Beyond "no panic", this checks the property the adaptation services rely on: editing
//! one text part (here: appending a disclaimer, as the disclaimer service does) keeps
//! the rest of the tree as it was, and the edited part decodes back to exactly the new
//! text. A failure means a service edit could change the message's structure (MIME
//! injection through re-encoding) or its text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::mime::{self, tree};

const APPENDED: &str = "\r\n-- \r\nDisclaimer: fuzz";

fn paths(p: &tree::Part) -> Vec<String> {
    p.nodes().iter().map(|n| n.path.clone()).collect()
}

fuzz_target!(|data: &[u8]| {
    // The pipeline hands the tree CRLF-canonical bytes.
    let buf = mime::to_crlf(data);
    let Ok(root) = tree::parse(&buf) else {
        return;
    };
    for n in root.nodes() {
        assert!(n.range.end <= buf.len() && n.header.end <= n.range.end);
        assert!(n.body.start <= n.body.end);
        let _ = tree::render_content_type(&n.content_type);
    }
    let before = paths(&root);
    // Only the first few text leaves: each edit re-parses the whole tree.
    // Section paths are not unique (a multipart root and its first child are both "1"),
    // so parts are matched by their place in `nodes()`.
    let nodes = root.nodes();
    let edits = nodes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_text("plain"))
        .take(4);
    for (index, leaf) in edits {
        let Some(text) = tree::decode_text(&buf, leaf) else {
            continue;
        };
        let new_text = format!("{}{APPENDED}", text.text);
        let Some(bytes) = tree::encode_text_part(&buf, leaf, &text, &new_text) else {
            continue;
        };
        let edited = tree::apply_splices(
            &buf,
            &[tree::Splice {
                range: leaf.range.clone(),
                bytes,
            }],
        );
        let again = tree::parse(&edited).unwrap_or_else(|e| {
            panic!(
                "editing part {} made the message unparsable: {e}",
                leaf.path
            )
        });
        assert_eq!(
            paths(&again),
            before,
            "editing part {} changed the MIME structure",
            leaf.path
        );
        let again_nodes = again.nodes();
        let part = again_nodes.get(index).expect("same structure");
        let decoded = tree::decode_text(&edited, part)
            .unwrap_or_else(|| panic!("edited part {} no longer decodes", leaf.path));
        let want = String::from_utf8_lossy(&mime::to_crlf(new_text.as_bytes())).into_owned();
        assert_eq!(
            decoded.text, want,
            "edited part {} decodes to other text",
            leaf.path
        );
    }
});
