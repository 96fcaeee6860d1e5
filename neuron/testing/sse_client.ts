/**
 * A small server-sent-events reader for tests, over the core codec (`@cortex/core/sse`):
 * collects a response's data frames and counts keep-alive comments.
 *
 * @module
 */
import { parseSse } from "@cortex/core/sse";

/** One SSE frame. */
export interface SseFrame {
  /** `event:` name, or null. */
  event: string | null;
  /** `data:` payload (lines joined with `\n`). */
  data: string;
}

/** Everything a stream carried. */
export interface SseCapture {
  /** Data frames in order. */
  frames: SseFrame[];
  /** Comment frames (`: keep-alive`). */
  comments: number;
  /** For each comment, how many data frames came before it. */
  commentPositions: number[];
}

/** Parses complete SSE text into frames. */
export function parseSseCapture(text: string): SseCapture {
  const capture: SseCapture = { frames: [], comments: 0, commentPositions: [] };
  for (const message of parseSse(text)) {
    if (message.data === undefined && message.event === undefined) {
      capture.comments++;
      capture.commentPositions.push(capture.frames.length);
    } else capture.frames.push({ event: message.event ?? null, data: message.data ?? "" });
  }
  return capture;
}

/** Reads a whole SSE response. */
export async function readSse(response: Response): Promise<SseCapture> {
  return parseSseCapture(await response.text());
}

/** The JSON payloads of a chat/completions stream, without the final `[DONE]`. */
export function sseJson<T = Record<string, unknown>>(capture: SseCapture): T[] {
  return capture.frames.filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data) as T);
}
