// A tiny MCP server over stdio (newline-delimited JSON-RPC 2.0) offering one tool,
// `record_probe`, that appends its `text` argument as a line to the file named by the first
// command-line argument — so a test can see that a client's model really called an MCP tool.
// Run: deno run --allow-write=LOG _mcp_probe_server.ts LOG

/** The tool's name. */
export const PROBE_TOOL = "record_probe";

interface _Message {
  jsonrpc: "2.0";
  id?: number | string | null;
  method?: string;
  params?: Record<string, unknown>;
}

function _answer(message: _Message, logPath: string): Record<string, unknown> | null {
  switch (message.method) {
    case "initialize":
      return {
        protocolVersion: message.params?.protocolVersion ?? "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "cortex-probe", version: "1.0.0" },
      };
    case "ping":
      return {};
    case "tools/list":
      return {
        tools: [{
          name: PROBE_TOOL,
          description: "Records a probe text so the test can see the call arrived.",
          inputSchema: {
            type: "object",
            properties: { text: { type: "string", description: "Text to record." } },
            required: ["text"],
          },
        }],
      };
    case "tools/call": {
      const params = message.params as { name?: string; arguments?: { text?: unknown } } | undefined;
      if (params?.name !== PROBE_TOOL) {
        return { content: [{ type: "text", text: `unknown tool ${params?.name}` }], isError: true };
      }
      Deno.writeTextFileSync(logPath, `${String(params.arguments?.text ?? "")}\n`, { append: true });
      return { content: [{ type: "text", text: "recorded" }] };
    }
    default:
      return null;
  }
}

async function _serve(logPath: string): Promise<void> {
  const encoder = new TextEncoder();
  const write = (value: unknown): Promise<number> =>
    Deno.stdout.write(encoder.encode(`${JSON.stringify(value)}\n`));
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === "") continue;
      const message = JSON.parse(line) as _Message;
      if (message.id === undefined || message.method === undefined) continue; // a notification or an answer
      const result = _answer(message, logPath);
      await write(
        result === null
          ? {
            jsonrpc: "2.0",
            id: message.id,
            error: { code: -32601, message: `no method ${message.method}` },
          }
          : { jsonrpc: "2.0", id: message.id, result },
      );
    }
  }
}

if (import.meta.main) await _serve(Deno.args[0]);
