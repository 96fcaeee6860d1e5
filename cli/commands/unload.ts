/**
 * `cortex unload MODEL [--node NAME]`: asks the gateway to unload a model from every node
 * holding it, or from one (`POST /admin/unload`).
 *
 * @module
 */
import { ADMIN_ROUTES, type AdminModelRequest, type AdminUnloadResult } from "@cortex/core/fleet";
import { stringFlag } from "../args.ts";
import { CliError } from "../cli_error.ts";
import type { Command } from "../command.ts";

/** `cortex unload`. */
export const unloadCommand: Command = {
  name: "unload",
  summary: "unload a model from every node (or one)",
  usage: "unload MODEL [--node NAME] [--json]",
  description:
    "Unloads MODEL from every healthy node holding it, or only from --node. Requests in flight on it\n" +
    "finish first. Needs an admin key when the gateway has keys.",
  flags: {
    node: { type: "string", short: "n", value: "NAME", description: "unload only from this node" },
  },
  async run(args, ctx) {
    const [model, ...extra] = args.positionals;
    if (!model || extra.length > 0) {
      throw new CliError(
        "usage",
        "usage: cortex unload MODEL [--node NAME]",
        "`cortex status` shows what is loaded",
      );
    }
    const node = stringFlag(args, "node");
    const request: AdminModelRequest = { model, ...(node ? { node } : {}) };
    const result = await ctx.client().postJson<AdminUnloadResult>(ADMIN_ROUTES.unload, request);
    if (ctx.json) ctx.stdout.line(JSON.stringify(result, null, 2));
    else {
      const s = ctx.stdout.style;
      ctx.stdout.line(
        `${s.green("✓")} unloaded ${s.bold(result.model)} from ${result.unloaded_from.join(", ")}`,
      );
    }
    return 0;
  },
};
