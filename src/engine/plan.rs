//! Execution plans: one optimised plan for a model whose input shapes tract can reason about
//! symbolically, or one plan per concrete input-shape signature, built on first use and kept in a
//! small bounded LRU, for models whose declared inputs leave dimensions unknown (`?`, `-1`,
//! no dim at all) or whose symbolic dimensions tract cannot carry through the graph (a
//! `Resize` or `Reshape` chain over `height` and `width`).

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tract_onnx::prelude::{
    DatumType, InferenceFact, InferenceModelExt, IntoRunnable, TValue, TypedModel,
    TypedRunnableModel,
};
use tract_onnx::tract_hir::infer::InferenceModel;

use super::{bad, guard, tract_reason, EngineError, EngineLimits};

/// How a model is planned, as reported by `Model::plan_info` and the compatibility check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    /// One plan, optimised at load time; symbolic dimensions (a batch `N`) stay symbolic.
    /// Input shapes that recur get a plan specialised on them (counted in [`PlanInfo`]).
    Static,
    /// One plan per concrete input-shape signature, optimised on first use and cached.
    PerShape,
}

impl PlanKind {
    /// `static` or `per-shape`.
    pub fn name(self) -> &'static str {
        match self {
            PlanKind::Static => "static",
            PlanKind::PerShape => "per-shape",
        }
    }
}

/// The state of a model's plans: the kind, and for per-shape models the cache's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanInfo {
    /// Which path the model takes.
    pub kind: PlanKind,
    /// Why a per-shape model could not have one plan (tract's first error), if it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Plans held now.
    pub cached: usize,
    /// Their estimated size in bytes (constants and every intermediate value, no reuse).
    pub cached_bytes: u64,
    /// Plans built since load.
    pub built: u64,
    /// Runs that found their plan in the cache.
    pub hits: u64,
    /// Plans dropped to stay within the limits.
    pub evicted: u64,
    /// The concrete input shapes of the cached plans, most recently used last.
    pub shapes: Vec<Vec<Vec<usize>>>,
}

/// A model's plans.
#[derive(Debug, Clone)]
pub(super) enum Plans {
    /// One plan. A model with open or symbolic input dims keeps a per-shape cache: plans
    /// specialised on input shapes that recur, and what serves when the symbolic plan fails at
    /// run time (`failed` then holds why).
    Static {
        plan: Arc<TypedRunnableModel>,
        fallback: Option<Arc<ShapeCache>>,
        failed: Arc<Mutex<Option<String>>>,
    },
    /// Per-shape plans, and why the model has no single plan.
    PerShape(Arc<ShapeCache>, String),
}

/// What a plan is specialised on: each input's shape and, for small integer inputs of a model
/// that needs it, the value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    shapes: Vec<Vec<usize>>,
    values: Vec<Option<Vec<i64>>>,
}

#[derive(Debug)]
struct Entry {
    key: Key,
    plan: Arc<TypedRunnableModel>,
    bytes: u64,
}

#[derive(Debug, Default)]
struct Cache {
    /// Least recently used first.
    entries: Vec<Entry>,
    built: u64,
    hits: u64,
    evicted: u64,
    /// The model plans only with the values of its small integer inputs fixed too (an `If` on
    /// a sample rate): found on the first shape-only planning failure.
    by_value: bool,
    /// A static model's shapes run once on its symbolic plan, most recent last (a shape that
    /// comes again is specialised), at most [`MAX_TRACKED`].
    seen: Vec<Key>,
    /// A static model's shapes whose specialised plan could not be built or failed.
    refused: Vec<Key>,
}

/// Shapes a static model remembers as seen once, or as refused.
const MAX_TRACKED: usize = 16;

fn remember(list: &mut Vec<Key>, key: Key) {
    if !list.contains(&key) {
        list.push(key);
        if list.len() > MAX_TRACKED {
            list.remove(0);
        }
    }
}

/// Inputs of at most this many integer or boolean elements are value-specialised when a
/// model needs it: scalars such as a sample rate or a mode flag, not data.
const MAX_VALUE_ELEMENTS: usize = 8;

fn small_value(t: &TValue) -> Option<Vec<i64>> {
    let integral = matches!(
        t.datum_type(),
        DatumType::I64 | DatumType::I32 | DatumType::U8 | DatumType::Bool
    );
    if !integral || t.len() > MAX_VALUE_ELEMENTS {
        return None;
    }
    let cast = t.cast_to::<i64>().ok()?;
    let view = cast.to_plain_array_view::<i64>().ok()?;
    Some(view.iter().copied().collect())
}

fn key_of(feed: &[TValue], by_value: bool) -> Key {
    Key {
        shapes: feed.iter().map(|t| t.shape().to_vec()).collect(),
        values: feed
            .iter()
            .map(|t| if by_value { small_value(t) } else { None })
            .collect(),
    }
}

/// The decoded model of a per-shape model, and its cache of plans.
#[derive(Debug)]
pub(super) struct ShapeCache {
    model: InferenceModel,
    datum_types: Vec<DatumType>,
    cache: Mutex<Cache>,
}

impl ShapeCache {
    pub(super) fn new(model: InferenceModel, datum_types: Vec<DatumType>) -> Self {
        ShapeCache {
            model,
            datum_types,
            cache: Mutex::new(Cache::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // A panic while the lock was held (caught by `guard`) leaves a consistent cache: entries
        // are only pushed whole.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The plan for these inputs' shapes: from the cache, or built and cached (evicting the
    /// least recently used plans beyond `limits.max_plans` or `limits.max_plan_bytes`).
    pub(super) fn plan_for(
        &self,
        feed: &[TValue],
        limits: &EngineLimits,
    ) -> Result<Arc<TypedRunnableModel>, EngineError> {
        let by_value = self.lock().by_value;
        let mut key = key_of(feed, by_value);
        {
            let mut cache = self.lock();
            if let Some(i) = cache.entries.iter().position(|e| e.key == key) {
                let entry = cache.entries.remove(i);
                let plan = entry.plan.clone();
                cache.entries.push(entry);
                cache.hits += 1;
                return Ok(plan);
            }
        }
        // Built outside the lock: another thread may run other shapes meanwhile (and may build
        // the same one; the second insert then replaces the first).
        let (plan, bytes) = match guard(|| self.build(&key, feed)) {
            Ok(built) => built,
            Err(first) => {
                // Fixing the small integer inputs' values may make the graph plannable (an `If`
                // on one of them becomes one branch); from then on every plan does so.
                let valued = key_of(feed, true);
                if by_value || valued == key {
                    return Err(first);
                }
                let built = guard(|| self.build(&valued, feed)).map_err(|_| first)?;
                self.lock().by_value = true;
                key = valued;
                built
            }
        };
        if bytes > limits.max_plan_bytes {
            return Err(EngineError::LimitExceeded {
                what: format!(
                    "estimated memory of the plan for input shapes {:?}",
                    key.shapes
                ),
                got: bytes,
                limit: limits.max_plan_bytes,
            });
        }
        let mut cache = self.lock();
        cache.built += 1;
        cache.entries.retain(|e| e.key != key);
        cache.entries.push(Entry {
            key,
            plan: plan.clone(),
            bytes,
        });
        let max_plans = limits.max_plans.max(1);
        while cache.entries.len() > max_plans
            || (cache.entries.len() > 1
                && cache.entries.iter().map(|e| e.bytes).sum::<u64>() > limits.max_plan_bytes)
        {
            cache.entries.remove(0);
            cache.evicted += 1;
        }
        Ok(plan)
    }

    /// For a static model with symbolic or open input dims: a plan specialised on these
    /// inputs' concrete shapes once the same shapes come a second time (tract chooses its
    /// kernels for concrete sizes; a symbolic batch dimension keeps it on generic paths), so a
    /// single run pays no second optimisation. `None`: run the symbolic plan.
    pub(super) fn specialised(
        &self,
        feed: &[TValue],
        limits: &EngineLimits,
    ) -> Option<Arc<TypedRunnableModel>> {
        {
            let mut cache = self.lock();
            let key = key_of(feed, cache.by_value);
            if !cache.entries.iter().any(|e| e.key == key) {
                if cache.refused.contains(&key) {
                    return None;
                }
                if !cache.seen.contains(&key) {
                    remember(&mut cache.seen, key);
                    return None;
                }
            }
        }
        match self.plan_for(feed, limits) {
            Ok(plan) => Some(plan),
            Err(_) => {
                self.refuse(feed);
                None
            }
        }
    }

    /// Runs these shapes on the symbolic plan from now on (their specialised plan failed).
    pub(super) fn refuse(&self, feed: &[TValue]) {
        let mut cache = self.lock();
        let key = key_of(feed, cache.by_value);
        cache.entries.retain(|e| e.key != key);
        remember(&mut cache.refused, key);
    }

    fn build(
        &self,
        key: &Key,
        feed: &[TValue],
    ) -> Result<(Arc<TypedRunnableModel>, u64), EngineError> {
        let shapes = &key.shapes;
        let failed = |stage: &str, e: &tract_onnx::prelude::TractError| EngineError::Inference {
            reason: format!(
                "{stage} for input shapes {shapes:?} failed: {}",
                tract_reason(e)
            ),
        };
        let mut model = self.model.clone();
        for (i, ((shape, dt), value)) in shapes
            .iter()
            .zip(&self.datum_types)
            .zip(&key.values)
            .enumerate()
        {
            let fact = match (value, feed.get(i)) {
                (Some(_), Some(t)) => InferenceFact::from((**t).clone()),
                _ => InferenceFact::dt_shape(*dt, shape.clone()),
            };
            model
                .set_input_fact(i, fact)
                .map_err(|e| bad(tract_reason(&e)))?;
        }
        let typed = model
            .into_typed()
            .map_err(|e| failed("type analysis", &e))?;
        let optimised =
            super::optimise::optimised(typed).map_err(|e| failed("optimisation", &e))?;
        let bytes = estimated_bytes(&optimised);
        let plan = optimised
            .into_runnable()
            .map_err(|e| failed("planning", &e))?;
        Ok((plan, bytes))
    }

    pub(super) fn info(&self, reason: String) -> PlanInfo {
        let cache = self.lock();
        PlanInfo {
            kind: PlanKind::PerShape,
            reason: Some(reason),
            cached: cache.entries.len(),
            cached_bytes: cache.entries.iter().map(|e| e.bytes).sum(),
            built: cache.built,
            hits: cache.hits,
            evicted: cache.evicted,
            shapes: cache.entries.iter().map(|e| e.key.shapes.clone()).collect(),
        }
    }
}

/// An upper bound of what a plan holds while it runs: its constants and every intermediate
/// value at its concrete size (tract reuses buffers, so the real peak is lower). Symbolic sizes
/// count as zero.
pub(super) fn estimated_bytes(model: &TypedModel) -> u64 {
    let mut total: u64 = 0;
    for node in model.nodes() {
        for output in &node.outputs {
            let fact = &output.fact;
            let elements = match &fact.konst {
                Some(k) => k.len() as u64,
                None => fact
                    .shape
                    .as_concrete()
                    .map(|s| s.iter().map(|&d| d as u64).product())
                    .unwrap_or(0),
            };
            let size = fact.datum_type.size_of() as u64;
            total = total.saturating_add(elements.saturating_mul(size));
        }
    }
    total
}
