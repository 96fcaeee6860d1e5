/**
 * The engine's TypeScript surface: the only module of the project that loads the native plugin
 * (`Deno.dlopen`). Devices, models and sequences, with every device call awaited through one
 * completion queue so the event loop is never blocked by device work.
 *
 * @example
 * ```ts ignore
 * import { GREEDY, Plugin } from "./mod.ts";
 * const plugin = Plugin.open();
 * const model = await plugin.loadModel("/models/stories260K");
 * const sequence = await model.newSequence();
 * const [first] = await model.step([{ sequence, tokens: [1], sampling: GREEDY }]);
 * console.log(first.token);
 * await model.unload();
 * plugin.close();
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./plugin.ts";
export * from "./model.ts";
