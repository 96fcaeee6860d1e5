/**
 * Reading and validating the three config files. Every failure is a {@linkcode ConfigError}
 * naming the file, the key path and what was expected.
 *
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import type { Schema } from "../schema.ts";
import { describeIssues } from "../errors/zod_issues.ts";
import { _dirname, _resolvePath } from "./_common.ts";
import { ConfigError } from "./config_error.ts";
import { type CortexConfig, CortexConfigSchema } from "./cortex_config.ts";
import { type ModelsConfig, ModelsConfigSchema } from "./models_config.ts";
import { type NeuronConfig, NeuronConfigSchema } from "./neuron_config.ts";

/** Options of the `parse*Config` functions. */
export interface ParseConfigOptions {
  /** File name used in messages (default: the conventional name, e.g. `cortex.toml`). */
  file?: string;
  /** Directory relative paths in the file are resolved against (default: left relative). */
  baseDir?: string;
}

/**
 * Validates an already-parsed value (e.g. a config built in code) against a config
 * schema, applying its defaults.
 */
export function validateConfig<T>(schema: Schema<T>, value: unknown, file: string): T {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw ConfigError.invalid(file, describeIssues(parsed.error));
  return parsed.data;
}

/** Parses TOML text and validates it against `schema`. */
export function parseTomlConfig<T>(schema: Schema<T>, text: string, file: string): T {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new ConfigError(
        "config_syntax",
        file,
        `${file}: invalid TOML at line ${error.line}, column ${error.column}: ${reason}`,
      );
    }
    throw new ConfigError("config_syntax", file, `${file}: invalid TOML: ${String(error)}`);
  }
  return validateConfig(schema, raw, file);
}

/** Parses `cortex.toml` text; `models_config` is resolved against `baseDir` when given. */
export function parseCortexConfig(text: string, options: ParseConfigOptions = {}): CortexConfig {
  const config = parseTomlConfig(CortexConfigSchema, text, options.file ?? "cortex.toml");
  return { ...config, models_config: _resolvePath(options.baseDir, config.models_config) };
}

/** Parses `models.toml` text. */
export function parseModelsConfig(text: string, options: ParseConfigOptions = {}): ModelsConfig {
  return parseTomlConfig(ModelsConfigSchema, text, options.file ?? "models.toml");
}

/** Parses `neuron.toml` text; model paths, `models_dir`, `plugin` and `hub.cache_dir` are resolved against `baseDir`. */
export function parseNeuronConfig(text: string, options: ParseConfigOptions = {}): NeuronConfig {
  const config = parseTomlConfig(NeuronConfigSchema, text, options.file ?? "neuron.toml");
  const at = (p: string | null): string | null => (p === null ? null : _resolvePath(options.baseDir, p));
  return {
    ...config,
    plugin: at(config.plugin),
    models_dir: at(config.models_dir),
    hub: { ...config.hub, cache_dir: at(config.hub.cache_dir) },
    models: config.models.map((m) => ({ ...m, path: at(m.path) })),
  };
}

async function _readConfigFile(path: string, missingOk: boolean): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if (missingOk) return null;
      throw new ConfigError("config_not_found", path, `${path}: file not found`);
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError("config_unreadable", path, `${path}: cannot read: ${reason}`);
  }
}

/** Reads and validates `cortex.toml` at `path`; `models_config` is resolved next to it. */
export async function loadCortexConfig(path: string): Promise<CortexConfig> {
  const text = (await _readConfigFile(path, false)) as string;
  return parseCortexConfig(text, { file: path, baseDir: _dirname(path) });
}

/** Reads and validates `models.toml`; with `missingOk`, a missing file is an empty catalogue. */
export async function loadModelsConfig(
  path: string,
  options: { missingOk?: boolean } = {},
): Promise<ModelsConfig> {
  const text = await _readConfigFile(path, options.missingOk ?? false);
  if (text === null) return { models: [], aliases: {}, allow_unlisted: false };
  return parseModelsConfig(text, { file: path });
}

/** Reads and validates `neuron.toml`; relative paths are resolved next to it. */
export async function loadNeuronConfig(path: string): Promise<NeuronConfig> {
  const text = (await _readConfigFile(path, false)) as string;
  return parseNeuronConfig(text, { file: path, baseDir: _dirname(path) });
}
