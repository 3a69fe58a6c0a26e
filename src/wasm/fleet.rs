//! Fleet evaluation from JavaScript: `mergeReports`, and the privacy noise of `epsilon` in the
//! evaluation options (drawn from `crypto.getRandomValues`).

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::{coded_error, js_error, json_from_js, JsResult};
use crate::error::Code;
use crate::eval::fleet::{self, NoiseRng};
use crate::eval::report::{camel_case_keys, snake_case_keys};
use crate::eval::Report;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A fleet report: `devices`, `data` (rows and each device's source), `results`, `slices`,
 * `drift`, `latency` recomputed from the merged summaries, `approximate` (metrics that are not
 * exact, with bounds), `privacy` and the merged `summary`; camelCase keys. */
export type FleetReport = Record<string, any>;
"#;

/// Merges the summaries of evaluation reports made on many devices (evaluated with
/// `summary: true`), of fleet reports, or of summaries into one fleet report: every metric as a
/// single evaluation of all the devices' rows gives it. Throws `SUMMARY_MISMATCH` for reports of
/// different models, classes or options, `BAD_SUMMARY` for a report without a summary or with
/// counts that do not add up.
///
/// ```js
/// const a = await model.evaluate(partA, { summary: true });
/// const b = await model.evaluate(partB, { summary: true });
/// const fleet = mergeReports([a, b]);
/// fleet.devices; // 2
/// fleet.results.classification.accuracy;
/// ```
#[wasm_bindgen(js_name = mergeReports, unchecked_return_type = "FleetReport")]
pub fn merge_reports(
    #[wasm_bindgen(unchecked_param_type = "(EvalReport | FleetReport)[]")] reports: JsValue,
) -> JsResult<JsValue> {
    let docs: Vec<serde_json::Value> = json_from_js(&reports, "reports")?;
    let docs: Vec<serde_json::Value> = docs.into_iter().map(snake_case_keys).collect();
    let fleet = fleet::merge_reports(&docs).map_err(|e| js_error(&e))?;
    let v =
        serde_json::to_value(&fleet).map_err(|e| coded_error(Code::Internal, &e.to_string()))?;
    js_sys::JSON::parse(&camel_case_keys(v).to_string())
}

/// `crypto.getRandomValues` as a noise source.
struct CryptoNoise {
    crypto: JsValue,
    fill: Function,
    failed: bool,
}

impl NoiseRng for CryptoNoise {
    fn next_u64(&mut self) -> u64 {
        let buf = Uint8Array::new_with_length(8);
        if self.fill.call1(&self.crypto, &buf).is_err() {
            self.failed = true;
        }
        let mut b = [0u8; 8];
        buf.copy_to(&mut b);
        u64::from_le_bytes(b)
    }
}

/// Adds privacy noise with `epsilon` to a report's summary (evaluation option `epsilon`).
pub(crate) fn noise_report(report: &mut Report, epsilon: Option<f64>) -> JsResult<()> {
    let (Some(eps), Some(summary)) = (epsilon, report.summary.as_mut()) else {
        return Ok(());
    };
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap_or(JsValue::UNDEFINED);
    let fill = Reflect::get(&crypto, &"getRandomValues".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| {
            coded_error(
                Code::InvalidState,
                "privacy noise needs crypto.getRandomValues",
            )
        })?;
    let mut rng = CryptoNoise {
        crypto,
        fill,
        failed: false,
    };
    fleet::add_noise(summary, eps, &mut rng).map_err(|e| js_error(&e))?;
    if rng.failed {
        return Err(coded_error(Code::Internal, "crypto.getRandomValues failed"));
    }
    Ok(())
}
