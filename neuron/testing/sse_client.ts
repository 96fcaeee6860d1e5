/**
 * A small server-sent-events reader for tests: collects a response's frames (event name,
 * data) and counts keep-alive comments.
 *
 * @module
 */

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
export function parseSse(text: string): SseCapture {
  const frames: SseFrame[] = [];
  let comments = 0;
  const commentPositions: number[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === "") continue;
    let event: string | null = null;
    const data: string[] = [];
    let comment = true;
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      comment = false;
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (comment) {
      comments++;
      commentPositions.push(frames.length);
    } else frames.push({ event, data: data.join("\n") });
  }
  return { frames, comments, commentPositions };
}

/** Reads a whole SSE response. */
export async function readSse(response: Response): Promise<SseCapture> {
  return parseSse(await response.text());
}

/** The JSON payloads of a chat/completions stream, without the final `[DONE]`. */
export function sseJson<T = Record<string, unknown>>(capture: SseCapture): T[] {
  return capture.frames.filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data) as T);
}
