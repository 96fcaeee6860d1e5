/**
 * The gateway's model catalogue `models.toml`: one profile per model (memory needs,
 * placement rules, residency priority, limits, cost, capabilities) and aliases.
 *
 * @module
 */
import { z } from "zod";
import { _zod } from "../_zod.ts";
import type { Schema } from "../schema.ts";
import { type ModelCost, ModelCostSchema, type ModelLimit, ModelLimitSchema } from "../openai/model_list.ts";
import { _checkUnique } from "./_common.ts";

/** Residency class of a profile without `residency_priority` or `pinned_on`. */
export const DEFAULT_RESIDENCY_PRIORITY = 100;
/** Residency class of a profile with `pinned_on` and no explicit `residency_priority`. */
export const PINNED_RESIDENCY_PRIORITY = 1000;

/** One `[[models]]` profile, defaults applied. */
export interface ModelProfile {
  /** Model id as neurons know it (`org/name`, or a configured id). */
  id: string;
  /** Other names that resolve to this id. */
  aliases: string[];
  /** Engine name sent in load requests (default `native`). */
  harness: string;
  /** Quantisation tag, or null for full precision. */
  quant: string | null;
  /** Device memory the model needs when resident, in MB (null: unknown, treated as 0). */
  vram_mb: number | null;
  /** Devices it needs on one node (tensor-parallel size when > 1). */
  min_devices: number;
  /** Each of those devices must have at least this much total memory, in MB. */
  min_device_vram_mb: number | null;
  /** If non-empty, the only nodes it may be placed on (ranked first). */
  pinned_on: string[];
  /**
   * Residency class: may displace residents of its class or below, never above. Default:
   * 1000 when `pinned_on` is non-empty, else 100.
   */
  residency_priority: number;
  /** Token limits advertised on `/v1/models` until a neuron reports its own. */
  limit: ModelLimit | null;
  /** Declared price, surfaced on `/v1/models` (absent = not priced, distinct from 0 = free). */
  cost: ModelCost | null;
  /** Fallback modalities when no neuron has reported them. */
  capabilities: string[];
  /** Hub source `[scheme:]org/name` when the neuron should fetch a different id, else null. */
  source: string | null;
  /**
   * Seconds the model stays loaded after its last request (0: unloaded as soon as it is idle;
   * negative: never unloaded for idleness); null: `[eviction] ttl_s` of `cortex.toml`. A pinned
   * profile (`pinned_on`) is never unloaded for idleness.
   */
  ttl_s: number | null;
}

/** The whole `models.toml`, aliases merged from `[aliases]` and each profile's `aliases`. */
export interface ModelsConfig {
  /** Profiles in file order. */
  models: ModelProfile[];
  /** Alias → model id (one lookup, no chaining). */
  aliases: Record<string, string>;
  /**
   * Whether an admin key may load (`POST /admin/load`) a hub id that is neither listed here nor
   * offered by a neuron; the neuron estimates its memory and picks its devices (default false).
   */
  allow_unlisted: boolean;
}

/** The effective residency class: the explicit value, else 1000 if pinned, else 100. */
export function effectiveResidencyPriority(
  profile: { residency_priority?: number | null; pinned_on?: readonly string[] } | undefined,
): number {
  if (!profile) return DEFAULT_RESIDENCY_PRIORITY;
  if (profile.residency_priority !== undefined && profile.residency_priority !== null) {
    return profile.residency_priority;
  }
  return (profile.pinned_on?.length ?? 0) > 0 ? PINNED_RESIDENCY_PRIORITY : DEFAULT_RESIDENCY_PRIORITY;
}

const _profile = z.strictObject({
  id: z.string().min(1),
  aliases: z.array(z.string().min(1)).default([]),
  harness: z.string().min(1).default("native"),
  quant: z.string().nullish().transform((v) => v ?? null),
  vram_mb: z.number().min(0).nullish().transform((v) => v ?? null),
  min_devices: z.number().int().min(1).default(1),
  min_device_vram_mb: z.number().min(0).nullish().transform((v) => v ?? null),
  pinned_on: z.array(z.string().min(1)).default([]),
  residency_priority: z.number().int().min(0).nullish(),
  limit: _zod(ModelLimitSchema).nullish().transform((v) => v ?? null),
  cost: _zod(ModelCostSchema).nullish().transform((v) => v ?? null),
  capabilities: z.array(z.string()).default([]),
  source: z.string().min(1).nullish().transform((v) => v ?? null),
  ttl_s: z.number().nullish().transform((v) => v ?? null),
}).superRefine((profile, ctx) => {
  const limit = profile.limit;
  if (limit && limit.input !== undefined && limit.input > limit.context) {
    ctx.addIssue({
      code: "custom",
      path: ["limit", "input"],
      message: `expected at most limit.context (${limit.context}), got ${limit.input}`,
    });
  }
  if (limit && limit.output > limit.context) {
    ctx.addIssue({
      code: "custom",
      path: ["limit", "output"],
      message: `expected at most limit.context (${limit.context}), got ${limit.output}`,
    });
  }
}).transform((profile): ModelProfile => ({
  ...profile,
  residency_priority: effectiveResidencyPriority(profile),
}));

/** Schema of one profile. */
export const ModelProfileSchema: Schema<ModelProfile> = _profile;

/** Schema of `models.toml` with defaults and cross-checks (unique ids, unambiguous aliases). */
export const ModelsConfigSchema: Schema<ModelsConfig> = z.strictObject({
  models: z.array(_profile).default([]),
  aliases: z.record(z.string(), z.string().min(1)).default({}),
  allow_unlisted: z.boolean().default(false),
}).superRefine((config, ctx) => {
  const ids = new Set(config.models.map((m) => m.id));
  _checkUnique(config.models.map((m) => m.id), ["models"], "id", ctx);
  for (const [alias, target] of Object.entries(config.aliases)) {
    if (ids.has(alias)) {
      ctx.addIssue({
        code: "custom",
        path: ["aliases", alias],
        message: `alias shadows the model id ${alias}`,
      });
    }
    if (alias === target) {
      ctx.addIssue({ code: "custom", path: ["aliases", alias], message: "alias points to itself" });
    }
  }
  const claimed = new Map<string, string>();
  config.models.forEach((model, i) => {
    model.aliases.forEach((alias, j) => {
      const path = ["models", i, "aliases", j];
      const owner = claimed.get(alias);
      if (owner !== undefined && owner !== model.id) {
        ctx.addIssue({ code: "custom", path, message: `alias ${alias} is also an alias of ${owner}` });
      }
      claimed.set(alias, model.id);
      if (ids.has(alias)) {
        ctx.addIssue({ code: "custom", path, message: `alias shadows the model id ${alias}` });
      }
      const other = config.aliases[alias];
      if (other !== undefined && other !== model.id) {
        ctx.addIssue({ code: "custom", path, message: `alias ${alias} also maps to ${other} in [aliases]` });
      }
    });
  });
}).transform((config): ModelsConfig => {
  const aliases: Record<string, string> = { ...config.aliases };
  for (const model of config.models) for (const alias of model.aliases) aliases[alias] = model.id;
  return { models: config.models, aliases, allow_unlisted: config.allow_unlisted };
});

/** Resolves an alias to its model id (one lookup, no chaining); other ids pass through. */
export function resolveAlias(config: ModelsConfig, requested: string): string {
  return Object.hasOwn(config.aliases, requested) ? config.aliases[requested] : requested;
}
