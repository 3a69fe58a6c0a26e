// A stand-in for Cloudflare's colo cache when the worker runs in plain workerd: the service
// workerd sends Cache API operations to (`cacheApiOutbound` in config.capnp). It keeps entries
// in memory, in its own isolate, so they outlive the main worker's isolate but not the process.
//
// The protocol (workerd's side of caches.default): put is `PUT <key url>` with the response
// serialised as HTTP/1.1 in the body (answer 204); match is `GET <key url>` (answer the stored
// response with `cf-cache-status: HIT`, or `cf-cache-status: MISS`); delete is `PURGE <key url>`
// (200, or 404 when absent). Named caches (caches.open) send `cf-cache-namespaces`.
const entries = new Map();
const MAX_BYTES = 256 * 1024 * 1024;
let bytes = 0;

function keyOf(request) {
  return `${request.headers.get("cf-cache-namespaces") ?? ""} ${request.url}`;
}

/** Splits a serialised HTTP/1.1 response into status, headers and body. */
function parse(raw) {
  let end = -1;
  for (let i = 0; i + 3 < raw.length; i++) {
    if (raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10) { end = i; break; }
  }
  if (end < 0) return null;
  const head = new TextDecoder().decode(raw.subarray(0, end)).split("\r\n");
  const status = Number(head[0].split(" ")[1]);
  const headers = new Headers();
  for (const line of head.slice(1)) {
    const at = line.indexOf(":");
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if ((headers.get("transfer-encoding") ?? "").toLowerCase() === "chunked") {
    const parts = [];
    let at = 0;
    for (;;) {
      let eol = at;
      while (eol + 1 < body.length && !(body[eol] === 13 && body[eol + 1] === 10)) eol++;
      const size = parseInt(new TextDecoder().decode(body.subarray(at, eol)), 16);
      if (!Number.isFinite(size) || size === 0) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { joined.set(p, o); o += p.length; }
    body = joined;
    headers.delete("transfer-encoding");
    headers.set("content-length", String(body.length));
  }
  return { status, headers, body };
}

export default {
  async fetch(request) {
    const key = keyOf(request);
    if (request.method === "PUT") {
      const raw = new Uint8Array(await request.arrayBuffer());
      const parsed = parse(raw);
      if (!parsed || raw.length > MAX_BYTES) return new Response(null, { status: 413 });
      const old = entries.get(key);
      if (old) bytes -= old.body.length;
      entries.set(key, parsed);
      bytes += parsed.body.length;
      // Evict the oldest entries past the budget, as a real cache may at any time.
      for (const [k, v] of entries) {
        if (bytes <= MAX_BYTES) break;
        entries.delete(k);
        bytes -= v.body.length;
      }
      return new Response(null, { status: 204 });
    }
    if (request.method === "GET") {
      const hit = entries.get(key);
      if (!hit) return new Response(null, { status: 504, headers: { "cf-cache-status": "MISS" } });
      const headers = new Headers(hit.headers);
      headers.set("cf-cache-status", "HIT");
      return new Response(hit.body.slice(), { status: hit.status, headers });
    }
    if (request.method === "PURGE") {
      const hit = entries.get(key);
      if (!hit) return new Response(null, { status: 404 });
      entries.delete(key);
      bytes -= hit.body.length;
      return new Response(null, { status: 200 });
    }
    return new Response(null, { status: 405 });
  },
};
