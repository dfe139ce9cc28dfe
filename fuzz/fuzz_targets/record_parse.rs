//! The modification record as a verifier reads it: `record::detach` (the two header
//! fields of a delivered entity, base64, also looked for in the first part of a
//! multipart/signed message), `serde_json` into `record::Record`, and
//! `record::recipe::apply` of its header and body recipes. The same bytes are also read
//! as a bare record document. A record that parses must serialise and parse back to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::mime::Entity;
use reseal::record::{self, Record, recipe};

fn check(json: &[u8], entity: &[u8]) {
    let Ok(r) = serde_json::from_slice::<Record>(json) else {
        return;
    };
    let again: Record = serde_json::from_slice(&serde_json::to_vec(&r).expect("serialise"))
        .expect("a serialised record parses");
    assert_eq!(again, r, "record does not round-trip");
    if let Some(b) = &r.recipe.b {
        let _ = recipe::apply(entity, b);
    }
    if let Some(h) = &r.recipe.h {
        let _ = recipe::apply(entity, h);
    }
    if let Some(s) = &r.original.signature {
        let _ = s.frame.header_bytes();
        let _ = record::original_message(b"From: a@b\r\n", entity, Some(s));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = record::detach(data) {
        check(&c.json, &c.entity);
    }
    // A delivered multipart/signed message carries the record in its first part.
    if let Ok(e) = Entity::parse(data)
        && let Ok(mp) = e.multipart()
        && let Some(first) = mp.parts.first().and_then(|r| data.get(r.clone()))
        && let Ok(c) = record::detach(first)
    {
        check(&c.json, &c.entity);
    }
    check(data, b"Content-Type: text/plain\r\n\r\nhello\r\n");
    let _ = record::Frame::of(data);
    let _ = record::part_digests(data);
});
