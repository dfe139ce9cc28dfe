//! The MIME entity layer: `Entity::parse` and everything the unwrap code asks of an
//! entity (fields, Content-Type, transfer decoding, multipart splitting), recursively,
//! on the raw input and on its CRLF-canonical form. Checks that every range the parser
//! hands out lies inside the input, and that base64 and quoted-printable round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::mime::{self, Entity};

fn walk(buf: &[u8], depth: usize) {
    let Ok(e) = Entity::parse(buf) else {
        return;
    };
    assert!(e.header_end() <= e.body_offset() && e.body_offset() <= buf.len());
    for f in e.fields() {
        assert!(f.raw.end <= buf.len() && f.name.end <= f.value.start && f.value.end <= f.raw.end);
        let _ = e.field_name(f);
        let _ = mime::unfold(e.field_value(f));
    }
    let _ = e.get("Content-Type");
    let _ = reseal::mime::address::single_from(&e);
    let _ = reseal::mime::compose::content_entity(&e);
    let _ = e.transfer_encoding();
    let _ = e.decoded_body();
    let Ok(ct) = e.content_type() else {
        return;
    };
    let _ = ct.param("boundary");
    if ct.is_multipart()
        && depth < 8
        && let Ok(mp) = e.multipart()
    {
        assert!(mp.preamble.end <= buf.len() && mp.epilogue.end <= buf.len());
        for r in mp.parts {
            assert!(
                r.start <= r.end && r.end <= buf.len(),
                "part {r:?} outside the entity"
            );
            if let Some(p) = buf.get(r) {
                walk(p, depth + 1);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    walk(data, 0);
    let crlf = mime::to_crlf(data);
    walk(&crlf, 0);
    let _ = mime::address::addr_specs(data);
    // Transfer encodings round-trip (RFC 2045 §6.7, §6.8).
    let b64 = mime::encode_base64_lines(data);
    assert_eq!(mime::decode_base64(&b64).ok().as_deref(), Some(data));
    let _ = mime::decode_base64(data);
    let _ = mime::decode_qp(data);
});
