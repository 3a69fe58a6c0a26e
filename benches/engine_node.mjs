// Engine benchmark in Node: node benches/engine_node.mjs PKG_DIR LABEL
import { readFileSync } from "node:fs";
import { benchModels } from "./engine_core.mjs";

const [pkgDir = "pkg", label = "node"] = process.argv.slice(2);
const root = new URL("../", import.meta.url);
const lib = await import(new URL(`${pkgDir}/edge_registry.js`, root));
lib.initSync({ module: readFileSync(new URL(`${pkgDir}/edge_registry_bg.wasm`, root)) });
const index = JSON.parse(readFileSync(new URL("tests/fixtures/models/index.json", root)));
const models = index.models.map((m) => {
  const dir = new URL(`tests/fixtures/models/${m.dir}/`, root);
  const expected = JSON.parse(readFileSync(new URL("expected.json", dir)));
  const input = expected.batch64.inputs.input;
  return {
    name: m.dir,
    bytes: readFileSync(new URL("model.onnx", dir)),
    card: JSON.parse(readFileSync(new URL("card.json", dir))),
    input: { data: Float32Array.from(input.data), shape: input.shape },
  };
});
console.log(JSON.stringify({ runtime: label, results: await benchModels(lib, models) }));
