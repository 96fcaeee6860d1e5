/**
 * `GET /version`: the build identity of a neuron (or gateway), static for the process
 * lifetime; benchmarks key results on it.
 *
 * @module
 */
import { z } from "zod";
import type { Schema } from "../schema.ts";

/** Build identity of a running process. */
export interface NeuronVersion {
  /** Package version, e.g. `0.1.0`. */
  package_version: string;
  /** Short git sha, `"unknown"` when not built from git. */
  git_sha: string;
  /** Whether the working tree had uncommitted changes. */
  git_dirty: boolean;
  /** Deno version running the process. */
  deno_version: string;
  /** ABI version of the loaded native plugin, or null before it is opened. */
  plugin_abi_version: number | null;
  /** Compiled-in backends and features, e.g. `["cpu", "avx2", "cuda"]`. */
  features: string[];
}

/** Schema of `GET /version`. */
export const NeuronVersionSchema: Schema<NeuronVersion> = z.looseObject({
  package_version: z.string(),
  git_sha: z.string().default("unknown"),
  git_dirty: z.boolean().default(false),
  deno_version: z.string().default("unknown"),
  plugin_abi_version: z.number().int().nullable().default(null),
  features: z.array(z.string()).default([]),
});
