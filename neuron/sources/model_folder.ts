/**
 * Checks a local Hugging Face model folder before it goes to the engine: it must exist
 * and hold `config.json`, safetensors weights and `tokenizer.json`. Also estimates the
 * memory a load will need, so an over-budget load is refused with numbers rather than
 * attempted.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";
import { checkIsqQuant, isqWeightBytes } from "./isq_estimate.ts";
import { textConfig } from "./config_shape.ts";
import { configWeightBytes, configWeights } from "./config_weights.ts";
import {
  isUnservedTensor,
  kvBytesPerToken,
  sequenceStateBytes,
  unservedTensorBytes,
} from "./hybrid_layers.ts";
import { readSafetensorsTensors, type SafetensorsTensor } from "./safetensors_header.ts";

/** What a model folder holds. */
export interface ModelFolderInfo {
  /** The folder. */
  path: string;
  /** Parsed `config.json`. */
  config: Record<string, unknown>;
  /** `architectures[0]` from `config.json`, e.g. `Qwen3ForCausalLM`. */
  architecture: string | null;
  /** Safetensors files (relative names). */
  weightFiles: string[];
  /** Their total size in bytes. */
  weightBytes: number;
  /** `max_position_embeddings`, or null. */
  maxPositionEmbeddings: number | null;
  /** KV-cache bytes per token per sequence, assuming f32 storage (an upper bound). */
  kvBytesPerToken: number;
  /** Fixed per-sequence state bytes besides the KV cache (hybrids' DeltaNet layers); absent: none. */
  stateBytesPerSequence?: number;
  /**
   * The weights' type as the engine will hold them: the stored dtype holding most elements
   * (`F32`, `BF16`, …), the ISQ target (`Q8_0`, …) when quantized at load, or the main type of
   * a GGUF file; null when the safetensors headers cannot be read.
   */
  weightType: string | null;
}

function _bad(message: string): CortexError {
  return new CortexError(message, { code: "bad_model_folder", status: 422 });
}

/**
 * Inspects a folder; throws a 422 `bad_model_folder` naming what is missing. With `quant`
 * (an ISQ type, see {@linkcode checkIsqQuant}) the weight bytes are those after quantizing.
 *
 * @example
 * ```ts
 * import { inspectModelFolder } from "./model_folder.ts";
 * const info = await inspectModelFolder("neuron/testdata/models/tiny-qwen3-f32");
 * info.architecture; // "Qwen3ForCausalLM"
 * ```
 */
export async function inspectModelFolder(
  path: string,
  quant: string | null = null,
): Promise<ModelFolderInfo> {
  if (quant !== null) quant = checkIsqQuant(quant);
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw _bad(`model folder ${path} does not exist`);
    throw _bad(`model folder ${path} cannot be read: ${(error as Error).message}`);
  }
  if (!stat.isDirectory) throw _bad(`model folder ${path} is not a directory`);
  const config = await _readConfig(path);
  const weightFiles = await _weightFiles(path);
  if (weightFiles.length === 0) {
    throw _bad(
      `model folder ${path} has no safetensors weights (model.safetensors or model.safetensors.index.json)`,
    );
  }
  let weightBytes = 0;
  const tensors: SafetensorsTensor[] = [];
  for (const file of weightFiles) {
    try {
      weightBytes += (await Deno.stat(`${path}/${file}`)).size;
    } catch {
      throw _bad(`model folder ${path}: weight shard ${file} is missing`);
    }
  }
  try {
    for (const file of weightFiles) tensors.push(...await readSafetensorsTensors(`${path}/${file}`));
  } catch (error) {
    // Without ISQ a broken shard is the engine's to name at load; ISQ needs the shapes now.
    if (quant !== null) throw error;
    tensors.length = 0;
  }
  // A vision tower or MTP head in the files is not loaded (the engine serves the text model).
  if (quant !== null) weightBytes = _isqBytes(config, tensors, quant);
  else weightBytes -= unservedTensorBytes(tensors);
  try {
    await Deno.stat(`${path}/tokenizer.json`);
  } catch {
    throw _bad(`model folder ${path} has no tokenizer.json`);
  }
  const text = textConfig(config);
  const maxPositions = text.max_position_embeddings;
  const architectures = config.architectures;
  return {
    path,
    config,
    architecture: Array.isArray(architectures) && typeof architectures[0] === "string"
      ? architectures[0]
      : null,
    weightFiles,
    weightBytes,
    maxPositionEmbeddings: typeof maxPositions === "number" ? maxPositions : null,
    kvBytesPerToken: kvBytesPerToken(text),
    stateBytesPerSequence: sequenceStateBytes(text),
    weightType: quant !== null ? quant.toUpperCase() : tensors.length > 0 ? _mainDtype(tensors) : null,
  };
}

/**
 * Quantized-at-load bytes of the tensors the config implies: the engine's expert-by-expert view
 * whatever the file layout (transformers 5.x fuses a layer's experts into 3-D tensors, which
 * isqWeightBytes would count as f32). A config the estimate does not know is sized from the files.
 */
function _isqBytes(
  config: Record<string, unknown>,
  tensors: readonly SafetensorsTensor[],
  quant: string,
): number {
  try {
    return configWeightBytes(configWeights(config), quant);
  } catch (error) {
    if (!(error instanceof CortexError) || error.status !== 422) throw error;
  }
  return isqWeightBytes(tensors.filter((t) => !isUnservedTensor(t.name)), quant);
}

/** The dtype holding the most elements. */
function _mainDtype(tensors: readonly SafetensorsTensor[]): string {
  const elements = new Map<string, number>();
  for (const t of tensors) {
    elements.set(t.dtype, (elements.get(t.dtype) ?? 0) + t.shape.reduce((a, b) => a * b, 1));
  }
  return [...elements].reduce((best, e) => (e[1] > best[1] ? e : best), ["F32", -1])[0];
}

async function _readConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${path}/config.json`);
  } catch {
    throw _bad(`model folder ${path} has no config.json`);
  }
  try {
    const config = JSON.parse(text);
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      throw new Error("not an object");
    }
    return config;
  } catch (error) {
    throw _bad(`model folder ${path}: config.json is not a JSON object: ${(error as Error).message}`);
  }
}

async function _weightFiles(path: string): Promise<string[]> {
  try {
    const index = JSON.parse(await Deno.readTextFile(`${path}/model.safetensors.index.json`));
    const shards = new Set<string>(
      Object.values(index?.weight_map ?? {}).filter((v) => typeof v === "string") as string[],
    );
    if (shards.size > 0) return [...shards].sort();
  } catch {
    // no index: a single file
  }
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if ((entry.isFile || entry.isSymlink) && entry.name.endsWith(".safetensors")) files.push(entry.name);
  }
  return files.sort();
}
