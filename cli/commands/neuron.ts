/**
 * `cortex neuron [--config neuron.toml]`: runs a neuron as a child process with the
 * permissions its config implies (its listener, the hub unless offline, its model folders,
 * the hub cache, the plugin file) and prints where it listens. SIGINT/SIGTERM drain it.
 *
 * @module
 */
import { numberFlag, stringFlag } from "../args.ts";
import type { Command } from "../command.ts";
import { startService } from "../service.ts";
import { _absolute, _loadNeuronConfig, _neuronSpec, _supervise } from "./_services.ts";

/** `cortex neuron`. */
export const neuronCommand: Command = {
  name: "neuron",
  summary: "run a neuron (neuron.toml)",
  usage: "neuron [--config neuron.toml] [--port PORT]",
  description:
    "Runs a neuron with Deno permissions derived from its config: net for its listener (and the hub\n" +
    "unless hub.offline), read for its config, plugin, model folders and hub cache, write for the hub\n" +
    "cache when it may download, FFI for the plugin file only. Without --config and without a\n" +
    "neuron.toml here, it runs with every default.",
  flags: {
    config: { type: "string", short: "c", value: "PATH", description: "neuron config (default neuron.toml)" },
    port: {
      type: "string",
      short: "p",
      value: "PORT",
      description: "listen on this port instead of listen's",
    },
  },
  async run(args, ctx) {
    const given = stringFlag(args, "config");
    const configPath = _absolute(given ?? "neuron.toml");
    const config = await _loadNeuronConfig(configPath, given !== undefined);
    if (config === null) {
      ctx.stderr.line(ctx.stderr.style.dim("cortex neuron: no neuron.toml here; using defaults"));
    }
    const port = numberFlag(args, "port", { min: 0, max: 65535, integer: true });
    const neuron = startService(_neuronSpec(config, configPath, ctx, port));
    return await _supervise([neuron], ctx, ([ready]) => {
      const s = ctx.stdout.style;
      ctx.stdout.line(`${s.green("neuron listening on")} ${s.bold(ready.url)}`);
    });
  },
};
