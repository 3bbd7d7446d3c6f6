//! Agency ids: any input is either kept or refused with a reason, never a panic.

use lienthong_protocol::OrganId;
use lienthong_protocol::organ_id::{LevelOne, OrganIdForm};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_text_is_kept_or_refused_without_panic(text in any::<String>()) {
        if let Ok(id) = OrganId::parse(&text) {
            prop_assert_eq!(id.as_str(), text.trim());
            let _ = (id.form(), id.level_one(), id.level_two(), id.level_three(), id.level_four(), id.parent());
        }
    }

    #[test]
    fn regular_ids_expose_their_levels(
        d in 0u16..1000, c in 0u8..100, b in 0u8..100, letter in proptest::char::range('A', 'K'), n in 0u8..100,
    ) {
        let id = OrganId::parse(&format!("{d:03}.{c:02}.{b:02}.{letter}{n:02}")).expect("valid");
        prop_assert_eq!(id.form(), OrganIdForm::Regular);
        prop_assert_eq!(id.level_one(), Some(LevelOne { letter, number: n }));
        prop_assert_eq!(id.level_two(), (b != 0).then_some(b));
        prop_assert_eq!(id.level_three(), (c != 0).then_some(c));
        prop_assert_eq!(id.level_four(), (d != 0).then_some(d));
        if let Some(parent) = id.parent() {
            prop_assert!(parent.is_regular());
            prop_assert_eq!(parent.level_one(), id.level_one());
        }
    }
}
