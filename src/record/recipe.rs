//! Recipes: how to rebuild an earlier version of a byte string from the current one,
//! in the step vocabulary of DKIM2's Message-Instance recipes
//! (draft-ietf-dkim-dkim2-spec, draft-gondwana-dkim2-message-instance-00 §2.2):
//! `{"c":[start,end]}` copies lines `start..=end` (1-based, top-down) of the current
//! version, `{"d":["line", ...]}` emits literal lines.
//!
//! Lines are the pieces between CRLFs: a text is `lines.join("\r\n")`, so a text ending
//! in CRLF has an empty last line. That makes the rebuild exact, byte for byte, for any
//! input, including a missing final CRLF.

use serde::{Deserialize, Serialize};

/// One recipe step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Copy { c: [usize; 2] },
    Data { d: Vec<String> },
}

/// Most steps and literal bytes a recipe may hold when read from a message.
pub const MAX_STEPS: usize = 100_000;

/// Splits on CRLF (see the module docs).
pub fn lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < text.len() {
        if text.get(i) == Some(&b'\r') && text.get(i + 1) == Some(&b'\n') {
            out.push(text.get(start..i).unwrap_or_default());
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push(text.get(start..).unwrap_or_default());
    out
}

/// The recipe that rebuilds `old` from `new`. Literal lines travel as JSON strings, so
/// a literal that is not UTF-8 makes the result `None` (not reconstructible) rather than
/// a lossy copy.
pub fn diff(new: &[u8], old: &[u8]) -> Option<Vec<Step>> {
    let n = lines(new);
    let o = lines(old);
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &n, &o);
    let mut steps: Vec<Step> = Vec::new();
    for op in ops {
        match op {
            similar::DiffOp::Equal { old_index, len, .. } => {
                // `old_index` indexes the first slice we passed: `new`.
                let (s, e) = (old_index + 1, old_index + len);
                match steps.last_mut() {
                    Some(Step::Copy { c }) if c[1] + 1 == s => c[1] = e,
                    _ => steps.push(Step::Copy { c: [s, e] }),
                }
            }
            similar::DiffOp::Delete { .. } => {}
            similar::DiffOp::Insert {
                new_index, new_len, ..
            }
            | similar::DiffOp::Replace {
                new_index, new_len, ..
            } => {
                let mut lits = Vec::with_capacity(new_len);
                for l in o.get(new_index..new_index + new_len)? {
                    lits.push(String::from_utf8(l.to_vec()).ok()?);
                }
                match steps.last_mut() {
                    Some(Step::Data { d }) => d.extend(lits),
                    _ => steps.push(Step::Data { d: lits }),
                }
            }
        }
    }
    Some(steps)
}

/// Applies `steps` to `current`; `None` if a step is out of range or the recipe is
/// too large.
pub fn apply(current: &[u8], steps: &[Step]) -> Option<Vec<u8>> {
    if steps.len() > MAX_STEPS {
        return None;
    }
    let cur = lines(current);
    enum Piece<'a> {
        Line(&'a [u8]),
        Lit(&'a str),
    }
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    for s in steps {
        match s {
            Step::Copy { c: [a, b] } => {
                if *a == 0 || a > b || *b > cur.len() {
                    return None;
                }
                for l in cur.get(a - 1..*b)? {
                    pieces.push(Piece::Line(l));
                }
            }
            Step::Data { d } => {
                for l in d {
                    pieces.push(Piece::Lit(l.as_str()));
                }
            }
        }
    }
    let mut result = Vec::with_capacity(current.len());
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            result.extend_from_slice(b"\r\n");
        }
        match p {
            Piece::Line(l) => result.extend_from_slice(l),
            Piece::Lit(l) => result.extend_from_slice(l.as_bytes()),
        }
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(new: &[u8], old: &[u8]) {
        let r = diff(new, old).unwrap();
        assert_eq!(apply(new, &r).unwrap(), old, "recipe {r:?}");
    }

    #[test]
    fn rebuilds_exactly() {
        round(b"a\r\nb\r\nDISCLAIMER\r\n", b"a\r\nb\r\n");
        round(b"a\r\nb", b"a\r\nb\r\n");
        round(b"", b"x\r\ny");
        round(b"x\r\ny", b"");
        round(
            b"Subject: [Ext] hi\r\nTo: a\r\n",
            b"Subject: hi\r\nTo: a\r\n",
        );
        round(b"same\r\n", b"same\r\n");
    }

    #[test]
    fn copies_are_merged_and_literals_are_small() {
        let old: Vec<u8> = (0..1000)
            .flat_map(|i| format!("line {i}\r\n").into_bytes())
            .collect();
        let mut new = old.clone();
        new.extend_from_slice(b"\r\n-- \r\nDisclaimer\r\n");
        let r = diff(&new, &old).unwrap();
        assert!(
            r.len() <= 2 && r.iter().all(|s| matches!(s, Step::Copy { .. })),
            "{r:?}"
        );
        assert_eq!(apply(&new, &r).unwrap(), old);
    }

    #[test]
    fn bad_recipes_fail_cleanly() {
        assert!(apply(b"a\r\nb", &[Step::Copy { c: [0, 1] }]).is_none());
        assert!(apply(b"a\r\nb", &[Step::Copy { c: [2, 9] }]).is_none());
        assert!(apply(b"a\r\nb", &[Step::Copy { c: [2, 1] }]).is_none());
        assert!(
            diff(b"a", b"\xff\xfe").is_none(),
            "non-UTF-8 literal: not reconstructible"
        );
    }

    #[test]
    fn json_is_dkim2_shaped() {
        let s = serde_json::to_string(&vec![
            Step::Copy { c: [1, 3] },
            Step::Data {
                d: vec!["x".into()],
            },
        ])
        .unwrap();
        assert_eq!(s, r#"[{"c":[1,3]},{"d":["x"]}]"#);
    }
}
