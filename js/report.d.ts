// Types of report.js: evaluation reports as the CLI's document.
import type { EvalReport } from "./edge_registry.js";

/** The report as the versioned document `edge-registry eval --out` writes (snake_case keys). */
export declare function reportDocument(report: EvalReport): Record<string, any>;
