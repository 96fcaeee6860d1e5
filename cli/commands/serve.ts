/**
 * `cortex serve [--config cortex.toml]`: runs the gateway as a child process with the
 * permissions its config implies (its listeners, its neurons, its two config files) and
 * prints where it listens. SIGINT/SIGTERM stop it.
 *
 * @module
 */
import { stringFlag } from "../args.ts";
import type { Command } from "../command.ts";
import { startService } from "../service.ts";
import { _absolute, _gatewaySpec, _loadGatewayConfig, _supervise } from "./_services.ts";

/** `cortex serve`. */
export const serveCommand: Command = {
  name: "serve",
  summary: "run the gateway (cortex.toml)",
  usage: "serve [--config cortex.toml]",
  description:
    "Runs the gateway with Deno permissions derived from its config: net for its two listeners and\n" +
    "each neuron endpoint, read for cortex.toml and its models.toml — nothing else.",
  flags: {
    config: {
      type: "string",
      short: "c",
      value: "PATH",
      description: "gateway config (default cortex.toml)",
    },
  },
  async run(args, ctx) {
    const configPath = _absolute(stringFlag(args, "config") ?? "cortex.toml");
    const config = await _loadGatewayConfig(configPath);
    const gateway = startService(_gatewaySpec(config, configPath, ctx));
    return await _supervise([gateway], ctx, ([ready]) => {
      const s = ctx.stdout.style;
      ctx.stdout.line(
        `${s.green("gateway listening on")} ${s.bold(ready.url)} ${s.dim(`(metrics ${ready.metrics})`)}`,
      );
      ctx.stdout.line(
        s.dim(
          `${config.neurons.length} neuron(s): ${
            config.neurons.map((n) => `${n.name} ${n.endpoint}`).join(", ")
          }`,
        ),
      );
    });
  },
};
