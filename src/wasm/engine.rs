//! `Model`: ONNX inference from JavaScript. Typed arrays in, typed arrays out.

use js_sys::{
    Array, ArrayBuffer, BigInt64Array, Float32Array, Float64Array, Int32Array, Int8Array, Object,
    Promise, Reflect, Uint16Array, Uint8Array,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use super::error::{coded_error, js_error, json_from_js, to_js, JsResult};
use super::eval::{data_bytes, prepare, run_evaluation, run_evaluation_async, JsEvaluation};
use super::registry::{abort_error, watch_signal};
use crate::app::{Contender, Subject};
use crate::catalogue::ModelCard;
use crate::digest::Sha256Digest;
use crate::engine::{DType, Model, ModelSchema, NamedTensor, Tensor, TensorData, TensorSpec};
use crate::error::Code;
use crate::eval::gates::GateReport;
use crate::eval::ModelIdentity;
use crate::registry::AbortFlag;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** An element type, named as numpy and onnxruntime-web name it. */
export type DType = "float32" | "float64" | "float16" | "int32" | "int64" | "uint8" | "int8" | "bool";
/** A declared input or output: fixed sizes as numbers, symbolic ones (the batch "N") as names. */
export interface TensorSpec { name: string; dtype: DType; shape: (number | string)[]; }
/** Typed array per type: float32 Float32Array, float64 Float64Array, float16 Float16Array
 * (where the host has it, else a Uint16Array of the bits), int32 Int32Array, int64
 * BigInt64Array, uint8 and bool Uint8Array, int8 Int8Array. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array
  | Int8Array | Uint16Array | Float16ArrayIfDeclared;
/** `Float16Array` where the TypeScript lib declares it (lib esnext in TypeScript 5.7+), else never. */
export type Float16ArrayIfDeclared = typeof globalThis extends { Float16Array: { prototype: infer F } } ? F : never;
/** A tensor as onnxruntime-web shapes it: element type, flat row-major data, dims. */
export declare class Tensor {
  /** `new Tensor("float32", data, [1, 64])`; `data` a typed array of the type or a plain array
   * (each entry checked); `new Tensor(float32Array, dims)` names the type from the array. */
  constructor(type: DType, data: TensorData | readonly (number | bigint | boolean)[], dims?: readonly number[]);
  constructor(data: TensorData, dims?: readonly number[]);
  readonly type: DType;
  readonly data: TensorData;
  readonly dims: readonly number[];
  readonly size: number;
  readonly location: "cpu";
  getData(): Promise<TensorData>;
  dispose(): void;
  reshape(dims: readonly number[]): Tensor;
  /** @deprecated Use `dims`. */
  readonly shape: readonly number[];
  /** @deprecated Use `type`. */
  readonly dtype: DType;
}
/** What `run` takes per input: a `Tensor`, an object with its fields, or (deprecated, for one
 * release) `{ data, shape, dtype? }`. Plain arrays are converted to the input's type, each
 * entry checked (a string, undefined, NaN or a nested array is refused by index). */
export type TensorInput = Tensor
  | { type?: DType; data: TensorData | readonly (number | bigint | boolean)[]; dims: readonly number[] }
  | { dtype?: DType; data: TensorData | readonly (number | bigint | boolean)[]; shape: readonly number[] };
/** @deprecated The outputs are `Tensor`s. */
export type TensorOutput = Tensor;
export interface Model {
  /** Runs the model on named inputs; resolves to named output `Tensor`s (as onnxruntime-web's
   * `session.run`). The inputs are read before this returns: their buffers may be reused. */
  run(feeds: Record<string, TensorInput>): Promise<Record<string, Tensor>>;
  /** `run` on the calling thread, returning the outputs directly. */
  runSync(feeds: Record<string, TensorInput>): Record<string, Tensor>;
}
/** The parts of a model card the engine checks. */
export interface ModelCardSchema { inputs: TensorSpec[]; outputs: TensorSpec[]; }
/** How a model is planned: "static" (one plan, symbolic dims kept symbolic) or "per-shape"
 * (one plan per concrete input-shape signature, built on first use, kept in a bounded LRU). */
export interface PlanInfo {
  kind: "static" | "per-shape"; reason?: string; cached: number; cachedBytes: number;
  built: number; hits: number; evicted: number; shapes: number[][][];
}
/** What `Model.check` reports: opsets, inputs/outputs, operators (unsupported ones with the
 * nodes that use them), whether it loads, its plan, and a run compared to expected outputs. */
export interface CheckReport {
  bytes: number; irVersion: number; opsets: Record<string, number>; producer: string;
  inputs: TensorSpec[]; outputs: TensorSpec[];
  operators: { op: string; count: number; supported: boolean; nodes?: string[] }[];
  loaded: boolean; loadMs: number; plan?: PlanInfo; error?: { code: string; message: string };
  run?: { ms: number; steadyMs?: number; error?: { code: string; message: string }; missing?: string[];
    outputs: { name: string; dtype: DType; shape: number[]; maxAbsError?: number;
      relativeError?: number; matches?: boolean }[] };
  ok: boolean;
}
export interface CheckOptions {
  /** Inputs to run the model on; a `dtype` per input types plain number arrays. */
  inputs?: Record<string, TensorInput>;
  /** Expected outputs (e.g. onnxruntime's): each must match within 1e-3 of its scale. */
  expected?: Record<string, TensorInput>;
  /** Runs to time after the first; `run.steadyMs` is their median. */
  repeat?: number;
}
"#;

/// A loaded ONNX model.
///
/// ```js
/// const model = Model.fromBytes(bytes);           // or await registry.load("digits@production")
/// model.inputs;  // [{ name: "input", dtype: "float32", shape: ["N", 64] }]
/// const out = await model.run({ input: new Tensor("float32", new Float32Array(64), [1, 64]) });
/// out.probabilities.data; // Float32Array(10)
/// ```
#[wasm_bindgen(js_name = Model)]
pub struct JsModel {
    pub(crate) inner: Model,
    pub(crate) card: Option<ModelCard>,
    pub(crate) reference: ModelIdentity,
    /// The gate check `registry.load(ref, { verifyGate: true })` ran, if any.
    pub(crate) gates: Option<GateReport>,
    /// Where `registry.load` got the verified bytes (`fetchModel`'s result without them).
    pub(crate) fetched: Option<JsValue>,
}

impl JsModel {
    /// Wraps a loaded model with its card and how reports name it.
    pub(crate) fn new(inner: Model, card: Option<ModelCard>, reference: ModelIdentity) -> JsModel {
        JsModel {
            inner,
            card,
            reference,
            gates: None,
            fetched: None,
        }
    }

    /// This model in an evaluation (the handle is shared, not copied).
    pub(crate) fn contender(&self) -> Contender {
        Contender {
            model: self.inner.clone(),
            identity: Some(self.reference.clone()),
        }
    }
}

/// `evaluate` / `compare`: reads the arguments now (the caller may change them after the
/// call), then evaluates in a task that yields to the event loop and honours `options.signal`.
fn evaluate_async(
    data: JsValue,
    options: Option<JsValue>,
    card: Option<ModelCard>,
    subject: Subject,
) -> Promise {
    let options = options.unwrap_or(JsValue::UNDEFINED);
    let started = (|| {
        let prepared = prepare(&options, card.as_ref())?;
        let bytes = data_bytes(&data)?;
        let flag = AbortFlag::new();
        let (signal, listener) = watch_signal(&options, &flag)?;
        Ok::<_, JsValue>((prepared, bytes, flag, signal, listener))
    })();
    wasm_bindgen_futures::future_to_promise(async move {
        let (prepared, bytes, flag, signal, listener) = started?;
        let result = run_evaluation_async(prepared, bytes, subject, &flag).await;
        if let (Some(s), Some(l)) = (&signal, &listener) {
            let _ = s.remove_event_listener_with_callback("abort", l.as_ref().unchecked_ref());
        }
        result.map_err(|e| abort_error(signal.as_ref(), e))
    })
}

/// The engine's load, checked against the card's declared schema when there is one.
fn load_with_card(bytes: &[u8], card: Option<&ModelCard>) -> JsResult<Model> {
    let declared = card.and_then(ModelCard::declared_schema);
    Model::load(bytes, declared.as_ref()).map_err(|e| js_error(&e))
}

/// A model loaded from bytes the caller gave: reports name it by its digest, and by a target
/// path when its card names a model and a version.
fn local_model(inner: Model, card: Option<ModelCard>, digest: Sha256Digest) -> JsModel {
    let reference = ModelIdentity {
        target_path: card
            .as_ref()
            .filter(|c| c.name != "model" && !c.version.is_empty())
            .map(|c| format!("models/{}/{}/model.onnx", c.name, c.version))
            .unwrap_or_default(),
        sha256: digest.to_hex(),
        reference: None,
    };
    JsModel::new(inner, card, reference)
}

/// A card from JS: a full model card, or any object with `inputs` and `outputs`.
fn card_from_js(card: &JsValue) -> JsResult<Option<ModelCard>> {
    if card.is_undefined() || card.is_null() {
        return Ok(None);
    }
    let value: serde_json::Value = json_from_js(card, "card")?;
    let mut value = value;
    // A bare schema object is a card without a name.
    if let Some(obj) = value.as_object_mut() {
        obj.entry("name").or_insert_with(|| "model".into());
        obj.entry("version").or_insert_with(|| "".into());
    }
    ModelCard::from_value(&value)
        .map(Some)
        .map_err(|e| coded_error(Code::InvalidArgument, &e))
}

fn specs_to_js(specs: &[TensorSpec]) -> JsResult<JsValue> {
    serde_wasm_bindgen::to_value(specs).map_err(|e| coded_error(Code::Internal, &e.to_string()))
}

#[wasm_bindgen(js_class = Model)]
impl JsModel {
    /// Loads, checks and optimises an ONNX model from bytes, synchronously. With a `card` (a
    /// model card, or any object with `inputs` and `outputs`), the graph must match the
    /// declared schema, else it throws `SCHEMA_MISMATCH`. Malformed bytes throw `BAD_MODEL`;
    /// operators the engine lacks throw `UNSUPPORTED_MODEL` naming them. The model's `sha256`
    /// is computed here on the calling thread with `sha2` compiled to wasm, which for a large
    /// model costs more than the load: `await Model.create(bytes, card)` is faster.
    ///
    /// ```js
    /// const model = Model.fromBytes(new Uint8Array(await (await fetch("model.onnx")).arrayBuffer()));
    /// ```
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(
        bytes: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "ModelCardSchema")] card: Option<JsValue>,
    ) -> JsResult<JsModel> {
        let card = card.unwrap_or(JsValue::UNDEFINED);
        let card = card_from_js(&card)?;
        let inner = load_with_card(bytes, card.as_ref())?;
        Ok(local_model(inner, card, Sha256Digest::of(bytes)))
    }

    /// Loads a model like `fromBytes` (same checks and error codes, as a rejection), shaped as
    /// onnxruntime-web's `InferenceSession.create`; the `sha256` that names it in reports is
    /// computed by the host's WebCrypto on another thread while the engine loads (`sha2` in
    /// wasm where the host has no WebCrypto). Takes a `Uint8Array` or an `ArrayBuffer`, copied
    /// before this returns: the caller may reuse or transfer it at once.
    ///
    /// ```js
    /// const model = await Model.create(new Uint8Array(await (await fetch("model.onnx")).arrayBuffer()));
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Model>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ModelCardSchema")] card: Option<JsValue>,
    ) -> Promise {
        let card = card.unwrap_or(JsValue::UNDEFINED);
        // What reads the caller's objects runs now, before the promise is returned.
        let started = (|| {
            let array = match (
                bytes.dyn_ref::<Uint8Array>(),
                bytes.dyn_ref::<ArrayBuffer>(),
            ) {
                (Some(a), _) => a.clone(),
                (None, Some(b)) => Uint8Array::new(b),
                (None, None) => {
                    return Err(coded_error(
                        Code::InvalidArgument,
                        "model bytes must be a Uint8Array or an ArrayBuffer",
                    ))
                }
            };
            let card = card_from_js(&card)?;
            crate::engine::EngineLimits::default()
                .check_model_size(u64::from(array.length()))
                .map_err(|e| js_error(&e))?;
            // The host copies the bytes for its digest now and hashes them on another thread.
            let pending = crate::digest::web::start(&array);
            Ok((array.to_vec(), card, pending))
        })();
        future_to_promise(async move {
            let (copy, card, pending) = started?;
            let inner = load_with_card(&copy, card.as_ref())?;
            let digest = match pending {
                Some(p) => p.finish().await,
                None => None,
            };
            let digest = digest.unwrap_or_else(|| Sha256Digest::of(&copy));
            Ok(local_model(inner, card, digest).into())
        })
    }

    /// A compatibility report, before anyone publishes a model: opsets, inputs and outputs,
    /// operators with counts (each unsupported one with the nodes that use it), whether the
    /// engine loads it and how it is planned, and with `inputs` a run compared to `expected`
    /// outputs (max abs error within 1e-3 of each output's scale). Never throws for a bad
    /// model: the report says what is wrong (`ok: false`).
    ///
    /// ```js
    /// const report = Model.check(bytes, { inputs: { x: { data, shape: [1, 3, 224, 224] } } });
    /// report.ok; report.operators.filter(o => !o.supported);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "CheckReport")]
    pub fn check(
        bytes: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "CheckOptions")] options: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let limits = crate::engine::EngineLimits::default();
        let none = ModelSchema::default();
        let field = |name: &str| -> JsResult<Option<Vec<NamedTensor>>> {
            if options.is_undefined() || options.is_null() {
                return Ok(None);
            }
            let v = Reflect::get(&options, &name.into()).map_err(|_| {
                coded_error(Code::InvalidArgument, "check options must be an object")
            })?;
            if v.is_undefined() || v.is_null() {
                return Ok(None);
            }
            feeds_from_js(&v, &none, limits.max_tensor_elements).map(Some)
        };
        let repeat = if options.is_object() {
            let r = Reflect::get(&options, &"repeat".into()).unwrap_or(JsValue::UNDEFINED);
            match r.as_f64() {
                None if r.is_undefined() => 0,
                Some(n) if n.fract() == 0.0 && (0.0..=10_000.0).contains(&n) => n as usize,
                _ => {
                    return Err(coded_error(
                        Code::InvalidArgument,
                        "repeat must be an integer from 0 to 10000",
                    ))
                }
            }
        } else {
            0
        };
        let run = crate::engine::CheckRun {
            inputs: field("inputs")?,
            expected: field("expected")?,
            repeat,
        };
        let mut timer = super::eval::now_ms;
        let report = crate::engine::check(bytes, limits, run, &mut timer);
        to_js(&report)
    }

    /// How the model is planned: `kind` "static" (one plan) or "per-shape" (a plan per
    /// concrete input-shape signature, built on first use; `reason` says why), and the plan
    /// cache's counters (`cached`, `cachedBytes`, `built`, `hits`, `evicted`, `shapes`).
    #[wasm_bindgen(getter, unchecked_return_type = "PlanInfo")]
    pub fn plan(&self) -> JsResult<JsValue> {
        to_js(&self.inner.plan_info())
    }

    /// Where `registry.load` got this model: `fetchModel`'s result without the bytes (name,
    /// version, alias, path, sha256, length, source, offline, expired, cacheRepaired);
    /// undefined for a model made from bytes.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "(Omit<FetchModelResult, \"bytes\"> & { modelSignature?: VerifiedModelSignature }) | undefined"
    )]
    pub fn fetched(&self) -> JsValue {
        self.fetched.clone().unwrap_or(JsValue::UNDEFINED)
    }

    /// The gate check that admitted this model (`registry.load(ref, { verifyGate: true })`):
    /// `{ passed, results: [{ metric, value, min, max, passed }] }`; else undefined.
    #[wasm_bindgen(getter, unchecked_return_type = "GateReport | undefined")]
    pub fn gates(&self) -> JsResult<JsValue> {
        match &self.gates {
            None => Ok(JsValue::UNDEFINED),
            Some(g) => serde_wasm_bindgen::to_value(g)
                .map_err(|e| coded_error(Code::Internal, &e.to_string())),
        }
    }

    /// The inputs: name, dtype and shape (symbolic dimensions by name).
    #[wasm_bindgen(getter, unchecked_return_type = "TensorSpec[]")]
    pub fn inputs(&self) -> JsResult<JsValue> {
        specs_to_js(&self.inner.schema().inputs)
    }

    /// The outputs: name, dtype and shape.
    #[wasm_bindgen(getter, unchecked_return_type = "TensorSpec[]")]
    pub fn outputs(&self) -> JsResult<JsValue> {
        specs_to_js(&self.inner.schema().outputs)
    }

    /// The model card, if one was given or the registry signed one.
    #[wasm_bindgen(getter, unchecked_return_type = "Record<string, any> | undefined")]
    pub fn card(&self) -> JsResult<JsValue> {
        match &self.card {
            None => Ok(JsValue::UNDEFINED),
            Some(c) => serde_wasm_bindgen::to_value(c)
                .map_err(|e| coded_error(Code::Internal, &e.to_string())),
        }
    }

    /// The sha256 (hex) of the model bytes.
    #[wasm_bindgen(getter)]
    pub fn sha256(&self) -> String {
        self.reference.sha256.clone()
    }

    /// Evaluates the model on labelled data (CSV text or bytes, or JSON with `format: "json"`),
    /// on this device. Options default to the card's (label column, features, classes, task).
    /// Resolves to the report; the work yields to the event loop as it goes, so the page stays
    /// responsive and `{ signal }` cancels it (rejecting with the signal's reason).
    ///
    /// ```js
    /// const report = await model.evaluate(await file.text(), { slices: ["region"], signal, onProgress: console.log });
    /// report.results.classification.accuracy;
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<EvalReport>")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: Option<JsValue>,
    ) -> Promise {
        let subject = Subject::Model(self.contender());
        let card = self.card.clone();
        evaluate_async(data, options, card, subject)
    }

    /// `evaluate`, synchronously (no `signal`): returns the report.
    #[wasm_bindgen(js_name = evaluateSync, unchecked_return_type = "EvalReport")]
    pub fn evaluate_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let prepared = prepare(&options, self.card.as_ref())?;
        let bytes = data_bytes(&data)?;
        run_evaluation(prepared, &bytes, Subject::Model(self.contender()))
    }

    /// A streaming evaluation of this model (see `Evaluation`).
    pub fn evaluation(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: Option<JsValue>,
    ) -> JsResult<JsEvaluation> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let prepared = prepare(&options, self.card.as_ref())?;
        JsEvaluation::new(prepared, Subject::Model(self.contender()))
    }

    /// Champion vs challenger on the same rows: this model's report with a `comparison` section
    /// (metric deltas with paired bootstrap 95% intervals, McNemar's exact test, verdicts).
    /// Resolves to the report; cancellable with `{ signal }` like `evaluate`.
    ///
    /// ```js
    /// const report = await production.compare(staging, csvText);
    /// report.comparison.verdicts;
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<EvalReport>")]
    pub fn compare(
        &self,
        challenger: &JsModel,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: Option<JsValue>,
    ) -> Promise {
        let subject = Subject::Compare {
            champion: self.contender(),
            challenger: challenger.contender(),
        };
        evaluate_async(data, options, self.card.clone(), subject)
    }

    /// `compare`, synchronously (no `signal`): returns the report.
    #[wasm_bindgen(js_name = compareSync, unchecked_return_type = "EvalReport")]
    pub fn compare_sync(
        &self,
        challenger: &JsModel,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: Option<JsValue>,
    ) -> JsResult<JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let prepared = prepare(&options, self.card.as_ref())?;
        let bytes = data_bytes(&data)?;
        let subject = Subject::Compare {
            champion: self.contender(),
            challenger: challenger.contender(),
        };
        run_evaluation(prepared, &bytes, subject)
    }

    /// The engine's run, synchronous, returning plain `{ type, data, dims }` objects: the glue
    /// (scripts/wasm-variants.mjs) defines `run` (a Promise) and `runSync` on top of it, which
    /// return `Tensor`s.
    #[wasm_bindgen(js_name = __runSync, skip_typescript)]
    pub fn run_sync(&self, feeds: JsValue) -> JsResult<JsValue> {
        let inputs = feeds_from_js(
            &feeds,
            self.inner.schema(),
            self.inner.limits().max_tensor_elements,
        )?;
        let outputs = self.inner.run(inputs).map_err(|e| js_error(&e))?;
        outputs_to_js(&outputs)
    }
}

/// Converts `{ name: tensor }` into named tensors. A tensor is onnxruntime-web's shape
/// `{ type, data, dims }` (a `Tensor`, or any object with those fields) or the older
/// `{ data, shape, dtype? }`. A typed array must be the one of the given type (`float16`: a
/// `Float16Array` or a `Uint16Array` of its bits); a plain array is converted to the given type,
/// else the model's declared one, each entry checked.
pub(crate) fn feeds_from_js(
    feeds: &JsValue,
    schema: &ModelSchema,
    max_elements: u64,
) -> JsResult<Vec<NamedTensor>> {
    let obj: &Object = feeds.dyn_ref().ok_or_else(|| {
        coded_error(
            Code::InvalidArgument,
            "inputs must be an object { name: { type, data, dims } }",
        )
    })?;
    let mut out = Vec::new();
    for entry in Object::entries(obj).iter() {
        let pair: Array = entry.unchecked_into();
        let name = pair.get(0).as_string().unwrap_or_default();
        let value = pair.get(1);
        if !value.is_object() {
            return Err(bad_input(
                &name,
                "must be a tensor { type, data, dims } (a Tensor, or an object with those fields)",
            ));
        }
        let field = |key: &str| Reflect::get(&value, &key.into()).unwrap_or(JsValue::UNDEFINED);
        // onnxruntime-web's `type`, else the older `dtype`; else the model's declared type.
        let named = [field("type"), field("dtype")]
            .into_iter()
            .find(|v| !v.is_undefined() && !v.is_null());
        let given = match named {
            Some(v) => {
                let d = v
                    .as_string()
                    .ok_or_else(|| bad_input(&name, "has a `type` that is not a string"))?;
                Some(DType::from_name(&d).ok_or_else(|| {
                    bad_input(
                        &name,
                        &format!(
                            "has type `{d}`, which the engine does not run; supported: {}",
                            supported_types()
                        ),
                    )
                })?)
            }
            None => None,
        };
        let declared = given.or_else(|| {
            schema
                .inputs
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.dtype)
        });
        let data = field("data");
        if data.is_undefined() || data.is_null() {
            return Err(bad_input(&name, "has no `data`"));
        }
        // Checked before the data is copied into the module's memory.
        let length = Reflect::get(&data, &"length".into())
            .ok()
            .and_then(|l| l.as_f64())
            .unwrap_or(0.0);
        if length > max_elements as f64 {
            return Err(js_error(&crate::engine::EngineError::LimitExceeded {
                what: format!("input `{name}` element count"),
                got: length as u64,
                limit: max_elements,
            }));
        }
        let dims = match field("dims") {
            d if d.is_undefined() || d.is_null() => field("shape"),
            d => d,
        };
        let shape = shape_from_js(&dims, &name)?;
        let tensor_data = data_from_js(&data, declared, given.is_some(), &name)?;
        out.push(NamedTensor {
            name,
            tensor: Tensor::new(shape, tensor_data),
        });
    }
    Ok(out)
}

fn supported_types() -> String {
    DType::ALL.map(DType::name).join(", ")
}

fn bad_input(name: &str, why: &str) -> JsValue {
    coded_error(Code::InvalidArgument, &format!("input `{name}` {why}"))
}

fn shape_from_js(shape: &JsValue, name: &str) -> JsResult<Vec<usize>> {
    let arr: &Array = shape.dyn_ref().ok_or_else(|| {
        bad_input(
            name,
            "needs `dims` (or `shape`), an array of non-negative integers",
        )
    })?;
    arr.iter()
        .map(|d| {
            let n = d.as_f64().unwrap_or(-1.0);
            if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 {
                Ok(n as usize)
            } else {
                Err(bad_input(
                    name,
                    "has a dims entry that is not a non-negative integer",
                ))
            }
        })
        .collect()
}

/// The element type a typed array holds, by its class (`Float16Array` by name: js-sys has no
/// binding for it yet).
fn typed_array_type(data: &JsValue) -> Option<(DType, &'static str)> {
    // `instanceof` follows the prototype chain, which any object can borrow: only a real view
    // (checked by its internal slot) is read as one, so reading it cannot throw.
    if !ArrayBuffer::is_view(data) {
        None
    } else if data.is_instance_of::<Float32Array>() {
        Some((DType::F32, "Float32Array"))
    } else if data.is_instance_of::<Float64Array>() {
        Some((DType::F64, "Float64Array"))
    } else if data.is_instance_of::<Int32Array>() {
        Some((DType::I32, "Int32Array"))
    } else if data.is_instance_of::<BigInt64Array>() {
        Some((DType::I64, "BigInt64Array"))
    } else if data.is_instance_of::<Uint8Array>() {
        Some((DType::U8, "Uint8Array"))
    } else if data.is_instance_of::<Int8Array>() {
        Some((DType::I8, "Int8Array"))
    } else if data.is_instance_of::<Uint16Array>() {
        Some((DType::F16, "Uint16Array"))
    } else if constructor_name(data).as_deref() == Some("Float16Array") {
        Some((DType::F16, "Float16Array"))
    } else {
        None
    }
}

fn constructor_name(v: &JsValue) -> Option<String> {
    let ctor = Reflect::get(v, &"constructor".into()).ok()?;
    Reflect::get(&ctor, &"name".into()).ok()?.as_string()
}

/// The bits of a `Float16Array` or `Uint16Array` (a view of the same bytes; one copy, into
/// the module's memory). The Float16Array's buffer and extent are checked first, so that a
/// view whose properties lie cannot make the `Uint16Array` constructor throw.
fn half_bits(data: &JsValue, name: &str) -> JsResult<Vec<u16>> {
    if let Some(a) = data.dyn_ref::<Uint16Array>() {
        return Ok(a.to_vec());
    }
    let get = |k: &str| Reflect::get(data, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let bad = || {
        bad_input(
            name,
            "has a Float16Array that is not a plain view of an ArrayBuffer",
        )
    };
    let buffer = get("buffer").dyn_into::<ArrayBuffer>().map_err(|_| bad())?;
    let whole = |v: JsValue| v.as_f64().filter(|x| x.fract() == 0.0 && *x >= 0.0);
    let (Some(offset), Some(bytes)) = (whole(get("byteOffset")), whole(get("byteLength"))) else {
        return Err(bad());
    };
    if offset % 2.0 != 0.0 || bytes % 2.0 != 0.0 || offset + bytes > f64::from(buffer.byte_length())
    {
        return Err(bad());
    }
    Ok(
        Uint16Array::new_with_byte_offset_and_length(&buffer, offset as u32, (bytes / 2.0) as u32)
            .to_vec(),
    )
}

fn data_from_js(
    data: &JsValue,
    declared: Option<DType>,
    explicit: bool,
    name: &str,
) -> JsResult<TensorData> {
    if let Some((held, class)) = typed_array_type(data) {
        // A Uint8Array also carries bool; a Uint16Array only float16's bits.
        let fits = held == declared.unwrap_or(held)
            || (held == DType::U8 && declared == Some(DType::Bool));
        if explicit && !fits {
            return Err(bad_input(
                name,
                &format!(
                    "has type `{}` but its data is a {class}",
                    declared.map_or("?", DType::name)
                ),
            ));
        }
        if held == DType::F16 && class == "Uint16Array" && declared != Some(DType::F16) {
            return Err(bad_input(
                name,
                "has a Uint16Array, which carries float16 bits only: give `type: \"float16\"`",
            ));
        }
        return Ok(match held {
            DType::F32 => TensorData::F32(data.unchecked_ref::<Float32Array>().to_vec()),
            DType::F64 => TensorData::F64(data.unchecked_ref::<Float64Array>().to_vec()),
            DType::I32 => TensorData::I32(data.unchecked_ref::<Int32Array>().to_vec()),
            DType::I64 => TensorData::I64(data.unchecked_ref::<BigInt64Array>().to_vec()),
            DType::I8 => TensorData::I8(data.unchecked_ref::<Int8Array>().to_vec()),
            DType::F16 => TensorData::F16(half_bits(data, name)?),
            DType::U8 | DType::Bool => {
                let v = data.unchecked_ref::<Uint8Array>().to_vec();
                if declared == Some(DType::Bool) {
                    TensorData::Bool(v.into_iter().map(|b| b != 0).collect())
                } else {
                    TensorData::U8(v)
                }
            }
        });
    }
    if let Some(arr) = data.dyn_ref::<Array>() {
        return plain_array(arr, declared.unwrap_or(DType::F32), name);
    }
    Err(bad_input(
        name,
        "`data` must be a typed array (Float32Array, Float64Array, Float16Array, Int32Array, \
         BigInt64Array, Uint8Array, Int8Array) or a plain array of numbers",
    ))
}

/// A plain array converted to `dtype`, every entry checked: a finite number for the float
/// types, an integer in range for the integer types (a bigint too for int64), a boolean or 0/1
/// for bool. Anything else (a string, `undefined`, a nested array, NaN) is refused by index.
fn plain_array(arr: &Array, dtype: DType, name: &str) -> JsResult<TensorData> {
    fn each<T>(
        arr: &Array,
        name: &str,
        what: &str,
        f: impl Fn(&JsValue) -> Option<T>,
    ) -> JsResult<Vec<T>> {
        let mut out = Vec::with_capacity(arr.length() as usize);
        for (i, v) in arr.iter().enumerate() {
            match f(&v) {
                Some(x) => out.push(x),
                None => {
                    return Err(bad_input(
                        name,
                        &format!("element {i} is {}, not {what}", describe(&v)),
                    ))
                }
            }
        }
        Ok(out)
    }
    let finite = |v: &JsValue| v.as_f64().filter(|x| x.is_finite());
    // An integer number (within 2^53, where numbers are exact) that fits `T`.
    fn int<T: TryFrom<i64>>(v: &JsValue) -> Option<T> {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_991.0)
            .and_then(|x| T::try_from(x as i64).ok())
    }
    let what = format!("a finite {} number", dtype.name());
    Ok(match dtype {
        DType::F32 => TensorData::F32(each(arr, name, &what, |v| finite(v).map(|x| x as f32))?),
        DType::F64 => TensorData::F64(each(arr, name, &what, finite)?),
        DType::F16 => TensorData::F16(each(arr, name, &what, |v| {
            finite(v).map(|x| crate::engine::f16::from_f64(x).to_bits())
        })?),
        DType::I32 => TensorData::I32(each(
            arr,
            name,
            "an int32 (an integer from -2147483648 to 2147483647)",
            int::<i32>,
        )?),
        DType::U8 => TensorData::U8(each(
            arr,
            name,
            "a uint8 (an integer from 0 to 255)",
            int::<u8>,
        )?),
        DType::I8 => TensorData::I8(each(
            arr,
            name,
            "an int8 (an integer from -128 to 127)",
            int::<i8>,
        )?),
        DType::I64 => TensorData::I64(each(
            arr,
            name,
            "an int64 (a bigint, or an integer number within 2^53)",
            |v| {
                if v.is_bigint() {
                    i64::try_from(v.clone()).ok()
                } else {
                    int::<i64>(v)
                }
            },
        )?),
        DType::Bool => TensorData::Bool(each(arr, name, "a boolean (true, false, 0 or 1)", |v| {
            v.as_bool().or_else(|| match v.as_f64() {
                Some(0.0) => Some(false),
                Some(1.0) => Some(true),
                _ => None,
            })
        })?),
    })
}

/// A short description of a JS value for an error message: `"abc" (a string)`, `undefined`,
/// `an array`, `NaN (a number)`.
fn describe(v: &JsValue) -> String {
    if v.is_undefined() {
        "undefined".into()
    } else if v.is_null() {
        "null".into()
    } else if let Some(s) = v.as_string() {
        let short: String = s.chars().take(20).collect();
        let more = if short.len() < s.len() { "..." } else { "" };
        format!("{:?} (a string)", format!("{short}{more}"))
    } else if let Some(x) = v.as_f64() {
        format!("{x} (a number)")
    } else if v.as_bool().is_some() {
        format!("{} (a boolean)", v.as_bool() == Some(true))
    } else if v.is_bigint() {
        "a bigint out of range".into()
    } else if Array::is_array(v) {
        "an array".into()
    } else {
        "an object".into()
    }
}

/// Converts named output tensors into `{ name: { type, data, dims } }` (the glue makes each a
/// `Tensor`, whose `shape` and `dtype` getters keep the older names working). float16 data is
/// a Uint16Array of its bits here; the glue views it as a Float16Array where the host has one.
pub(crate) fn outputs_to_js(outputs: &[NamedTensor]) -> JsResult<JsValue> {
    let obj = Object::new();
    for out in outputs {
        let t = &out.tensor;
        let data: JsValue = match &t.data {
            TensorData::F32(v) => Float32Array::from(v.as_slice()).into(),
            TensorData::F64(v) => Float64Array::from(v.as_slice()).into(),
            TensorData::F16(v) => Uint16Array::from(v.as_slice()).into(),
            TensorData::I32(v) => Int32Array::from(v.as_slice()).into(),
            TensorData::I64(v) => BigInt64Array::from(v.as_slice()).into(),
            TensorData::U8(v) => Uint8Array::from(v.as_slice()).into(),
            TensorData::I8(v) => Int8Array::from(v.as_slice()).into(),
            TensorData::Bool(v) => {
                let bytes: Vec<u8> = v.iter().map(|&b| u8::from(b)).collect();
                Uint8Array::from(bytes.as_slice()).into()
            }
        };
        let dims: Array = t
            .shape
            .iter()
            .map(|&d| JsValue::from_f64(d as f64))
            .collect();
        let entry = Object::new();
        Reflect::set(&entry, &"type".into(), &t.dtype().name().into())?;
        Reflect::set(&entry, &"data".into(), &data)?;
        Reflect::set(&entry, &"dims".into(), &dims)?;
        Reflect::set(&obj, &out.name.as_str().into(), &entry)?;
    }
    Ok(obj.into())
}
