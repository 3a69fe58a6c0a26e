// The demo page's Web Worker: the package's own worker (pkg/worker.js, which the page drives
// through ModelWorker) plus a demo-only hook on the worker's `fetch`, which the library looks
// up on globalThis at every request:
//
// - Tampering. While the page's "tamper" toggle is on, one byte in the middle of every ONNX
//   target downloaded from a registry is flipped on its way in (the response is otherwise
//   unchanged: status, headers, length), so the page can show the library refusing it
//   (HASH_MISMATCH) and caching nothing.
//
// Messages for the hook carry a `demo` field; every other message goes to the package's
// worker unchanged. Nothing here is needed by applications. The hooks (demo-hooks.js) are
// imported first, so their message listener runs before the package's.
import "./demo-hooks.js";
import "./pkg/worker.js";
