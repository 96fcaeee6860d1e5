/**
 * The FFI table of `cuda_plugin/include/cortex_plugin.h` and the one `Deno.dlopen` of the project.
 * Only `cx_wait_any` is nonblocking: it is the completion queue's single waiting call.
 * @module
 */

import { PluginError } from "./errors.ts";

/** ABI version this wrapper was written against (CX_ABI_VERSION). */
export const EXPECTED_ABI_VERSION = 5;

/** Field counts and indexes mirrored from cortex_plugin.h. */
export const CX = Object.freeze({
  OK: 0,
  PENDING: 1,
  DEVICE_FIELDS: 8,
  MODEL_FIELDS: 40,
  SAMPLING_FIELDS: 8,
  STEP_SAMPLE: 1,
  STEP_LOGITS: 2,
  STEP_ALL_LOGITS: 4,
  STEP_LOGPROBS: 8,
  STEP_ALLOWED_ONLY: 16,
  STEP_SNAPSHOT: 32,
  MAX_TOP_LOGPROBS: 20,
  LOGIT_BIAS_MAX: 100,
  PREFIX_BLOCK_TOKENS: 32,
});

/** Indexes of `cx_device_info`'s int64 fields (CX_DEVICE_FIELD_* in cortex_plugin.h). */
export const DEVICE_FIELD = Object.freeze({
  BACKEND: 0,
  MEMORY_TOTAL: 1,
  MEMORY_FREE: 2,
  THREADS: 3,
  POISONED: 4,
  CC_MAJOR: 5,
  CC_MINOR: 6,
  CPU_ISA: 7,
});

/** Indexes of `cx_model_info`'s int64 fields (CX_MODEL_FIELD_* in cortex_plugin.h). */
export const MODEL_FIELD = Object.freeze({
  VOCAB: 0,
  CONTEXT: 1,
  HIDDEN: 2,
  LAYERS: 3,
  DTYPE: 4,
  WEIGHT_BYTES: 5,
  KV_BYTES: 6,
  BOS: 7,
  MAX_SEQUENCES: 8,
  N_DEVICES: 9,
  DEVICES: 10,
  N_EOS: 18,
  EOS: 19,
  WEIGHT_DTYPE: 27,
  PREFIX_REUSE: 28,
  PREFIX_BLOCK_BYTES: 29,
  LOAD_US: 30,
  LOAD_READ_US: 31,
  LOAD_ALLOCATE_US: 32,
  LOAD_REPACK_US: 33,
  REPACK_PENDING_BYTES: 34,
  REPACK_US: 35,
  REPACK_READY_US: 36,
  REPACK_FAILED: 37,
  REPACK_DEFERRED_BYTES: 38,
});

const SYMBOLS = {
  cx_abi_version: { parameters: [], result: "i32" },
  cx_runtime_open: { parameters: ["i32", "i64", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_runtime_open_ex: { parameters: ["i32", "i64", "i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_runtime_close: { parameters: ["i32"], result: "i32" },
  cx_shutdown: { parameters: [], result: "void" },
  cx_device_count: { parameters: ["i32"], result: "i32" },
  cx_device_info: {
    parameters: ["i32", "i32", "buffer", "buffer", "i32", "buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  cx_wait_any: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  cx_job_sizes: { parameters: ["i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_job_take: { parameters: ["i32", "i32", "buffer", "i64", "buffer", "i64"], result: "i32" },
  cx_submit_load: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32", "i32", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_submit_load_ex: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32", "i32", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_submit_load_repack: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32", "i32", "buffer", "i32", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_model_info: { parameters: ["i32", "i32", "buffer", "buffer", "i32", "buffer", "i32"], result: "i32" },
  cx_submit_unload: { parameters: ["i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_submit_new_sequence: { parameters: ["i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_submit_new_sequence_ex: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_submit_new_sequence_from_blocks: {
    parameters: ["i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_submit_prefix_store: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_submit_prefix_drop: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  cx_submit_free_sequence: { parameters: ["i32", "i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_submit_step: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i32",
    ],
    result: "i32",
  },
  cx_submit_step_ex: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i32",
    ],
    result: "i32",
  },
  cx_submit_memory_query: { parameters: ["i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_debug_submit_sleep: { parameters: ["i32", "i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_debug_submit_fault: { parameters: ["i32", "i32", "buffer", "buffer", "i32"], result: "i32" },
  cx_debug_submit_bandwidth: { parameters: ["i32", "i32", "i64", "buffer", "buffer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened plugin library. */
export type PluginLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** Default plugin path: the build output of `deno task build:plugin` in this repository. */
export function defaultLibraryPath(): string {
  return new URL("../../cuda_plugin/build/libcortex_plugin.so", import.meta.url).pathname;
}

/** Opens the plugin; a missing file or symbol becomes a PluginError. */
export function openLibrary(path: string): PluginLibrary {
  try {
    return Deno.dlopen(path, SYMBOLS);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const code = error instanceof Deno.errors.NotCapable ? "invalid_argument" : "not_found";
    throw new PluginError(
      code,
      `cannot open the plugin at ${path} (run \`deno task build:plugin\`): ${reason}`,
    );
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A NUL-terminated UTF-8 copy of `text` for `const char*` parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The text of a NUL-terminated buffer written by the plugin. */
export function readCString(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return decoder.decode(end < 0 ? buffer : buffer.subarray(0, end));
}
