//! Validation of `POST /processing-terminals/{id}/secure-tokens` bodies.
//!
//! Only the plain-text keyed card source is simulated: that is the shape
//! billingd (and Payroc's own functional tests) use to save a card.

use serde_json::Value;

use super::super::card;
use super::super::problem::Problem;
use super::super::validate::{Checker, parse_object};
use super::store::NewSecureToken;

const MIT_AGREEMENTS: &[&str] = &["unscheduled", "recurring", "installment"];
const KEYED: &str = "source.cardDetails.keyedData";

pub fn parse(body: &[u8], processing_terminal_id: &str) -> Result<NewSecureToken, Problem> {
    let root = parse_object(body)?;
    let mut c = Checker::default();
    let secure_token_id = c.sized_string(&root, "", "secureTokenId", false, (1, 200));
    let mit_agreement = c.one_of(&root, "", "mitAgreement", false, MIT_AGREEMENTS);
    let card = parse_card(&mut c, &root);
    c.finish()?;
    let card = card.expect("card is present when validation passed");
    Ok(NewSecureToken {
        secure_token_id: secure_token_id.map(str::to_owned),
        processing_terminal_id: processing_terminal_id.to_owned(),
        mit_agreement: mit_agreement.map(str::to_owned),
        cardholder_name: card.cardholder_name,
        masked_number: card::mask(&card.number),
        expiry_date: card.expiry,
        card_type: card::brand(&card.number),
        cvv_given: card.cvv_given,
        trigger: card::card_trigger(&card.number),
    })
}

struct KeyedCard {
    number: String,
    expiry: String,
    cvv_given: bool,
    cardholder_name: Option<String>,
}

fn parse_card(c: &mut Checker, root: &Value) -> Option<KeyedCard> {
    let source = c.object(root, "", "source", true)?;
    let source_type = c.string(source, "source", "type", true)?;
    if source_type != "card" {
        c.fail(
            "source.type",
            format!("source.type {source_type:?} is not supported by simulator (only \"card\")"),
        );
        return None;
    }
    let details = c.object(source, "source", "cardDetails", true)?;
    let cardholder_name = c.string(details, "source.cardDetails", "cardholderName", false);
    let entry = c.string(details, "source.cardDetails", "entryMethod", true)?;
    if entry != "keyed" {
        c.fail(
            "source.cardDetails.entryMethod",
            "only \"keyed\" is supported by simulator",
        );
        return None;
    }
    let keyed = c.object(details, "source.cardDetails", "keyedData", true)?;
    let format = c.string(keyed, KEYED, "dataFormat", true);
    if format.is_some_and(|f| f != "plainText") {
        c.fail(
            &format!("{KEYED}.dataFormat"),
            "only \"plainText\" is supported by simulator",
        );
    }
    let number = c.string(keyed, KEYED, "cardNumber", true);
    if let Some(n) = number {
        // Trigger cards are exempt from Luhn: one of them is not Luhn-valid.
        let luhn_ok = card::is_luhn_valid(n) || card::card_trigger(n).is_some();
        if !(12..=19).contains(&n.len()) || !luhn_ok {
            // Deliberately does not echo the number: it must never reach logs.
            c.fail(
                &format!("{KEYED}.cardNumber"),
                "cardNumber must be 12 to 19 digits and pass the Luhn check",
            );
        }
    }
    let expiry = c.string(keyed, KEYED, "expiryDate", true);
    if expiry.is_some_and(|e| !card::is_valid_expiry(e)) {
        c.fail(
            &format!("{KEYED}.expiryDate"),
            "expiryDate must be MMYY with a month from 01 to 12",
        );
    }
    let cvv = c.string(keyed, KEYED, "cvv", false);
    if cvv.is_some_and(|v| !(3..=4).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit())) {
        c.fail(&format!("{KEYED}.cvv"), "cvv must be 3 or 4 digits");
    }
    if c.has_errors() {
        return None;
    }
    Some(KeyedCard {
        number: number?.to_owned(),
        expiry: expiry?.to_owned(),
        cvv_given: cvv.is_some(),
        cardholder_name: cardholder_name.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(number: &str, expiry: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "source": {"type": "card", "cardDetails": {"entryMethod": "keyed",
                "keyedData": {"dataFormat": "plainText", "cardNumber": number,
                              "expiryDate": expiry, "cvv": "123"},
                "cardholderName": "Sally Test"}}
        }))
        .unwrap()
    }

    #[test]
    fn accepts_valid_card() {
        let t = parse(&body("4539858876047062", "1230"), "1234001").unwrap();
        assert_eq!(t.masked_number, "453985******7062");
        assert!(t.cvv_given);
        assert_eq!(t.card_type, "Visa");
    }

    #[test]
    fn names_bad_fields() {
        let err = parse(&body("4539858876047063", "1330"), "t").unwrap_err();
        let params: Vec<_> = err.errors.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(
            params,
            [
                "source.cardDetails.keyedData.cardNumber",
                "source.cardDetails.keyedData.expiryDate"
            ]
        );
        assert!(!err.errors[0].detail.contains("4539"));
    }
}
