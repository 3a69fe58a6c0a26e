// The demo page. Everything runs in this browser: the WebAssembly module is loaded from /pkg/.
import init, { version, Sha256Hasher } from "/pkg/edge_registry.js";

const $ = (id) => document.getElementById(id);

function describe(err) {
  // Errors from the library carry a stable `code`; show words, never a stack trace.
  if (err && err.code) return `${err.message} (${err.code})`;
  return err && err.message ? err.message : String(err);
}

async function main() {
  const status = $("status");
  try {
    await init();
    $("version").textContent = version();
    status.textContent = "WebAssembly module loaded";
    status.dataset.state = "ok";
  } catch (err) {
    status.textContent = `could not load the WebAssembly module: ${describe(err)}`;
    status.dataset.state = "error";
    return;
  }

  $("hash-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const out = $("hash-out");
    const hasher = new Sha256Hasher();
    try {
      const reader = file.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hasher.update(value);
      }
      out.textContent = `sha256 ${hasher.finish()} (${file.size} bytes)`;
    } catch (err) {
      out.textContent = describe(err);
    }
  });
}

main();
