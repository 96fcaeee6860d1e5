/**
 * Where the CLI writes and how it looks: colours only when the stream is a terminal and
 * `NO_COLOR` is unset, environment reads that treat a missing permission as unset, and
 * synchronous writers (a progress line must appear before the next await).
 *
 * @module
 */

/** Reads an env var; a variable the process may not read counts as unset. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** ANSI styling that is a no-op when colours are off. */
export interface Style {
  /** Colours are on. */
  readonly enabled: boolean;
  /** Bold. */
  bold(text: string): string;
  /** Dim (reasoning, hints). */
  dim(text: string): string;
  /** Green (healthy, done). */
  green(text: string): string;
  /** Yellow (warnings, in progress). */
  yellow(text: string): string;
  /** Red (errors, unhealthy). */
  red(text: string): string;
  /** Cyan (names). */
  cyan(text: string): string;
}

function _wrap(enabled: boolean, open: number, close: number): (text: string) => string {
  return enabled ? (text) => `\x1b[${open}m${text}\x1b[${close}m` : (text) => text;
}

/** A style with colours on or off. */
export function makeStyle(enabled: boolean): Style {
  return {
    enabled,
    bold: _wrap(enabled, 1, 22),
    dim: _wrap(enabled, 2, 22),
    green: _wrap(enabled, 32, 39),
    yellow: _wrap(enabled, 33, 39),
    red: _wrap(enabled, 31, 39),
    cyan: _wrap(enabled, 36, 39),
  };
}

/** Removes ANSI escape sequences (for measuring visible width). */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}

/** A writable terminal stream: text out, whether it is a TTY, and its style. */
export interface Output {
  /** Writes text as is. */
  write(text: string): void;
  /** Writes text and a newline. */
  line(text?: string): void;
  /** Is a terminal. */
  readonly isTerminal: boolean;
  /** Styling for this stream. */
  readonly style: Style;
}

const _encoder = new TextEncoder();

function _writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = _encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/** Wraps `Deno.stdout` or `Deno.stderr`; colours follow the stream being a TTY and `NO_COLOR`. */
export function terminalOutput(stream: typeof Deno.stdout | typeof Deno.stderr): Output {
  const isTerminal = stream.isTerminal();
  const colour = isTerminal && !readEnv("NO_COLOR");
  return {
    write: (text) => _writeAll(stream, text),
    line: (text = "") => _writeAll(stream, `${text}\n`),
    isTerminal,
    style: makeStyle(colour),
  };
}

/** An in-memory output (for tests of renderers). */
export function memoryOutput(
  options: { isTerminal?: boolean; colour?: boolean } = {},
): Output & { text(): string } {
  let buffer = "";
  return {
    write: (text) => void (buffer += text),
    line: (text = "") => void (buffer += `${text}\n`),
    isTerminal: options.isTerminal ?? false,
    style: makeStyle(options.colour ?? false),
    text: () => buffer,
  };
}
