// The shared verification vectors (tests/shared/verification.mjs) inside workerd, through the
// package's workerd entry: GET / runs every case against the registry fixtures at env.BASE and
// answers the verdicts as JSON. Started by tests/edge/edge.test.mjs (verification.capnp).
import * as pkg from "edge-registry";
import { runVerification } from "verification.mjs";

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname !== "/") return new Response("not found", { status: 404 });
    try {
      return Response.json(await runVerification(pkg, env.BASE));
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
