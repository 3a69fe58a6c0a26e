// A worker for the Cache API store test (tests/edge/edge.test.mjs): every request is what a new
// isolate of an edge worker would do, over the one `caches.default` all of them share (in
// plain workerd, the in-memory stand-in of examples/edge-worker/local-cache.js).
//
//   POST /fetch  {url, root, ref, registryId?}  a fresh client over cacheApiStore(caches.default),
//                pinned to `root` (text): refresh, then fetchModel(ref). Answers what happened:
//                {refresh: {offline, rootVersion} | {error}, model: {sha256, source} | {error}}.
//   GET  /namespaces                            the registry namespaces (`r/<anchor>`) the store
//                                               lists, in the order they first appear.
//   POST /copy   {from, to}                     a foreign writer: every key of namespace `from`
//                                               copied over namespace `to`.
import * as pkg from "edge-registry";

const MANIFEST = "__edge_registry_keys__";
const store = () => pkg.cacheApiStore(caches.default);
const ns = (k) => k.split("/").slice(0, 2).join("/");

async function listed(s) {
  const m = await s.get(MANIFEST);
  return m ? JSON.parse(new TextDecoder().decode(m)) : [];
}

const routes = {
  async "/fetch"(body) {
    const reg = await pkg.Registry.open({
      url: body.url, trustedRoot: body.root, cache: store(), registryId: body.registryId,
    });
    const out = {};
    try {
      const r = await reg.refresh();
      out.refresh = { offline: r.offline, rootVersion: r.roles.root.version };
    } catch (e) {
      out.refresh = { error: e.code ?? String(e) };
    }
    try {
      const m = await reg.fetchModel(body.ref);
      out.model = { sha256: m.sha256, source: m.source };
    } catch (e) {
      out.model = { error: e.code ?? String(e) };
    }
    return out;
  },
  async "/namespaces"() {
    return [...new Set((await listed(store())).filter((k) => k.startsWith("r/")).map(ns))];
  },
  async "/copy"(body) {
    const s = store();
    const keys = await listed(s);
    let copied = 0;
    for (const k of keys.filter((k) => ns(k) === body.from)) {
      const v = await s.get(k);
      if (!v) continue;
      const target = body.to + k.slice(body.from.length);
      await s.put(target, v);
      if (!keys.includes(target)) keys.push(target);
      copied++;
    }
    await s.put(MANIFEST, new TextEncoder().encode(JSON.stringify(keys)));
    return { copied };
  },
};

export default {
  async fetch(request) {
    const route = routes[new URL(request.url).pathname];
    if (!route) return new Response("not found", { status: 404 });
    try {
      const body = request.method === "POST" ? await request.json() : {};
      return Response.json(await route(body));
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
