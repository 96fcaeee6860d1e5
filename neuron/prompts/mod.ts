/**
 * From a request body to prompt tokens without stalling the neuron: each inference route's
 * parse / render / tokenize work as plain functions ({@linkcode PROMPT_JOBS}), and a pool that
 * runs them in workers for large bodies.
 *
 * @example
 * ```ts ignore
 * import { PromptPool } from "./prompts/mod.ts";
 * const pool = new PromptPool();
 * const job = await pool.parse("chat", bytes);
 * const prompt = await job.build(registry.acquire(job.request.model), { inlineThinking: false });
 * ```
 * @module
 */
export * from "./jobs.ts";
export * from "./pool.ts";
