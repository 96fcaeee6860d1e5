/**
 * The OpenAI `GET /v1/models` list, with the cortex extensions the gateway adds per model
 * (where it is loaded, what it can do, its limits and declared cost).
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";

/** Context/input/output token limits of a model. */
export interface ModelLimit {
  /** Whole context window in tokens. */
  context: number;
  /** Largest prompt in tokens. */
  input?: number;
  /** Largest completion in tokens. */
  output: number;
}

/** Declared price in USD per million tokens. */
export interface ModelCost {
  /** Prompt tokens. */
  input: number;
  /** Completion tokens. */
  output: number;
  /** Cached prompt tokens read. */
  cache_read?: number;
  /** Prompt tokens written to cache. */
  cache_write?: number;
}

/** Where one model is (or could be) on one node. */
export interface ModelLocation {
  /** Node name from `cortex.toml`. */
  node: string;
  /** Residency there. */
  status: "loaded" | "loading" | "unloading" | "failed" | "available";
  /** Memory it uses (or is estimated to use) there, in MB. */
  memory_mb: number | null;
}

/** One entry of `GET /v1/models`. */
export interface ModelListEntry {
  /** Model id or alias. */
  id: string;
  /** Always `"model"`. */
  object: "model";
  /** Unix seconds. */
  created: number;
  /** Owner label. */
  owned_by: string;
  /** Loaded on at least one node. */
  loaded?: boolean;
  /** Healthy nodes that could hold it. */
  feasible_on?: string[];
  /** Where it is. */
  locations?: ModelLocation[];
  /** Modalities: `text`, `vision`, `image`, … */
  capabilities?: string[];
  /** Tool calling supported. */
  tool_call?: boolean;
  /** Emits reasoning. */
  reasoning?: boolean;
  /** Token limits. */
  limit?: ModelLimit;
  /** Declared cost. */
  cost?: ModelCost;
  /** For an alias: the model id it resolves to. */
  alias_of?: string;
  /** Only in `GET /v1/models?all=true`, for an entry no healthy node can hold now: why (per node). */
  unavailable?: string;
  /** Other keys. */
  [extra: string]: unknown;
}

/** `GET /v1/models` body. */
export interface ModelList {
  /** Always `"list"`. */
  object: "list";
  /** Entries. */
  data: ModelListEntry[];
}

/** Schema of a model limit. */
export const ModelLimitSchema: Schema<ModelLimit> = z.looseObject({
  context: z.number().int().min(1),
  input: z.number().int().min(1).optional(),
  output: z.number().int().min(1),
});

/** Schema of a model cost. */
export const ModelCostSchema: Schema<ModelCost> = z.looseObject({
  input: z.number().min(0).default(0),
  output: z.number().min(0).default(0),
  cache_read: z.number().min(0).optional(),
  cache_write: z.number().min(0).optional(),
});

/** Schema of a `GET /v1/models` body. */
export const ModelListSchema: Schema<ModelList> = z.looseObject({
  object: z.literal("list"),
  data: z.array(z.looseObject({
    id: z.string(),
    object: z.literal("model"),
    created: z.number(),
    owned_by: z.string(),
    loaded: z.boolean().optional(),
    feasible_on: z.array(z.string()).optional(),
    locations: z.array(z.looseObject({
      node: z.string(),
      status: z.enum(["loaded", "loading", "unloading", "failed", "available"]),
      memory_mb: z.number().nullable(),
    })).optional(),
    capabilities: z.array(z.string()).optional(),
    tool_call: z.boolean().optional(),
    reasoning: z.boolean().optional(),
    limit: _zod(ModelLimitSchema).optional(),
    cost: _zod(ModelCostSchema).optional(),
    alias_of: z.string().optional(),
    unavailable: z.string().optional(),
  })),
});
