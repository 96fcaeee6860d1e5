/**
 * A one-line live status for long operations: on a terminal, a spinner, the current phase
 * and the elapsed time, redrawn in place (clipped to the terminal width so it never wraps);
 * elsewhere, one plain line per phase change, so logs stay readable.
 *
 * @module
 */
import { formatSeconds } from "./table.ts";
import { type Output, stripAnsi } from "./terminal.ts";

const _FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** Options of {@linkcode ProgressLine}. */
export interface ProgressLineOptions {
  /** Redraw period on a terminal in ms (default 100). */
  intervalMs?: number;
  /** Terminal width (default: the console's, else 80). */
  columns?: number;
}

/**
 * A live progress line.
 *
 * @example
 * ```ts ignore
 * const line = new ProgressLine(terminalOutput(Deno.stderr));
 * line.set("loading weights 40%");
 * line.finish("loaded in 2.1s");
 * ```
 */
export class ProgressLine {
  readonly #out: Output;
  readonly #started = performance.now();
  readonly #columns: number;
  #text = "";
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #finished = false;

  /** Starts the clock (and, on a terminal, the redraw timer). */
  constructor(out: Output, options: ProgressLineOptions = {}) {
    this.#out = out;
    this.#columns = options.columns ?? _consoleColumns();
    if (out.isTerminal) this.#timer = setInterval(() => this.#draw(), options.intervalMs ?? 100);
  }

  /** Seconds since the line was created. */
  elapsedSeconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** Sets the phase text (without the elapsed time, which the line adds). */
  set(text: string): void {
    if (this.#finished || text === this.#text) return;
    this.#text = text;
    if (this.#out.isTerminal) this.#draw();
    else this.#out.line(`${text} (${formatSeconds(this.elapsedSeconds())})`);
  }

  /** Replaces the live line with a final one and stops redrawing. */
  finish(text: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#out.write(this.#out.isTerminal ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  /** Stops redrawing and erases the live line (on a terminal), leaving the cursor at its start. */
  clear(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#out.isTerminal) this.#out.write("\r\x1b[2K");
  }

  #draw(): void {
    if (this.#finished) return;
    const style = this.#out.style;
    const frame = _FRAMES[this.#frame++ % _FRAMES.length];
    const elapsed = formatSeconds(this.elapsedSeconds());
    const plain = `${frame} ${stripAnsi(this.#text)} ${elapsed}`;
    let text = this.#text;
    if (plain.length > this.#columns - 1) {
      // Clip the phase text so the line never wraps (a wrapped line cannot be redrawn in place).
      const room = Math.max(1, this.#columns - 1 - (frame.length + elapsed.length + 3));
      text = `${stripAnsi(this.#text).slice(0, room)}…`;
    }
    this.#out.write(`\r\x1b[2K${style.cyan(frame)} ${text} ${style.dim(elapsed)}`);
  }
}

function _consoleColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
