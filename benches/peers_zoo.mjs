// The zoo cases the peer benchmarks time (scripts/bench-peers): every model of
// scripts/zoo/models.json whose file and main case (input.json, onnxruntime's expected.json)
// zoo.py has written under target/zoo/. Node only; the timing itself is peers_core.mjs's
// benchZoo, the same in Node and in the page.
import { existsSync, readFileSync } from "node:fs";
import { root } from "../tests/js/helpers.mjs";

const at = (rel) => new URL(rel, root);

/** [{ name, model, input, expected, mb }]: paths from the repository root. */
export function zooCases() {
  const { models } = JSON.parse(readFileSync(at("scripts/zoo/models.json"), "utf8"));
  return models
    .map((m) => ({
      name: m.name,
      mb: m.model_bytes / 1e6,
      model: `target/zoo/models/${m.name}.onnx`,
      input: `target/zoo/cases/${m.name}/input.json`,
      expected: `target/zoo/cases/${m.name}/expected.json`,
    }))
    .filter((c) => [c.model, c.input, c.expected].every((p) => existsSync(at(p))));
}

/** A case's bytes and tensors, as benchZoo takes them. */
export function readZooCase(c) {
  const json = (p) => JSON.parse(readFileSync(at(p), "utf8"));
  return { name: c.name, bytes: readFileSync(at(c.model)), input: json(c.input), expected: json(c.expected) };
}
