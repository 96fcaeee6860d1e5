/**
 * Splitting a text stream into lines (`\n` or `\r\n`; a last line without a newline is kept).
 *
 * @module
 */

/**
 * A transform from text chunks to lines.
 *
 * @example
 * ```ts
 * import { LineSplitterStream } from "./lines.ts";
 * const lines = ReadableStream.from(["a\nb", "c\r\n", "d"]).pipeThrough(new LineSplitterStream());
 * await Array.fromAsync(lines); // ["a", "bc", "d"]
 * ```
 */
export class LineSplitterStream extends TransformStream<string, string> {
  /** Creates the splitter. */
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        const parts = buffer.split("\n");
        buffer = parts.pop() ?? "";
        for (const part of parts) controller.enqueue(part.replace(/\r$/, ""));
      },
      flush(controller) {
        if (buffer) controller.enqueue(buffer.replace(/\r$/, ""));
      },
    });
  }
}
