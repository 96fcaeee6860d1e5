/**
 * Which `.gguf` file a `quant` names, by the original cortex's rule: the first `.gguf` whose
 * lower-cased name contains the lower-cased `quant` (no quant: the first), where `_` and `-`
 * are ignored on both sides so `q6k` finds `…-Q6_K.gguf`. Split files
 * (`…-00001-of-00003.gguf`) are chosen by their first shard and bring every shard along.
 * No match is a 422 `quant_not_found` listing what is offered and the nearest name.
 *
 * @module
 */
import { CortexError } from "@cortex/core/errors";

/** The quant types the engine quantizes safetensors weights to at load (ISQ). */
export const ISQ_QUANTS: readonly string[] = ["q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m"];

const _SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** True for a `.gguf` name that is not a second or later shard of a split file. */
export function isPrimaryGguf(name: string): boolean {
  if (!name.toLowerCase().endsWith(".gguf")) return false;
  const shard = _SHARD.exec(name);
  return shard === null || Number(shard[1]) === 1;
}

/** The files of the model `primary` names: itself, or every shard of its split. */
export function ggufShards(primary: string, names: readonly string[]): string[] {
  const shard = _SHARD.exec(primary);
  if (shard === null) return [primary];
  const stem = primary.slice(0, shard.index);
  const count = Number(shard[2]);
  const wanted = Array.from(
    { length: count },
    (_, i) => `${stem}-${String(i + 1).padStart(5, "0")}-of-${shard[2]}.gguf`,
  );
  const have = new Set(names);
  const missing = wanted.filter((w) => !have.has(w));
  if (missing.length > 0) {
    throw new CortexError(`split GGUF ${primary} lacks shard(s) ${missing.join(", ")}`, {
      code: "bad_model_folder",
      status: 422,
    });
  }
  return wanted;
}

function _normal(text: string): string {
  return text.toLowerCase().replace(/[_-]/g, "");
}

/**
 * The `.gguf` (first shard) among `names` that `quant` chooses; `where` names the folder or
 * repository in the error.
 *
 * @example
 * ```ts
 * import { selectGgufFile } from "./gguf_select.ts";
 * selectGgufFile(["m-Q4_K_M.gguf", "m-Q6_K.gguf"], "q6k", "org/m"); // "m-Q6_K.gguf"
 * ```
 */
export function selectGgufFile(names: readonly string[], quant: string | null, where: string): string {
  const candidates = names.filter(isPrimaryGguf);
  if (candidates.length === 0) {
    throw new CortexError(`${where} holds no .gguf file`, { code: "bad_model_folder", status: 422 });
  }
  if (quant === null || quant === "") return candidates[0];
  const wanted = _normal(quant);
  const found = candidates.find((name) => _normal(name).includes(wanted));
  if (found !== undefined) return found;
  const nearest = candidates.reduce((best, name) =>
    _distance(wanted, _quantLabel(name)) < _distance(wanted, _quantLabel(best)) ? name : best
  );
  throw new CortexError(
    `quant '${quant}' matches no .gguf file in ${where}; it offers ${candidates.join(", ")} ` +
      `(nearest: ${nearest})`,
    { code: "quant_not_found", status: 422, extras: { offered: candidates, nearest } },
  );
}

/** The quant-looking tail of a file name (`m-Q4_K_M.gguf` → `q4km`), for "nearest". */
function _quantLabel(name: string): string {
  const stem = _normal(name.replace(_SHARD, ".gguf").replace(/\.gguf$/i, ""));
  const match = /(iq\d\w*|q\d\w*|bf16|f16|f32)$/.exec(stem.replace(/\./g, ""));
  return match ? match[1] : stem;
}

function _distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
