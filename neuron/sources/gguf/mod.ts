/**
 * GGUF files in TypeScript: headers read (metadata, tensor infos and alignment, without touching
 * the tensor data) for model inspection, memory estimates and the tokenizer and chat template a
 * GGUF file carries; and GGUF files written, streamed to disk or to memory (the bench's converter,
 * the tests' derived and broken files).
 *
 * @example
 * ```ts ignore
 * import { metaString, readGgufHeader } from "./mod.ts";
 * const header = await readGgufHeader("model-Q8_0.gguf");
 * metaString(header, "general.architecture"); // "qwen3"
 * header.tensorBytes; // bytes of weights
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./read_header.ts";
export * from "./metadata.ts";
export * from "./write.ts";
