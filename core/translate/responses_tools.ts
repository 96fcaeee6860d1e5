/**
 * Responses tools → chat tools, and the names the model sees back to the client's. Function
 * tools are wrapped; each function of a `namespace` tool (Codex sends an MCP server's tools as
 * one) becomes a chat function named `<namespace>__<function>` ({@linkcode qualifiedToolName}),
 * and a call to it comes back as a `function_call` naming the function and its `namespace`
 * ({@linkcode ResponsesToolNames}). The hosted tools OpenAI runs on its side (web and file
 * search, code interpreter, image generation, remote MCP) are dropped: cortex runs no hosted
 * tool, and Codex offers web search by default. Any other tool kind is a 400 naming
 * `tools[i].type` — a tool is never dropped without a rule saying so.
 *
 * @module
 */
import { CortexError } from "../errors/cortex_error.ts";
import type { ChatFunctionTool, ChatToolChoice } from "../openai/chat_request.ts";
import type { ResponsesTool, ResponsesToolChoice } from "../responses/request.ts";

/** Hosted tool kinds OpenAI runs itself; cortex runs none of them, so they are not offered to the model. */
export const RESPONSES_HOSTED_TOOL_TYPES: readonly string[] = [
  "web_search",
  "web_search_preview",
  "web_search_2025_08_26",
  "web_search_preview_2025_03_11",
  "file_search",
  "code_interpreter",
  "image_generation",
  "mcp",
];

/**
 * The chat function name of function `name` in namespace `namespace`: `<namespace>__<name>`
 * (Codex's own historical form for MCP tools, `mcp__server__tool`); a namespace that already
 * ends in `__` is joined without another.
 *
 * @example
 * ```ts
 * import { qualifiedToolName } from "@cortex/core/translate";
 * qualifiedToolName("mcp__github", "create_issue"); // "mcp__github__create_issue"
 * ```
 */
export function qualifiedToolName(namespace: string, name: string): string {
  return namespace.endsWith("__") ? `${namespace}${name}` : `${namespace}__${name}`;
}

/** A function as the client names it: the function and, for a namespace tool, its namespace. */
export interface ResponsesToolName {
  /** Function name within its namespace (or the plain function name). */
  name: string;
  /** The namespace, absent for a plain function tool. */
  namespace?: string;
}

/** The names of one request's tools, both ways: client (namespace, name) ⇄ the model's name. */
export class ResponsesToolNames {
  #split = new Map<string, { namespace: string; name: string }>();

  /** Collects the namespace functions of `tools` (other tools keep their names). */
  constructor(tools: readonly ResponsesTool[] | null | undefined) {
    for (const tool of tools ?? []) {
      if (tool.type !== "namespace" || !Array.isArray(tool.tools) || typeof tool.name !== "string") continue;
      for (const inner of tool.tools as { name?: unknown }[]) {
        if (typeof inner?.name !== "string") continue;
        this.#split.set(qualifiedToolName(tool.name, inner.name), { namespace: tool.name, name: inner.name });
      }
    }
  }

  /** The client's name (and namespace) for a function name the model used. */
  split(modelName: string): ResponsesToolName {
    const found = this.#split.get(modelName);
    return found ? { name: found.name, namespace: found.namespace } : { name: modelName };
  }

  /** The name the model sees for a function the client names (with its namespace, if any). */
  qualify(name: string, namespace: string | null | undefined): string {
    return typeof namespace === "string" && namespace.length > 0 ? qualifiedToolName(namespace, name) : name;
  }
}

// The function names a chat model may be offered (as the neuron checks them).
const _MODEL_TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function _bad(message: string, param: string): CortexError {
  return new CortexError(message, { code: "invalid_request_body", status: 400, param });
}

function _function(raw: Record<string, unknown>, name: string): ChatFunctionTool {
  if (raw.function && typeof raw.function === "object") return raw as unknown as ChatFunctionTool;
  const fn: ChatFunctionTool["function"] = { name };
  if (typeof raw.description === "string") fn.description = raw.description;
  if (raw.parameters && typeof raw.parameters === "object") {
    fn.parameters = raw.parameters as Record<string, unknown>;
  }
  if (typeof raw.strict === "boolean") fn.strict = raw.strict;
  return { type: "function", function: fn };
}

/**
 * Responses tools → chat tools: function tools wrapped, namespace functions under their
 * qualified names, hosted tools dropped.
 *
 * @throws {CortexError} 400 naming `tools[i].type` for a tool kind cortex neither translates nor
 * drops, and `tools[i].tools[j].name` for a namespace function whose qualified name another
 * tool already uses.
 */
export function responsesToolsToChat(tools: ResponsesTool[] | null | undefined): ChatFunctionTool[] {
  const out: ChatFunctionTool[] = [];
  const seen = new Map<string, string>();
  const add = (tool: ChatFunctionTool, param: string): void => {
    const earlier = seen.get(tool.function.name);
    if (earlier !== undefined) {
      throw _bad(`tool name '${tool.function.name}' is used twice (${earlier} and ${param})`, param);
    }
    seen.set(tool.function.name, param);
    out.push(tool);
  };
  (tools ?? []).forEach((tool, i) => {
    const raw = tool as Record<string, unknown>;
    if (raw.type === "function") {
      const name = typeof raw.name === "string" ? raw.name : (raw.function as { name?: unknown })?.name;
      if (typeof name === "string") add(_function(raw, name), `tools[${i}].name`);
    } else if (raw.type === "namespace") {
      const inner = Array.isArray(raw.tools) ? raw.tools as Record<string, unknown>[] : [];
      inner.forEach((fn, j) => {
        if (fn.type !== "function" || typeof fn.name !== "string") {
          throw _bad(
            `tools[${i}].tools[${j}]: a namespace holds function tools only (got type ${
              JSON.stringify(fn.type)
            })`,
            `tools[${i}].tools[${j}].type`,
          );
        }
        const qualified = qualifiedToolName(String(raw.name), fn.name);
        if (!_MODEL_TOOL_NAME.test(qualified)) {
          throw _bad(
            `tools[${i}].tools[${j}].name: the qualified name ${JSON.stringify(qualified)} must be 1-64 ` +
              `characters of [A-Za-z0-9_.-]`,
            `tools[${i}].tools[${j}].name`,
          );
        }
        add(_function(fn, qualified), `tools[${i}].tools[${j}].name`);
      });
    } else if (!RESPONSES_HOSTED_TOOL_TYPES.includes(String(raw.type))) {
      throw _bad(
        `tools[${i}]: tool type ${JSON.stringify(raw.type)} is not supported; cortex offers function and ` +
          `namespace tools to the model (hosted tools it cannot run — ${
            RESPONSES_HOSTED_TOOL_TYPES.join(", ")
          } — are left out)`,
        `tools[${i}].type`,
      );
    }
  });
  return out;
}

/**
 * Responses tool choice → chat tool choice (a named function in a namespace by its qualified
 * name); hosted-tool choices have no equivalent: undefined.
 */
export function responsesToolChoiceToChat(choice: ResponsesToolChoice): ChatToolChoice | undefined {
  if (typeof choice === "string") return choice;
  if (choice.type === "function" && typeof choice.name === "string") {
    const namespace = typeof choice.namespace === "string" ? choice.namespace : null;
    const name = namespace ? qualifiedToolName(namespace, choice.name) : choice.name;
    return { type: "function", function: { name } };
  }
  return undefined;
}
