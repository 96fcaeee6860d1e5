/**
 * The neuron control API shared by the gateway's client and the neuron's server:
 * `/version`, `/discovery`, `/health`, `/models`, `/models/load`, `/models/unload`,
 * `/tokenize`, their error codes, and hub model ids; and the gateway's admin API
 * (`/admin/fleet`, `/admin/load`, `/admin/unload`, `/admin/placement`) and `/health` document.
 *
 * @example
 * ```ts
 * import { NEURON_ROUTES, NeuronHealthSchema } from "@cortex/core/fleet";
 * const res = await fetch(`http://127.0.0.1:13131${NEURON_ROUTES.health}`);
 * const health = NeuronHealthSchema.parse(await res.json());
 * console.log(health.models.map((m) => `${m.id}: ${m.in_flight} in flight`));
 * ```
 * @module
 */
export * from "./version.ts";
export * from "./discovery.ts";
export * from "./health.ts";
export * from "./models.ts";
export * from "./tokenize.ts";
export * from "./errors.ts";
export * from "./model_id.ts";
export * from "./routes.ts";
export * from "./admin.ts";
export * from "../schema.ts";
