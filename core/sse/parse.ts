/**
 * Reading server-sent events incrementally: bytes or text in any pieces (a piece may end
 * inside a line, inside a `\r\n` pair or inside a UTF-8 character), whole
 * {@linkcode SseMessage}s out. Lines end with `\n`, `\r\n` or `\r`; a blank line ends a
 * message; `data:` lines are joined with `\n`; one space after the colon is dropped; unknown
 * fields are ignored, as a browser's `EventSource` does. Unlike `EventSource`, comments are
 * delivered (a relay forwards keep-alives) and a message the stream ends without its blank
 * line is delivered too (a relay passes on what its upstream sent).
 *
 * @module
 */
import type { SseMessage } from "./message.ts";

const _BREAK = /[\r\n]/g;
const _CR = 13;
const _LF = 10;
const _SPACE = 32;

/**
 * An incremental SSE parser: {@linkcode SseParser.push} each piece as it arrives, then
 * {@linkcode SseParser.end} once the stream is over.
 *
 * @example
 * ```ts
 * import { SseParser } from "@cortex/core/sse";
 * const parser = new SseParser();
 * parser.push("data: hel"); // []
 * parser.push("lo\n\n: keep-alive\n\n"); // [{ data: "hello" }, { comment: "keep-alive" }]
 * parser.end(); // []
 * ```
 */
export class SseParser {
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #partial = "";
  #afterCr = false;
  #started = false;
  #comments: string[] = [];
  #data: string[] = [];
  #event: string | undefined;
  #id: string | undefined;
  #retry: number | undefined;

  /** Adds a piece of the stream (bytes, or text already decoded); returns the messages it completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    return this.#scan(typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true }));
  }

  /** Ends the stream: returns the message it left without a closing blank line, if any. */
  end(): SseMessage[] {
    const out = this.#scan(this.#decoder.decode());
    if (this.#partial !== "") {
      const line = this.#partial;
      this.#partial = "";
      this.#line(line, out);
    }
    this.#dispatch(out);
    this.#afterCr = false;
    this.#started = false;
    return out;
  }

  #scan(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    if (text.length === 0) return out;
    if (!this.#started) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark opens no line
    }
    let start = 0;
    // The previous piece ended with `\r`: a `\n` opening this one completes that line end.
    if (this.#afterCr && text.charCodeAt(0) === _LF) start = 1;
    this.#afterCr = false;
    _BREAK.lastIndex = start;
    for (let match = _BREAK.exec(text); match !== null; match = _BREAK.exec(text)) {
      const at = match.index;
      const line = this.#partial + text.slice(start, at);
      this.#partial = "";
      this.#line(line, out);
      start = at + 1;
      if (text.charCodeAt(at) === _CR) {
        if (at + 1 === text.length) this.#afterCr = true;
        else if (text.charCodeAt(at + 1) === _LF) start = at + 2;
      }
      _BREAK.lastIndex = start;
    }
    this.#partial += text.slice(start);
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === "") return this.#dispatch(out);
    const colon = line.indexOf(":");
    if (colon === 0) {
      this.#comments.push(_value(line, 1));
      return;
    }
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : _value(line, colon + 1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id") this.#id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.#retry = Number(value);
  }

  #dispatch(out: SseMessage[]): void {
    const message: SseMessage = {};
    if (this.#comments.length > 0) message.comment = this.#comments.join("\n");
    if (this.#event !== undefined) message.event = this.#event;
    if (this.#data.length > 0) message.data = this.#data.join("\n");
    if (this.#id !== undefined) message.id = this.#id;
    if (this.#retry !== undefined) message.retry = this.#retry;
    this.#comments = [];
    this.#data = [];
    this.#event = this.#id = this.#retry = undefined;
    if (Object.keys(message).length > 0) out.push(message);
  }
}

// A field's value: what follows the colon, less one leading space.
function _value(line: string, from: number): string {
  return line.charCodeAt(from) === _SPACE ? line.slice(from + 1) : line.slice(from);
}

/**
 * Parses a whole SSE text at once.
 *
 * @example
 * ```ts
 * import { parseSse } from "@cortex/core/sse";
 * parseSse("event: ping\ndata: {}\n\ndata: [DONE]\n\n"); // [{ event: "ping", data: "{}" }, { data: "[DONE]" }]
 * ```
 */
export function parseSse(text: string): SseMessage[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

/**
 * The parser as a stream: bytes (or text) in, messages out.
 *
 * @example
 * ```ts
 * import { SseDecoderStream } from "@cortex/core/sse";
 * const response = new Response("data: 1\n\ndata: 2\n\n");
 * for await (const message of response.body!.pipeThrough(new SseDecoderStream())) {
 *   console.log(message.data); // "1", then "2"
 * }
 * ```
 */
export class SseDecoderStream extends TransformStream<Uint8Array | string, SseMessage> {
  /** Creates the stream. */
  constructor() {
    const parser = new SseParser();
    super({
      transform(chunk, controller) {
        for (const message of parser.push(chunk)) controller.enqueue(message);
      },
      flush(controller) {
        for (const message of parser.end()) controller.enqueue(message);
      },
    });
  }
}
