use crate::internal::*;

/// The tensor, its exotic fact, and (edge-registry patch) the tensor's uniform value for a
/// plain tensor, computed once here instead of at every `output_facts` (a scan of the whole
/// tensor each time: on a ResNet-50 whose weights are `ConstantOfShape` fills, 38% of its
/// load). A function of the tensor, so equality and hashing are unchanged.
#[derive(Debug, Clone, Hash, Eq)]
pub struct Const(Arc<Tensor>, Option<Box<dyn ExoticFact>>, Option<Arc<Tensor>>);

/// edge-registry patch: the same relation as comparing the fields, decided without reading the
/// tensors where it can be: the same allocation, or two uniform tensors of one type and shape
/// (equal exactly when their uniform values are: each element equals its tensor's value under
/// the `==` `as_uniform` uses). `wire_node` compares every new constant with every constant of
/// the model, and a ResNet-50 whose weights are `ConstantOfShape` fills compared 100 MB of
/// equal zeros that way.
impl PartialEq for Const {
    fn eq(&self, other: &Const) -> bool {
        if self.1 != other.1 {
            return false;
        }
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        let (a, b) = (&*self.0, &*other.0);
        if a.datum_type() != b.datum_type() || a.shape() != b.shape() {
            return false;
        }
        match (&self.2, &other.2) {
            (Some(x), Some(y)) => x == y,
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => a == b,
        }
    }
}

fn plain_uniform(tensor: &Tensor, exotic: bool) -> Option<Arc<Tensor>> {
    if exotic { None } else { tensor.as_uniform().map(Arc::new) }
}

impl Const {
    pub fn new(tensor: Arc<Tensor>) -> TractResult<Const> {
        Self::new_with_opt_exotic_fact(tensor, None)
    }

    pub fn new_with_exotic_fact(
        tensor: Arc<Tensor>,
        fact: Box<dyn ExoticFact>,
    ) -> TractResult<Const> {
        Self::new_with_opt_exotic_fact(tensor, Some(fact))
    }

    pub fn new_with_opt_exotic_fact(
        tensor: Arc<Tensor>,
        fact: Option<Box<dyn ExoticFact>>,
    ) -> TractResult<Const> {
        ensure!(fact.is_some() || tensor.is_plain(), "Exotic tensor requires an exotic_fact");
        // A plain constant holds plain host bytes: storage that left them on a
        // device brings them back rather than pinning the buffer for the life
        // of the model.
        let tensor = if fact.is_none() && !tensor.has_plain_ram_storage() {
            Arc::new(Arc::unwrap_or_clone(tensor).into_plain_ram()?)
        } else {
            tensor
        };
        let uniform = plain_uniform(&tensor, fact.is_some());
        Ok(Const(tensor, fact, uniform))
    }

    pub fn val(&self) -> &Arc<Tensor> {
        &self.0
    }

    pub fn exotic_fact(&self) -> Option<&dyn ExoticFact> {
        self.1.as_deref()
    }
}

impl Op for Const {
    fn name(&self) -> StaticName {
        "Const".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Const {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, _inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        Ok(tvec![Arc::clone(&self.0).into_tvalue()])
    }
}

impl TypedOp for Const {
    as_op!();

    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = if self.1.is_some() {
            // Exotic const tensors (e.g. device-backed) may have storage that
            // cannot produce an ExoticFact (like DeviceTensor). Build the fact
            // from dt/shape and attach the explicit exotic_fact from self.1.
            let mut f = TypedFact::dt_shape(
                self.0.datum_type(),
                ShapeFact::from_dims(self.0.shape().iter().map(TDim::from)),
            );
            f.konst = Some(Arc::clone(&self.0));
            f.exotic_fact.clone_from(&self.1);
            f
        } else {
            // Plain tensor: uniform as computed at construction; uniform_tdim, exotic_fact
            // from storage.
            TypedFact::from_tensor_and_uniform(Arc::clone(&self.0), self.2.clone())?
        };
        Ok(tvec!(fact))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec!((Cost::Params(self.0.datum_type().unquantized()), self.0.len().into())))
    }

    fn set_symbols(
        &self,
        _source: &TypedModel,
        node: &TypedNode,
        target: &mut TypedModel,
        _mapping: &HashMap<OutletId, OutletId>,
        subs: &HashMap<Symbol, TDim>,
    ) -> TractResult<TVec<OutletId>> {
        let op = if self.0.datum_type() == TDim::datum_type() {
            let mut tensor = self.0.clone().into_tensor();
            for d in tensor.try_as_plain_ram_mut()?.as_slice_mut::<TDim>()? {
                *d = d.substitute_all(subs)?;
            }
            let uniform = plain_uniform(&tensor, self.1.is_some());
            Const(tensor.into_arc_tensor(), self.1.clone(), uniform)
        } else {
            self.clone()
        };
        target.wire_node(&node.name, op, &[])
    }

    fn change_axes(
        &self,
        _model: &TypedModel,
        _node: &TypedNode,
        io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        anyhow::ensure!(io == InOut::Out(0));
        let mut new_tensor = self.0.clone().into_tensor();
        if change.change_tensor(&mut new_tensor, false).is_ok() {
            // A permutation or reshape of the same values: uniform exactly when they were.
            let uniform = self.2.clone();
            let mut sub = Const(new_tensor.into_arc_tensor(), None, uniform);
            if self.1.is_some() {
                let my_fact = self.output_facts(&[])?;
                let changed_fact = change.output_facts(&[&my_fact[0]])?;
                sub.1 = changed_fact[0].exotic_fact.clone();
            }
            Ok(Some(AxisChangeConsequence {
                substitute_op: Some(Box::new(sub)),
                wire_changes: tvec!((io, change.clone())),
            }))
        } else {
            Ok(None)
        }
    }
}
