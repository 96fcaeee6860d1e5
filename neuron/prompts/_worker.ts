// Private: a prompt worker. It keeps the requests it parsed until their prompt is built, and the
// tokenizer and template of the last few models it built prompts for (read from the model's
// folder, as the main thread did at load; the worker inherits the neuron's read permission).
import { readGgufHeader } from "../sources/gguf/read_header.ts";
import { readModelAssets } from "../runtime/loaded_model.ts";
import { PROMPT_JOBS, type PromptJobName, type PromptModelView } from "./jobs.ts";
import {
  encodeError,
  encodeResult,
  type WorkerModelSource,
  type WorkerReply,
  type WorkerRequest,
} from "./_protocol.ts";

const _MODELS_KEPT = 3;
const stash = new Map<number, { name: PromptJobName; request: unknown }>();
const models = new Map<string, Promise<PromptModelView>>();

function modelFor(source: WorkerModelSource): Promise<PromptModelView> {
  let model = models.get(source.key);
  if (model === undefined) {
    model = (async () => {
      const gguf = source.path.toLowerCase().endsWith(".gguf") ? await readGgufHeader(source.path) : null;
      const assets = await readModelAssets(source.path, gguf);
      assets.tokenizer.warmUp();
      return {
        tokenizer: assets.tokenizer,
        template: assets.template,
        maxPromptTokens: source.maxPromptTokens,
        vocabSize: source.vocabSize,
      };
    })();
    model.catch(() => models.delete(source.key));
  } else models.delete(source.key);
  models.set(source.key, model);
  while (models.size > _MODELS_KEPT) models.delete(models.keys().next().value!);
  return model;
}

// This module runs as a worker: its global scope posts to and hears from the pool.
const scope = self as unknown as Worker;

function reply(message: WorkerReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

scope.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  if (message.type === "release") {
    stash.delete(message.id);
    return;
  }
  try {
    if (message.type === "parse") {
      const job = PROMPT_JOBS[message.name];
      const request = job.parse(message.bytes);
      stash.set(message.id, { name: message.name, request });
      reply({ id: message.id, ok: true, value: (job.strip as (r: unknown) => unknown)(request) });
      return;
    }
    const parsed = stash.get(message.id);
    stash.delete(message.id);
    if (!parsed) throw new Error(`no parsed request ${message.id}`);
    const model = await modelFor(message.model);
    const build = PROMPT_JOBS[parsed.name].build as (m: PromptModelView, r: unknown, o: unknown) => unknown;
    const { value, transfer } = encodeResult(build(model, parsed.request, message.options));
    reply({ id: message.id, ok: true, value }, transfer);
  } catch (error) {
    reply({ id: message.id, ok: false, error: encodeError(error) });
  }
};
