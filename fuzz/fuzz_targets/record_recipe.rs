//! Recipes (DKIM2-style `c`/`d` steps) round-trip: for any two texts, the recipe that
//! `recipe::diff` makes from the new one to the old one rebuilds the old one exactly
//! with `recipe::apply`, and survives its JSON form. The input is split in the middle:
//! the first half is the delivered text, the second the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::record::recipe::{self, Step};

fuzz_target!(|data: &[u8]| {
    let (new, old) = data.split_at(data.len() / 2);
    let Some(steps) = recipe::diff(new, old) else {
        // Only a literal that is not UTF-8 may make a recipe impossible.
        assert!(
            std::str::from_utf8(old).is_err(),
            "diff gave up on UTF-8 text"
        );
        return;
    };
    assert_eq!(
        recipe::apply(new, &steps).as_deref(),
        Some(old),
        "recipe does not rebuild the original"
    );
    let json = serde_json::to_vec(&steps).expect("serialise");
    let back: Vec<Step> = serde_json::from_slice(&json).expect("parse back");
    assert_eq!(back, steps);
    // Arbitrary steps read from the data never panic.
    if let Ok(s) = serde_json::from_slice::<Vec<Step>>(data) {
        let _ = recipe::apply(new, &s);
    }
});
