/**
 * Incremental server-sent-events framing: bytes in, whole events out (split on a blank
 * line, `\n` or `\r\n`), with the event name and the joined `data` payload; and the
 * serialiser for events the gateway writes.
 *
 * @module
 */

/** One server-sent event as received. */
export interface SseEvent {
  /** The raw text of the event including its terminating blank line. */
  raw: string;
  /** `event:` name, or null. */
  event: string | null;
  /** `data:` lines joined with `\n`, or null when the event has none (e.g. a keep-alive comment). */
  data: string | null;
}

/** Splits a byte stream into events; feed chunks, then call {@linkcode SseSplitter.rest}. */
export class SseSplitter {
  readonly #decoder = new TextDecoder();
  #buffer = "";

  /** Adds bytes; returns the events completed by them. */
  push(chunk: Uint8Array): SseEvent[] {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    while (true) {
      const match = /\r?\n\r?\n/.exec(this.#buffer);
      if (!match) break;
      const end = match.index + match[0].length;
      events.push(parseSseEvent(this.#buffer.slice(0, end)));
      this.#buffer = this.#buffer.slice(end);
    }
    return events;
  }

  /** Text left after the last complete event (an unterminated event at end of stream). */
  rest(): string {
    this.#buffer += this.#decoder.decode();
    const rest = this.#buffer;
    this.#buffer = "";
    return rest;
  }
}

/** Parses the text of one event. */
export function parseSseEvent(raw: string): SseEvent {
  let event: string | null = null;
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    else if (line.startsWith("event:")) event = line.slice(6).trim();
  }
  return { raw, event, data: data.length > 0 ? data.join("\n") : null };
}

/** Serialises an event: `event: name\ndata: json\n\n` (no `event:` line when `name` is null). */
export function formatSseEvent(name: string | null, data: unknown): string {
  const payload = typeof data === "string" ? data : JSON.stringify(data);
  return `${name ? `event: ${name}\n` : ""}data: ${payload}\n\n`;
}
