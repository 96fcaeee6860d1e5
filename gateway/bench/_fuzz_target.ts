// Private: what the gateway fuzz runs against — a real gateway in front of a real neuron serving
// the tiny Qwen3 fixture (random weights, context 512 so any generation ends soon) and, when
// present, cortex-demo (a model that really calls tools, so tool-call streams get fuzzed too).
import { DEMO_MODEL, haveDemoModel, spawnNeuron, TINY_QWEN3 } from "../../neuron/testing/spawn_neuron.ts";
import { scrape, total } from "../acceptance/_fixtures.ts";
import { spawnGateway } from "../testing/spawn_gateway.ts";

/** A running gateway + neuron pair. */
export interface FuzzTarget {
  /** The gateway's API URL. */
  url: string;
  /** Model ids valid bodies name. */
  models: string[];
  /** Exit codes of processes that died (empty while both run). */
  exited(): Promise<string[]>;
  /** `cortex_stream_violations_total` summed over every label, and by label. */
  violations(): Promise<{ total: number; series: Record<string, number> }>;
  /** Stops both. */
  stop(): Promise<void>;
}

/** Starts the neuron and the gateway and waits until the node is healthy. */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const models: Record<string, { path: string; context_length: number }> = {
    tiny: { path: TINY_QWEN3, context_length: 512 },
  };
  if (haveDemoModel()) models["cortex-demo"] = { path: DEMO_MODEL, context_length: 1024 };
  const neuron = await spawnNeuron({ models, admission: { max_in_flight: 4, max_queue: 8 } });
  const gateway = await spawnGateway({
    neurons: [{ name: "n1", endpoint: neuron.url }],
    models: Object.keys(models).map((id) => ({ id, vram_mb: id === "tiny" ? 3 : 8 })),
    gateway: { body_limit_mb: 4 },
  });
  await gateway.waitFor(
    async () => (await gateway.fleet()).nodes[0]?.healthy === true,
    30_000,
    "node healthy",
  );
  const exitedOf = async (name: string, process: Deno.ChildProcess): Promise<string | null> => {
    const status = await Promise.race([
      process.status,
      new Promise<null>((r) => setTimeout(() => r(null), 10)),
    ]);
    return status ? `${name} exited with ${status.code}${status.signal ? ` (${status.signal})` : ""}` : null;
  };
  return {
    url: gateway.url,
    models: Object.keys(models),
    async exited() {
      const out = [await exitedOf("gateway", gateway.process), await exitedOf("neuron", neuron.process)];
      return out.filter((x): x is string => x !== null);
    },
    async violations() {
      const samples = await scrape(gateway.metricsUrl);
      const series: Record<string, number> = {};
      for (const s of samples.filter((s) => s.name === "cortex_stream_violations_total")) {
        series[`${s.labels.dialect}/${s.labels.rule}`] = s.value;
      }
      return { total: total(samples, "cortex_stream_violations_total"), series };
    },
    async stop() {
      await gateway.stop().catch(() => {});
      await neuron.stop().catch(() => {});
    },
  };
}
