/**
 * The contract between the stream parser and the readers of a `<tool_call>` body (JSON or XML).
 * @module
 */

import type { MalformedCode } from "./events.ts";

/** Where a body reader reports a call's progress. */
export interface _CallSink {
  /** The tool's name is known. Called at most once per body. */
  start(name: string): void;
  /** More characters of the arguments JSON. Only called after `start`. */
  delta(text: string): void;
}

/** How a body ended: a call, or why not. */
export type _BodyResult =
  | { ok: true; name: string; arguments: string }
  | { ok: false; code: MalformedCode; reason: string };

/** A reader of one `<tool_call>` body, fed one UTF-16 code unit at a time. */
export interface _BodyReader {
  /** False while `</tool_call>` would be content (inside a JSON string), so it must not end the call. */
  readonly closeTagActive: boolean;
  /** Consumes the next code unit of the body. */
  step(char: string): void;
  /**
   * Reports the arguments text read so far (all but a tail that may still change). Called at the end
   * of each pushed chunk, and before a started call is reported malformed, so that what a call
   * streams depends only on the input, never on the chunking.
   */
  flush(): void;
  /** `</tool_call>` was reached; `body` is the whole body. Reports the rest of the call, if any. */
  finish(body: string): _BodyResult;
}
