//! The catalogue's readers of signed application data: model cards from a target's `custom`
//! field (`ModelCard::from_custom`, then the evaluation settings and schema a card implies),
//! aliases documents, the catalogue built from a listing of such targets, and card numbers.
//! Input: a selector byte, then JSON (a card, or an aliases document).
#![no_main]

use std::collections::BTreeMap;

use edge_registry::catalogue::ModelCard;
use edge_registry::catalogue::{card_number, without_floats, Aliases, Catalogue};
use edge_registry::tuf::canonical::to_canonical;
use edge_registry::tuf::TargetInfo;
use edge_registry_fuzz::Input;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let selector = input.u8();
    let body = input.rest();
    let name = ["iris", "digits", "team-a-x", "a"][usize::from(selector & 3)];
    let version = ["1", "2", "10", "1.0"][usize::from((selector >> 2) & 3)];
    let model_path = format!("models/{name}/{version}/model.onnx");
    let aliases_path = format!("models/{name}/aliases.json");

    if let Ok(doc) = Aliases::from_bytes(&aliases_path, body) {
        // A document that parses writes back to bytes that parse to the same document.
        let again = Aliases::from_bytes(&aliases_path, &doc.to_bytes());
        assert_eq!(again.as_ref(), Ok(&doc));
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let _ = card_number(&value);
    // What the publisher signs: no floats, so canonical JSON always exists.
    let signed = without_floats(value.clone());
    assert!(to_canonical(&signed).is_ok(), "without_floats left a float");

    let custom = if selector & 0x10 != 0 { signed } else { value };
    if let Ok(card) = ModelCard::from_custom(&model_path, Some(&custom)) {
        let _ = card.task();
        let _ = card.eval_config();
        let _ = card.declared_schema();
        let back = serde_json::to_value(&card).map(|v| ModelCard::from_value(&v));
        assert!(
            matches!(back, Ok(Ok(_))),
            "a card does not round-trip: {back:?}"
        );
    }
    let _ = ModelCard::from_value(&custom);

    // A catalogue from a listing that holds this target and its aliases document.
    let targets = vec![
        TargetInfo {
            path: model_path.clone(),
            length: body.len() as u64,
            hashes: BTreeMap::from([("sha256".to_string(), "00".repeat(32))]),
            custom: Some(custom.clone()),
            role: "targets".into(),
        },
        TargetInfo {
            path: aliases_path.clone(),
            length: 10,
            hashes: BTreeMap::from([("sha256".to_string(), "11".repeat(32))]),
            custom: (selector & 0x20 != 0).then(|| custom.clone()),
            role: "targets".into(),
        },
    ];
    let mut catalogue = Catalogue::from_targets(targets.iter().map(|t| edge_registry::catalogue::SignedFile {
        target: t.clone(),
        url: String::new(),
    }));
    if let Ok(doc) = Aliases::from_bytes(&aliases_path, body) {
        catalogue.set_aliases(doc);
    }
    let _ = format!("{catalogue:?}");
});
