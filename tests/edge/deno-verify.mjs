// The shared verification vectors (tests/shared/verification.mjs) in Deno, through the package's
// Deno entry (pkg/deno.js). Prints the verdicts as one JSON line; tests/edge/edge.test.mjs runs
// it (`deno run --allow-read --allow-net --allow-env tests/edge/deno-verify.mjs BASE`) and
// compares them with the expected ones and with Node's and workerd's.
import { runVerification } from "../shared/verification.mjs";

const dir = Deno.env.get("PKG_DIR") ? new URL(`file://${Deno.env.get("PKG_DIR").replace(/\/?$/, "/")}`) : new URL("../../pkg/", import.meta.url);
const pkg = await import(new URL("deno.js", dir).href);
const base = Deno.args[0];
if (!base) {
  console.error("usage: deno-verify.mjs BASE_URL");
  Deno.exit(2);
}
console.log(JSON.stringify({ runtime: `deno ${Deno.version.deno}`, verdicts: await runVerification(pkg, base) }));
