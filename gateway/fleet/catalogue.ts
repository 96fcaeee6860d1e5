/**
 * The model catalogue from `models.toml`: alias resolution, profiles, residency classes,
 * and the mapping between the id clients use and the id a neuron loads (a profile's
 * `source`, when set).
 *
 * @module
 */
import {
  effectiveResidencyPriority,
  type ModelProfile,
  type ModelsConfig,
  resolveAlias,
} from "@cortex/core/config";

/** Read-only view of `models.toml`. */
export class Catalogue {
  readonly #config: ModelsConfig;
  readonly #profiles: Map<string, ModelProfile>;
  readonly #bySource: Map<string, string>;

  /** Indexes the parsed catalogue. */
  constructor(config: ModelsConfig) {
    this.#config = config;
    this.#profiles = new Map(config.models.map((m) => [m.id, m]));
    this.#bySource = new Map(config.models.filter((m) => m.source).map((m) => [m.source as string, m.id]));
  }

  /** An empty catalogue (no `models.toml`). */
  static empty(): Catalogue {
    return new Catalogue({ models: [], aliases: {}, allow_unlisted: false });
  }

  /** Profiles in file order. */
  get profiles(): readonly ModelProfile[] {
    return this.#config.models;
  }

  /** Whether admin keys may load hub ids that are not listed (`allow_unlisted`). */
  get allowUnlisted(): boolean {
    return this.#config.allow_unlisted;
  }

  /** Alias → model id. */
  get aliases(): Readonly<Record<string, string>> {
    return this.#config.aliases;
  }

  /** The model id a requested name resolves to (aliases: one lookup, no chaining). */
  resolve(requested: string): string {
    return resolveAlias(this.#config, requested);
  }

  /** The profile of a model id, if declared. */
  profile(id: string): ModelProfile | undefined {
    return this.#profiles.get(id);
  }

  /** The id a neuron loads and serves the model under. */
  neuronId(id: string): string {
    return this.#profiles.get(id)?.source ?? id;
  }

  /** The id clients use for a model a neuron reports under `neuronModelId`. */
  publicId(neuronModelId: string): string {
    return this.#bySource.get(neuronModelId) ?? neuronModelId;
  }

  /** Residency class of a model id (uncatalogued models rank 100). */
  priority(id: string): number {
    return effectiveResidencyPriority(this.#profiles.get(id));
  }

  /** Aliases pointing at a model id. */
  aliasesOf(id: string): string[] {
    return Object.entries(this.#config.aliases).filter(([, target]) => target === id).map(([alias]) => alias);
  }
}
