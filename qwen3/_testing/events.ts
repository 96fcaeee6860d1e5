/**
 * Test support: running a parser over chunks and normalising its events.
 * @module
 */

import type { AssistantStreamEvent } from "../events.ts";
import { parseJson } from "./json.ts";

/** Anything with the parsers' push/finish shape. */
export interface StreamParser<E> {
  push(chunk: string): E[];
  finish(): E[];
}

/** Feeds `chunks` then finishes, returning every event. */
export function runChunks<E>(parser: StreamParser<E>, chunks: readonly string[]): E[] {
  const events: E[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.finish());
  return events;
}

/**
 * Merges adjacent text, adjacent reasoning and adjacent argument deltas of the same call: the
 * only differences chunking may cause.
 */
export function normalize(events: readonly AssistantStreamEvent[]): AssistantStreamEvent[] {
  const out: AssistantStreamEvent[] = [];
  for (const event of events) {
    const last = out[out.length - 1];
    if (last !== undefined && last.type === event.type) {
      if (
        (last.type === "text" || last.type === "reasoning") &&
        (event.type === "text" || event.type === "reasoning")
      ) {
        last.text += event.text;
        continue;
      }
      if (last.type === "tool_call_delta" && event.type === "tool_call_delta" && last.id === event.id) {
        last.argumentsDelta += event.argumentsDelta;
        continue;
      }
    }
    out.push({ ...event });
  }
  return out;
}

/**
 * Rebuilds the input from the events: text, reasoning, malformed and ended calls' raw text, and the
 * think markers (`preopened`: the stream began inside a block with no `<think>` in the input).
 */
export function reconstruct(events: readonly AssistantStreamEvent[], preopened = false): string {
  let out = "";
  let first = true;
  for (const event of events) {
    switch (event.type) {
      case "text":
      case "reasoning":
        out += event.text;
        break;
      case "malformed":
      case "tool_call_end":
        out += event.raw;
        break;
      case "think_start":
        if (!(first && preopened)) out += "<think>";
        break;
      case "think_end":
        if (event.closed) out += "</think>";
        break;
    }
    first = false;
  }
  return out;
}

/**
 * Checks the call bookkeeping of an event list and returns a message for the first violation:
 * every start is followed by deltas of its id and exactly one end or id-carrying malformed; an
 * end's arguments are the concatenation of its deltas and parse to a JSON object.
 */
export function callIntegrityError(events: readonly AssistantStreamEvent[]): string | null {
  const open = new Map<string, string>();
  const seen = new Set<string>();
  for (const event of events) {
    if (event.type === "tool_call_start") {
      if (seen.has(event.id)) return `id ${event.id} started twice`;
      seen.add(event.id);
      open.set(event.id, "");
    } else if (event.type === "tool_call_delta") {
      if (!open.has(event.id)) return `delta for ${event.id} outside its call`;
      if (event.argumentsDelta === "") return `empty delta for ${event.id}`;
      open.set(event.id, open.get(event.id)! + event.argumentsDelta);
    } else if (event.type === "tool_call_end") {
      const streamed = open.get(event.id);
      if (streamed === undefined) return `end for ${event.id} without a start`;
      if (streamed !== event.arguments) {
        return `deltas of ${event.id} ≠ arguments: ${streamed} vs ${event.arguments}`;
      }
      let parsed: unknown;
      try {
        parsed = parseJson(event.arguments);
      } catch {
        return `arguments of ${event.id} are not JSON: ${event.arguments}`;
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return `arguments of ${event.id} are not an object`;
      }
      open.delete(event.id);
    } else if (event.type === "malformed" && event.id !== undefined) {
      if (!open.has(event.id)) return `malformed for ${event.id} without an open call`;
      open.delete(event.id);
    } else if ((event.type === "text" || event.type === "reasoning") && event.text === "") {
      return "empty text event";
    } else if (open.size > 0 && event.type !== "malformed") {
      return `${event.type} event inside an open call`;
    }
  }
  return open.size > 0 ? `calls never ended: ${[...open.keys()].join(", ")}` : null;
}
