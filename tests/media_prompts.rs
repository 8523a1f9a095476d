//! The committed prompt inventory: every name the confirm and payment flows
//! and the amount reader use exists for every locale, in that locale's own
//! directory (no silent English fallback), and loads as sane 8 kHz audio.

use std::path::Path;

use orderline::media::say::{self, Currency, Locale};
use orderline::media::{PlayItem, PromptCache};

const FLOW: &[&str] = &[
    "greeting",
    "order_total",
    "press_1_confirm_2_cancel",
    "invalid_key",
    "confirmed_thanks",
    "cancelled_thanks",
    "no_input",
    "goodbye",
    "callback_no_order",
    "enter_card_number",
    "enter_expiry",
    "enter_cvc",
    "enter_postal_code",
    "press_1_confirm_2_reenter",
    "payment_approved",
    "payment_declined",
    "payment_cancelled",
    "amount_to_pay",
];

fn prompts_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts"))
}

#[test]
fn every_flow_and_number_prompt_exists_per_locale() {
    let cache = PromptCache::new(prompts_dir());
    for loc in Locale::ALL {
        let mut names: Vec<String> = FLOW.iter().map(|s| s.to_string()).collect();
        names.extend(say::vocabulary(loc));
        for name in names {
            let file = prompts_dir().join(loc.code()).join(format!("{name}.wav"));
            assert!(file.is_file(), "missing {}", file.display());
            let s = cache
                .get(loc.code(), &name)
                .unwrap_or_else(|e| panic!("{e}"));
            let secs = s.len() as f64 / 8000.0;
            assert!(
                (0.1..8.0).contains(&secs),
                "{}: {secs:.2} s",
                file.display()
            );
            let peak = s.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
            assert!(
                peak > 3000,
                "{}: nearly silent (peak {peak})",
                file.display()
            );
        }
    }
}

#[test]
fn an_order_total_plays_as_one_sequence() {
    let cache = PromptCache::new(prompts_dir());
    for (loc, amount, cur) in [
        ("en", "2450.50", "PKR"),
        ("fr", "1999.99", "EUR"),
        ("ar", "2450", "SAR"),
        ("ur", "245000", "PKR"),
        // feminine numbers, scale-3 and scale-0 currencies, "d'euros"
        ("ar", "2005.13", "PKR"),
        ("ar", "7.250", "KWD"),
        ("fr", "21.81", "INR"),
        ("fr", "3000000", "EUR"),
        ("fr", "1500", "XOF"),
        ("ur", "1.500", "OMR"),
        ("en", "12.345", "TND"),
    ] {
        let mut names = vec!["order_total".to_string()];
        names.extend(say::amount_str(loc, amount, cur).unwrap());
        let items = cache.items(loc, &names).unwrap();
        let total: usize = items.iter().map(PlayItem::samples).sum();
        assert!(total > 8000, "{loc}: {total} samples");
    }
    assert_eq!(Currency::ALL.len(), 11);
}
