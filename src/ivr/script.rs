//! The confirmation script's variables for one order (issue #13): what
//! `$store`, `$customer_name`, `$number`, `$items`, `$delivery_fee` and
//! `$amount` say, as prompt names.
//!
//! Numbers and money come from [`crate::media::say`] (stock prompts per
//! locale); names come from the TTS cache through `spoken`, a lookup the
//! caller supplies that answers the rendered prompt's name or `None` when
//! nothing was rendered (the part then falls back, see
//! [`super::dialplan::expand_script`]). Nothing here renders or reads files:
//! rendering happened when the order arrived.

use std::collections::HashMap;

use serde_json::Value;

use crate::media::say::{self, Locale};

/// The variables [`script_vars`] fills (besides `$amount`); a call placed
/// without an order (`orderline call`) has them all empty.
pub const VARIABLES: [&str; 5] = ["store", "customer_name", "number", "items", "delivery_fee"];

/// Most item names rendered for one order (and read out: `max_items` in
/// the dialplan is at most this useful).
pub const MAX_RENDERED_ITEMS: usize = 20;

/// What the script reads out of an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderText<'a> {
    pub locale: &'a str,
    /// The order reference; only its digits are read, one by one.
    pub number: &'a str,
    pub amount: &'a str,
    pub currency: &'a str,
    pub delivery_fee: Option<&'a str>,
    /// The cart as posted: `[{"name": "Lawn suit", "qty": 2}, …]`.
    pub items: &'a Value,
    pub store: Option<&'a str>,
    pub customer_name: Option<&'a str>,
    /// Items read before "and N more items".
    pub max_items: u32,
}

/// One cart line: quantity and name (when the merchant sent one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLine {
    pub qty: u64,
    pub name: Option<String>,
}

/// The cart's lines: `qty` a whole number (JSON number or digits; default 1,
/// lines of 0 left out), `name` a non-blank string.
pub fn item_lines(items: &Value) -> Vec<ItemLine> {
    let Some(list) = items.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|item| {
            let qty = match item.get("qty") {
                None | Some(Value::Null) => 1,
                Some(Value::Number(n)) => n.as_u64()?,
                Some(Value::String(s)) => s.trim().parse().ok()?,
                Some(_) => return None,
            };
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            (qty > 0).then_some(ItemLine { qty, name })
        })
        .collect()
}

/// The texts an order needs rendered, with the field each comes from
/// (for the reason when one cannot be spoken).
pub fn texts_to_render(
    items: &Value,
    store: Option<&str>,
    customer_name: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(s) = store {
        out.push(("store", s.to_string()));
    }
    if let Some(n) = customer_name {
        out.push(("customer_name", n.to_string()));
    }
    for line in item_lines(items).into_iter().take(MAX_RENDERED_ITEMS) {
        if let Some(name) = line.name {
            out.push(("items.name", name));
        }
    }
    out
}

/// The variables of the confirm dialplan for this order. `spoken(text)`
/// is the rendered prompt's name for a text, if there is one.
pub fn script_vars(
    o: &OrderText<'_>,
    spoken: impl Fn(&str) -> Option<String>,
) -> HashMap<String, Vec<String>> {
    let locale: Locale = o.locale.parse().unwrap_or(Locale::En);
    let mut vars = HashMap::new();
    let name = |t: Option<&str>| t.and_then(&spoken).into_iter().collect::<Vec<_>>();
    vars.insert("store".to_string(), name(o.store));
    vars.insert("customer_name".to_string(), name(o.customer_name));
    vars.insert("number".to_string(), digits(o.number));
    vars.insert("items".to_string(), items(locale, o, &spoken));
    let money = |text: &str| {
        say::amount_str(locale.code(), text, o.currency).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an amount cannot be read out; skipping it");
            Vec::new()
        })
    };
    let fee = match o.delivery_fee {
        // A fee of zero is not worth announcing: the part falls back.
        Some(f) if is_positive(f, o.currency) => money(f),
        _ => Vec::new(),
    };
    vars.insert("delivery_fee".to_string(), fee);
    vars.insert("amount".to_string(), money(o.amount));
    vars
}

/// What a voice that reads whole sentences needs to say each script part
/// as one phrase (issue #13): the dialplan's parts and the text of every
/// stock prompt of the language (`prompts/<lang>/texts.tsv`).
///
/// Joined from prompts spoken one by one, a neural voice loses its
/// prosody and the listener loses the context between words: through
/// G.711 a recogniser recovered 50 % of the English script assembled from
/// the neural prompts and 65 % when each part was rendered whole
/// (`tests/voice_intelligibility.rs`). So where the order's voice is the
/// neural one, each part is rendered whole when the order arrives and the
/// call plays that instead of the part's prompts (`@<part>` in the
/// variables, [`super::dialplan::expand_script`]); the prompt sequence stays
/// the fallback for a part that was not rendered.
#[derive(Debug, Clone, Default)]
pub struct Phrases {
    pub parts: Vec<super::dialplan::ScriptPart>,
    /// Stock prompt name → its text, for one language.
    pub texts: HashMap<String, String>,
}

impl Phrases {
    /// Each part of the script for this order as `(part, text)`; empty
    /// without texts. Numbers stay digits (`2 thousand 4 hundred 50`), which
    /// the neural voice reads as words; a part longer than the renderer
    /// takes is left to its prompts.
    pub fn texts(&self, o: &OrderText<'_>) -> Vec<(String, String)> {
        if self.texts.is_empty() {
            return Vec::new();
        }
        let vars = script_vars(o, |t| Some(t.to_string()));
        self.parts
            .iter()
            .filter_map(|p| {
                let names =
                    super::dialplan::expand_script(std::slice::from_ref(p), &vars, false).ok()?;
                let words: Vec<&str> = names
                    .iter()
                    .map(|n| self.texts.get(n).map_or(n.as_str(), String::as_str))
                    .collect();
                let text = words.join(" ");
                let fits = !text.is_empty() && text.chars().count() <= crate::media::tts::MAX_TEXT;
                fits.then(|| (p.part.clone(), text))
            })
            .collect()
    }

    /// Add `@<part>` for every part whose phrase `spoken` finds rendered.
    pub fn add_rendered(
        &self,
        vars: &mut HashMap<String, Vec<String>>,
        o: &OrderText<'_>,
        spoken: impl Fn(&str) -> Option<String>,
    ) {
        for (part, text) in self.texts(o) {
            if let Some(key) = spoken(&text) {
                vars.insert(format!("@{part}"), vec![key]);
            }
        }
    }
}

/// Whether a fee's text is more than zero of the order's currency.
fn is_positive(fee: &str, currency: &str) -> bool {
    crate::money::Currency::parse(currency)
        .and_then(|c| crate::money::Money::parse(fee, c))
        .is_ok_and(|m| !m.is_zero())
}

/// "A-1042" → `1 0 4 2`: a reference is read digit by digit, the way a
/// customer reads it back (letters and separators are left out).
pub fn digits(number: &str) -> Vec<String> {
    number
        .chars()
        .filter(char::is_ascii_digit)
        .map(|c| c.to_string())
        .collect()
}

/// `2 <lawn suit> 1 <scarf>`, at most `max_items` named lines, then
/// `and N more_items` (`more_items_one` for one). Lines whose name was not
/// rendered are counted among the rest.
fn items(
    locale: Locale,
    o: &OrderText<'_>,
    spoken: &impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut said = 0u32;
    let mut rest = 0u64;
    for line in item_lines(o.items) {
        let prompt = line.name.as_deref().and_then(spoken);
        match prompt {
            Some(p) if said < o.max_items => {
                out.extend(say::number(locale, line.qty));
                out.push(p);
                said += 1;
            }
            _ => rest += 1,
        }
    }
    if said > 0 && rest > 0 {
        out.push("and".to_string());
        out.extend(say::number(locale, rest));
        out.push(
            if rest == 1 {
                "more_items_one"
            } else {
                "more_items"
            }
            .to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text<'a>(items: &'a Value, fee: Option<&'a str>) -> OrderText<'a> {
        OrderText {
            locale: "en",
            number: "A-1042",
            amount: "2450.50",
            currency: "PKR",
            delivery_fee: fee,
            items,
            store: Some("Lawn House"),
            customer_name: None,
            max_items: 2,
        }
    }

    fn rendered(t: &str) -> Option<String> {
        (t != "Unrenderable").then(|| format!("tts_{}", t.to_lowercase().replace(' ', "_")))
    }

    #[test]
    fn number_digits_items_fee_and_amount() {
        let items = json!([
            {"name": "Lawn suit", "qty": 2},
            {"name": "Scarf", "qty": "1"},
            {"name": "Dupatta", "qty": 3},
            {"sku": "no-name"},
            {"name": "Gone", "qty": 0}
        ]);
        let v = script_vars(&text(&items, Some("150")), rendered);
        assert_eq!(v["number"], ["1", "0", "4", "2"]);
        assert_eq!(
            v["items"],
            [
                "2",
                "tts_lawn_suit",
                "1",
                "tts_scarf",
                "and",
                "2",
                "more_items"
            ]
        );
        assert_eq!(v["delivery_fee"], ["1", "hundred", "50", "pkr"]);
        assert_eq!(
            v["amount"],
            [
                "2",
                "thousand",
                "4",
                "hundred",
                "50",
                "pkr",
                "and",
                "50",
                "pkr_minor"
            ]
        );
        assert_eq!(v["store"], ["tts_lawn_house"]);
        assert!(v["customer_name"].is_empty());
    }

    #[test]
    fn no_fee_zero_fee_and_no_named_items_are_empty() {
        let items = json!([{"sku": "A1", "qty": 2}]);
        for fee in [None, Some("0"), Some("0.00")] {
            let v = script_vars(&text(&items, fee), rendered);
            assert!(v["delivery_fee"].is_empty(), "{fee:?}");
            assert!(v["items"].is_empty());
        }
        let one_more = json!([{"name": "A", "qty": 1}, {"name": "B"}, {"name": "Unrenderable"}]);
        let v = script_vars(&text(&one_more, None), rendered);
        assert_eq!(
            v["items"],
            ["1", "tts_a", "1", "tts_b", "and", "1", "more_items_one"]
        );
    }

    #[test]
    fn quantities_and_fees_follow_the_locale() {
        let items = json!([{"name": "Robe", "qty": 71}]);
        let mut t = text(&items, Some("91"));
        t.locale = "fr";
        t.currency = "EUR";
        t.amount = "1000";
        let v = script_vars(&t, rendered);
        assert_eq!(v["items"], ["71", "tts_robe"]);
        assert_eq!(v["delivery_fee"], ["91", "eur"]);
        assert_eq!(v["amount"], ["thousand", "eur"]);
        t.locale = "ar";
        t.currency = "SAR";
        t.amount = "2000";
        t.delivery_fee = Some("2");
        let v = script_vars(&t, rendered);
        assert_eq!(v["delivery_fee"], ["sar_two"]);
        assert_eq!(v["amount"], ["thousand_two", "sar"]);
    }

    #[test]
    fn texts_to_render_name_their_fields() {
        let items = json!([{"name": "Lawn suit"}, {"sku": "x"}]);
        assert_eq!(
            texts_to_render(&items, Some("Lawn House"), Some("Ayesha")),
            vec![
                ("store", "Lawn House".to_string()),
                ("customer_name", "Ayesha".to_string()),
                ("items.name", "Lawn suit".to_string())
            ]
        );
    }

    /// Per-locale tables (issue #13): what the script says for numbers,
    /// quantities, fees and amounts, and that every prompt it names ships in
    /// that locale. French 70/91 and Urdu 1-99 are whole prompts (irregular
    /// words: soixante-dix, quatre-vingt-onze; سینتیس); Arabic takes the
    /// dual instead of the number and the plural after 3-10.
    /// Each part as one sentence from the stock texts, the names and the
    /// numbers as digits; `@part` only for the parts found rendered.
    #[test]
    fn phrases_are_the_parts_as_sentences() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/confirm.toml");
        let plan = crate::ivr::ConfirmPlan::load(&path).expect("dialplan");
        let texts = crate::media::prompt::read_texts(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
            "en",
        );
        let items = serde_json::json!([{"name": "Scarf", "qty": 2}]);
        let o = OrderText {
            locale: "en",
            number: "A-42",
            amount: "2450.50",
            currency: "PKR",
            delivery_fee: Some("150"),
            items: &items,
            store: Some("Lawn House"),
            customer_name: None,
            max_items: 3,
        };
        let phrases = Phrases {
            parts: plan.script.clone(),
            texts,
        };
        let got = phrases.texts(&o);
        let want = [
            ("greeting", "Hello this is a call from Lawn House"),
            ("number", "about your order number 4 2"),
            ("items", "You ordered 2 Scarf"),
            (
                "total",
                "The total, including delivery of 1 hundred 50 rupees is 2 thousand 4 hundred \
                 50 rupees and 50 paisa to be paid in cash on delivery.",
            ),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        assert_eq!(got, want);
        let mut vars = HashMap::new();
        phrases.add_rendered(&mut vars, &o, |t| {
            t.starts_with("about").then(|| "tts_n".to_string())
        });
        assert_eq!(vars.len(), 1);
        assert_eq!(vars["@number"], ["tts_n"]);
        assert!(
            Phrases::default().texts(&o).is_empty(),
            "no texts, no phrases"
        );
    }

    #[test]
    fn per_locale_tables_of_prompt_sequences() {
        type Row = (
            &'static str,
            &'static str,
            u64,
            &'static str,
            &'static str,
            &'static str,
        );
        // (locale, currency, qty, fee, amount, expected "items | fee | amount")
        let table: [Row; 12] = [
            (
                "en",
                "PKR",
                2,
                "150",
                "2450.50",
                "2 x | 1 hundred 50 pkr | 2 thousand 4 hundred 50 pkr and 50 pkr_minor",
            ),
            (
                "en",
                "USD",
                1,
                "0.99",
                "1",
                "1 x | 99 usd_minor | 1 usd_one",
            ),
            (
                "fr",
                "EUR",
                70,
                "91",
                "1091",
                "70 x | 91 eur | thousand 91 eur",
            ),
            (
                "fr",
                "EUR",
                71,
                "1",
                "180.70",
                "71 x | 1 eur_one | hundred 80 eur and 70 eur_minor",
            ),
            (
                "fr",
                "MAD",
                91,
                "2",
                "3000000",
                "91 x | 2 mad | 3 millions mad_of",
            ),
            (
                "ur",
                "PKR",
                37,
                "99",
                "245000.50",
                "37 x | 99 pkr | 2 lakh 45 thousand pkr and 50 pkr_minor",
            ),
            (
                "ur",
                "PKR",
                73,
                "1",
                "1999",
                "73 x | 1 pkr_one | 1 thousand 9 hundred 99 pkr",
            ),
            (
                "ur",
                "PKR",
                1,
                "250",
                "10000000",
                "1 x | 2 hundred 50 pkr | 1 crore pkr",
            ),
            (
                "ar",
                "SAR",
                2,
                "2",
                "2000",
                "2 x | sar_two | thousand_two sar",
            ),
            (
                "ar",
                "SAR",
                5,
                "5",
                "3000",
                "5 x | 5 sar_few | 3 thousands sar",
            ),
            (
                "ar",
                "AED",
                11,
                "1",
                "2450",
                "11 x | aed_one | thousand_two and 400 and 50 aed",
            ),
            (
                "ar",
                "MAD",
                3,
                "25.02",
                "11000",
                "3 x | 25 mad and mad_minor_two | 11 thousand mad",
            ),
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        for (locale, currency, qty, fee, amount, want) in table {
            let items = serde_json::json!([{"name": "x", "qty": qty}]);
            let o = OrderText {
                locale,
                number: "70-91",
                amount,
                currency,
                delivery_fee: Some(fee),
                items: &items,
                store: None,
                customer_name: None,
                max_items: 3,
            };
            let v = script_vars(&o, |t| Some(t.to_string()));
            let got = format!(
                "{} | {} | {}",
                v["items"].join(" "),
                v["delivery_fee"].join(" "),
                v["amount"].join(" ")
            );
            assert_eq!(got, want, "{locale} {currency}");
            assert_eq!(v["number"], ["7", "0", "9", "1"]);
            let names = v["items"]
                .iter()
                .chain(&v["delivery_fee"])
                .chain(&v["amount"]);
            for name in names.filter(|n| *n != "x") {
                let file = root.join(locale).join(format!("{name}.wav"));
                assert!(file.is_file(), "{} missing", file.display());
            }
        }
        for locale in ["en", "fr", "ar", "ur"] {
            for name in [
                "hello",
                "calling_from",
                "about_order_number",
                "you_ordered",
                "more_items",
                "more_items_one",
                "total_including_delivery",
                "total_is",
                "cash_on_delivery",
                "menu_script",
                "operator_hold",
                "operator_callback",
                "and",
            ] {
                let file = root.join(locale).join(format!("{name}.wav"));
                assert!(file.is_file(), "{} missing", file.display());
            }
        }
    }
}
