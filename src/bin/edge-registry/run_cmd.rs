//! `edge-registry run`: one inference from the terminal.

use std::path::PathBuf;

use clap::Args;
use edge_registry::engine::{Model, ModelSchema};
use edge_registry::error::ErrorCode;

use crate::remote::{RegistryArgs, Remote};
use crate::tensor_io;

/// Arguments of `edge-registry run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The ONNX model file, or NAME[@ALIAS|@VERSION] with --registry.
    #[arg(long, value_name = "FILE_OR_REF")]
    model: String,
    /// The registry the model is named in.
    #[command(flatten)]
    source: RegistryArgs,
    /// Inputs: a JSON file {name: {dtype, shape, data}} or a .npy file for a model with one input.
    #[arg(long)]
    input: PathBuf,
    /// A model card (JSON with `inputs` and `outputs`) the graph must match (a registry model
    /// is checked against its signed card).
    #[arg(long, conflicts_with = "registry")]
    card: Option<PathBuf>,
    /// Write the outputs here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Runs the command.
pub fn run(args: RunArgs) -> Result<(), String> {
    let coded = |e: &dyn ErrorCode| format!("{e} [{}]", e.code());
    let declared: Option<ModelSchema> = match &args.card {
        Some(p) => Some(
            serde_json::from_slice(&read(p)?).map_err(|e| format!("card {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let model = match Remote::open(&args.source)? {
        Some(remote) => remote.load(&args.model)?.model,
        None => {
            let bytes = read(&PathBuf::from(&args.model))?;
            Model::load(&bytes, declared.as_ref()).map_err(|e| coded(&e))?
        }
    };
    let input_bytes = read(&args.input)?;
    let is_npy = args
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let inputs = if is_npy {
        let [spec] = model.schema().inputs.as_slice() else {
            return Err(format!(
                "a .npy input needs a model with exactly one input; this one has {}",
                model.schema().inputs.len()
            ));
        };
        vec![edge_registry::engine::NamedTensor {
            name: spec.name.clone(),
            tensor: tensor_io::tensor_from_npy(&input_bytes)?,
        }]
    } else {
        let text = String::from_utf8(input_bytes)
            .map_err(|_| "the input JSON is not UTF-8".to_string())?;
        tensor_io::tensors_from_json(&text)?
    };
    let outputs = model.run(inputs).map_err(|e| coded(&e))?;
    let json = tensor_io::tensors_to_json(&outputs);
    match &args.out {
        Some(p) => {
            std::fs::write(p, json + "\n").map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => {
            println!("{json}");
            Ok(())
        }
    }
}
