/**
 * Qwen3 Hermes tool calling, for servers that run Qwen3 models and for agents that talk to them.
 *
 * - Prompt side: {@link renderToolsBlock} (the `# Tools` system section),
 *   {@link renderAssistantWithToolCalls} (an assistant turn with inline `<tool_call>` blocks),
 *   {@link renderToolResponse} (tool results as `<tool_response>` blocks) and
 *   {@link renderChatPrompt} (the whole prompt) — byte for byte what Qwen3's official chat
 *   template renders.
 * - Output side: {@link ToolCallParser} and {@link AssistantStreamParser}, streaming parsers that
 *   are exact under any chunking, read both the JSON and the Qwen3-Coder XML call forms and never
 *   drop text; {@link ThinkSplitter} for reasoning alone; {@link parseAssistantOutput} for a
 *   complete turn.
 * - Repair: {@link inferToolName} and {@link tryRepairMissingName} for calls that lost their name.
 *
 * No dependencies; runs in Deno, Node, Bun and browsers.
 *
 * @example
 * ```ts
 * import { AssistantStreamParser, renderToolsBlock, type ToolDefinition } from "@cortex/qwen3";
 *
 * const tools: ToolDefinition[] = [{
 *   type: "function",
 *   function: {
 *     name: "bash",
 *     description: "Run a shell command",
 *     parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
 *   },
 * }];
 * const system = "You are a coding agent.\n\n" + renderToolsBlock(tools);
 *
 * const parser = new AssistantStreamParser({ tools });
 * for (const chunk of ["<think>\nlist it\n</think>\n\n<tool_call>\n{\"name\": \"ba", "sh\", \"arguments\": {\"command\": \"ls\"}}\n</tool_call>"]) {
 *   for (const event of parser.push(chunk)) {
 *     if (event.type === "tool_call_end") console.log(event.name, event.arguments); // bash {"command":"ls"}
 *   }
 * }
 * parser.finish();
 * console.log(system.length > 0);
 * ```
 * @module
 */

export * from "./types.ts";
export * from "./events.ts";
export * from "./tools_block.ts";
export * from "./render_assistant.ts";
export * from "./render_tool_response.ts";
export * from "./render_chat.ts";
export * from "./tool_call_parser.ts";
export * from "./assistant_stream_parser.ts";
export * from "./think_splitter.ts";
export * from "./parse_assistant_output.ts";
export * from "./infer_tool_name.ts";
export * from "./repair_missing_name.ts";
