// Three of the tools cortex-demo was trained to call (neuron/models/cortex-demo), as the acceptance
// tests offer them in each SDK's shape.
import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";

/** Name → description and JSON-schema parameters (three of the demo's tools). */
export const SCHEMAS = {
  get_weather: {
    description: "Get the current weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "The city name." } },
      required: ["city"],
    },
  },
  bash: {
    description: "Run a shell command and return its output.",
    parameters: {
      type: "object",
      properties: { command: { type: "string", description: "The command to run." } },
      required: ["command"],
    },
  },
  add: {
    description: "Add two numbers.",
    parameters: {
      type: "object",
      properties: {
        a: { type: "number", description: "The first number." },
        b: { type: "number", description: "The second number." },
      },
      required: ["a", "b"],
    },
  },
} as const;
/** One of {@linkcode SCHEMAS}. */
export type ToolName = keyof typeof SCHEMAS;

/** The named tools as chat-completions tools. */
export const chatTools = (names: ToolName[]): OpenAI.ChatCompletionTool[] =>
  names.map((name) => ({ type: "function", function: { name, ...SCHEMAS[name] } }));
/** The named tools as Anthropic tools. */
export const anthropicTools = (names: ToolName[]): Anthropic.Tool[] =>
  names.map((name) => ({
    name,
    description: SCHEMAS[name].description,
    input_schema: SCHEMAS[name].parameters as unknown as Anthropic.Tool.InputSchema,
  }));
/** The named tools as Responses function tools. */
export const responsesTools = (names: ToolName[]): OpenAI.Responses.FunctionTool[] =>
  names.map((name) => ({
    type: "function",
    name,
    ...SCHEMAS[name],
    parameters: SCHEMAS[name].parameters as unknown as Record<string, unknown>,
    strict: null,
  }));
