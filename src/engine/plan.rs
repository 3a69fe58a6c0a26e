//! Execution plans: one optimised plan for a model whose input shapes tract can reason about
//! symbolically, or one plan per concrete input-shape signature, built on first use and kept in a
//! small bounded LRU, for models whose declared inputs leave dimensions unknown (`?`, `-1`,
//! no dim at all) or whose symbolic dimensions tract cannot carry through the graph (a
//! `Resize` or `Reshape` chain over `height` and `width`).

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tract_onnx::prelude::{
    DatumType, InferenceFact, InferenceModelExt, IntoRunnable, TypedModel, TypedRunnableModel,
};
use tract_onnx::tract_hir::infer::InferenceModel;

use super::{bad, guard, tract_reason, EngineError, EngineLimits};

/// How a model is planned, as reported by `Model::plan_info` and the compatibility check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    /// One plan, optimised at load time; symbolic dimensions (a batch `N`) stay symbolic.
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
    Static(Arc<TypedRunnableModel>),
    PerShape(Arc<ShapeCache>),
}

#[derive(Debug)]
struct Entry {
    shapes: Vec<Vec<usize>>,
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
}

/// The decoded model of a per-shape model, and its cache of plans.
#[derive(Debug)]
pub(super) struct ShapeCache {
    model: InferenceModel,
    datum_types: Vec<DatumType>,
    reason: String,
    cache: Mutex<Cache>,
}

impl ShapeCache {
    pub(super) fn new(model: InferenceModel, datum_types: Vec<DatumType>, reason: String) -> Self {
        ShapeCache {
            model,
            datum_types,
            reason,
            cache: Mutex::new(Cache::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // A panic while the lock was held (caught by `guard`) leaves a consistent cache: entries
        // are only pushed whole.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The plan for these input shapes: from the cache, or built and cached (evicting the least
    /// recently used plans beyond `limits.max_plans` or `limits.max_plan_bytes`).
    pub(super) fn plan_for(
        &self,
        shapes: Vec<Vec<usize>>,
        limits: &EngineLimits,
    ) -> Result<Arc<TypedRunnableModel>, EngineError> {
        {
            let mut cache = self.lock();
            if let Some(i) = cache.entries.iter().position(|e| e.shapes == shapes) {
                let entry = cache.entries.remove(i);
                let plan = entry.plan.clone();
                cache.entries.push(entry);
                cache.hits += 1;
                return Ok(plan);
            }
        }
        // Built outside the lock: another thread may run other shapes meanwhile (and may build
        // the same one; the second insert then replaces the first).
        let (plan, bytes) = guard(|| self.build(&shapes))?;
        if bytes > limits.max_plan_bytes {
            return Err(EngineError::LimitExceeded {
                what: format!("estimated memory of the plan for input shapes {shapes:?}"),
                got: bytes,
                limit: limits.max_plan_bytes,
            });
        }
        let mut cache = self.lock();
        cache.built += 1;
        cache.entries.retain(|e| e.shapes != shapes);
        cache.entries.push(Entry {
            shapes,
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

    fn build(&self, shapes: &[Vec<usize>]) -> Result<(Arc<TypedRunnableModel>, u64), EngineError> {
        let failed = |stage: &str, e: &tract_onnx::prelude::TractError| EngineError::Inference {
            reason: format!(
                "{stage} for input shapes {shapes:?} failed: {}",
                tract_reason(e)
            ),
        };
        let mut model = self.model.clone();
        for (i, (shape, dt)) in shapes.iter().zip(&self.datum_types).enumerate() {
            model
                .set_input_fact(i, InferenceFact::dt_shape(*dt, shape.clone()))
                .map_err(|e| bad(tract_reason(&e)))?;
        }
        let typed = model
            .into_typed()
            .map_err(|e| failed("type analysis", &e))?;
        let optimised = typed
            .into_optimized()
            .map_err(|e| failed("optimisation", &e))?;
        let bytes = estimated_bytes(&optimised);
        let plan = optimised
            .into_runnable()
            .map_err(|e| failed("planning", &e))?;
        Ok((plan, bytes))
    }

    pub(super) fn info(&self) -> PlanInfo {
        let cache = self.lock();
        PlanInfo {
            kind: PlanKind::PerShape,
            reason: Some(self.reason.clone()),
            cached: cache.entries.len(),
            cached_bytes: cache.entries.iter().map(|e| e.bytes).sum(),
            built: cache.built,
            hits: cache.hits,
            evicted: cache.evicted,
            shapes: cache.entries.iter().map(|e| e.shapes.clone()).collect(),
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
