// fileStore in Deno (pkg/deno.js): a registry cached in a directory, then a second client on
// the same directory with the registry unreachable, served from the files. Prints one JSON
// line; tests/edge/edge.test.mjs runs it (`deno run --allow-read --allow-write --allow-net
// --allow-env tests/edge/deno-files.mjs BASE DIR`).
const dir = Deno.env.get("PKG_DIR") ? new URL(`file://${Deno.env.get("PKG_DIR").replace(/\/?$/, "/")}`) : new URL("../../pkg/", import.meta.url);
const { Registry, fileStore } = await import(new URL("deno.js", dir).href);
const [base, cacheDir] = Deno.args;
const trustedRoot = await (await fetch(`${base}/root.json`)).arrayBuffer();
const open = (url) => Registry.open({ url, trustedRoot, cache: fileStore(cacheDir), registryId: "deno-files", retry: false });
const first = await open(`${base}/good`);
await first.refresh();
const a = await first.fetchModel("digits@production");
const second = await open("http://127.0.0.1:1/good");
const r = await second.refresh();
const b = await second.fetchModel("digits@production");
console.log(JSON.stringify({ runtime: `deno ${Deno.version.deno}`, first: a.source, offline: r.offline, second: b.source, same: a.sha256 === b.sha256 }));
