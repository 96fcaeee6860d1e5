/**
 * An incremental JSON validator over UTF-8 bytes: a {@linkcode ByteAcceptor} whose states accept
 * exactly the prefixes of one JSON object (RFC 8259, strings valid UTF-8; whitespace may lead,
 * but the text ends at the object's closing brace). Constrained decoding walks it over the vocabulary to decide which
 * tokens keep a tool call's arguments a valid JSON prefix, and reads `completion()` to close
 * the object within the token budget.
 *
 * @module
 */
import type { ByteAcceptor } from "./byte_acceptor.ts";

type _Mode =
  | "start" // before the top-level `{` (whitespace may come first)
  | "done"
  | "value" // after `:`, or after `,` in an array
  | "valueOrEnd" // after `[`
  | "key" // after `,` in an object
  | "keyOrEnd" // after `{`
  | "colon" // after a key
  | "next" // after a value: `,` or the container's close
  | "string"
  | "escape" // after `\`
  | "hex" // in `\uXXXX`: `count` digits to come
  | "utf8" // in a multi-byte character: `count` bytes to come, the next in [lo, hi]
  | "minus"
  | "zero"
  | "int"
  | "dot"
  | "frac"
  | "exp"
  | "expSign"
  | "expDigits"
  | "literal"; // in true / false / null: `rest` to come

const _QUOTE = 0x22;
const _BACKSLASH = 0x5c;
const _ZERO = 0x30;
const _NINE = 0x39;

function _isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function _isDigit(byte: number): boolean {
  return byte >= _ZERO && byte <= _NINE;
}

function _isHex(byte: number): boolean {
  return _isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

const _ASCII = (text: string): number[] => Array.from(text, (char) => char.charCodeAt(0));

/** One state; `stack` holds the open containers outermost first (`o` object, `a` array). */
class _JsonState implements ByteAcceptor {
  readonly #mode: _Mode;
  readonly #stack: string;
  readonly #isKey: boolean;
  readonly #count: number;
  readonly #lo: number;
  readonly #hi: number;
  readonly #rest: string;

  constructor(
    mode: _Mode,
    stack: string,
    extra: Partial<{ isKey: boolean; count: number; lo: number; hi: number; rest: string }> = {},
  ) {
    this.#mode = mode;
    this.#stack = stack;
    this.#isKey = extra.isKey ?? false;
    this.#count = extra.count ?? 0;
    this.#lo = extra.lo ?? 0;
    this.#hi = extra.hi ?? 0;
    this.#rest = extra.rest ?? "";
  }

  get done(): boolean {
    return this.#mode === "done";
  }

  get key(): string {
    return `${this.#mode}|${this.#stack}|${
      this.#isKey ? 1 : 0
    }|${this.#count}|${this.#lo}|${this.#hi}|${this.#rest}`;
  }

  step(byte: number): ByteAcceptor | null {
    const stack = this.#stack;
    const top = stack[stack.length - 1];
    switch (this.#mode) {
      case "start":
        if (_isSpace(byte)) return this;
        return byte === 0x7b ? new _JsonState("keyOrEnd", "o") : null;
      case "done":
        return null;
      case "value":
        return _isSpace(byte) ? this : this.#startValue(byte);
      case "valueOrEnd":
        if (_isSpace(byte)) return this;
        return byte === 0x5d ? this.#close() : this.#startValue(byte);
      case "key":
      case "keyOrEnd":
        if (_isSpace(byte)) return this;
        if (byte === _QUOTE) return new _JsonState("string", stack, { isKey: true });
        return byte === 0x7d && this.#mode === "keyOrEnd" ? this.#close() : null;
      case "colon":
        if (_isSpace(byte)) return this;
        return byte === 0x3a ? new _JsonState("value", stack) : null;
      case "next":
        if (_isSpace(byte)) return this;
        if (byte === 0x2c) return new _JsonState(top === "o" ? "key" : "value", stack);
        return (byte === 0x7d && top === "o") || (byte === 0x5d && top === "a") ? this.#close() : null;
      case "string":
        return this.#stepString(byte);
      case "escape":
        if (byte === 0x75) return new _JsonState("hex", stack, { isKey: this.#isKey, count: 4 });
        return '"\\/bfnrt'.includes(String.fromCharCode(byte)) ? this.#inString() : null;
      case "hex":
        if (!_isHex(byte)) return null;
        return this.#count === 1
          ? this.#inString()
          : new _JsonState("hex", stack, { isKey: this.#isKey, count: this.#count - 1 });
      case "utf8":
        if (byte < this.#lo || byte > this.#hi) return null;
        return this.#count === 1 ? this.#inString() : this.#utf8(this.#count - 1, 0x80, 0xbf);
      case "minus":
        if (byte === _ZERO) return new _JsonState("zero", stack);
        return _isDigit(byte) ? new _JsonState("int", stack) : null;
      case "zero":
      case "int":
        if (_isDigit(byte) && this.#mode === "int") return this;
        if (byte === 0x2e) return new _JsonState("dot", stack);
        if (byte === 0x65 || byte === 0x45) return new _JsonState("exp", stack);
        return this.#endNumber(byte);
      case "dot":
        return _isDigit(byte) ? new _JsonState("frac", stack) : null;
      case "frac":
        if (_isDigit(byte)) return this;
        if (byte === 0x65 || byte === 0x45) return new _JsonState("exp", stack);
        return this.#endNumber(byte);
      case "exp":
        if (byte === 0x2b || byte === 0x2d) return new _JsonState("expSign", stack);
        return _isDigit(byte) ? new _JsonState("expDigits", stack) : null;
      case "expSign":
        return _isDigit(byte) ? new _JsonState("expDigits", stack) : null;
      case "expDigits":
        return _isDigit(byte) ? this : this.#endNumber(byte);
      case "literal":
        if (byte !== this.#rest.charCodeAt(0)) return null;
        return this.#rest.length === 1
          ? new _JsonState("next", stack)
          : new _JsonState("literal", stack, { rest: this.#rest.slice(1) });
    }
  }

  completion(): number[] {
    if (this.#mode === "start") return _ASCII("{}");
    if (this.#mode === "done") return [];
    const out: number[] = [];
    const closeString = (): void => {
      out.push(..._ASCII(this.#isKey ? '":0' : '"'));
    };
    switch (this.#mode) {
      case "value":
      case "minus":
      case "dot":
      case "exp":
      case "expSign":
        out.push(_ZERO);
        break;
      case "key":
        out.push(..._ASCII('"":0'));
        break;
      case "colon":
        out.push(..._ASCII(":0"));
        break;
      case "string":
        closeString();
        break;
      case "escape":
        out.push(0x6e);
        closeString();
        break;
      case "hex":
        for (let i = 0; i < this.#count; i++) out.push(_ZERO);
        closeString();
        break;
      case "utf8":
        out.push(this.#lo);
        for (let i = 1; i < this.#count; i++) out.push(0x80);
        closeString();
        break;
      case "literal":
        out.push(..._ASCII(this.#rest));
        break;
      default:
        break; // valueOrEnd, keyOrEnd, next and finished numbers need only the closers
    }
    for (let i = this.#stack.length - 1; i >= 0; i--) out.push(this.#stack[i] === "o" ? 0x7d : 0x5d);
    return out;
  }

  #startValue(byte: number): ByteAcceptor | null {
    const stack = this.#stack;
    if (byte === _QUOTE) return new _JsonState("string", stack);
    if (byte === 0x7b) return new _JsonState("keyOrEnd", stack + "o");
    if (byte === 0x5b) return new _JsonState("valueOrEnd", stack + "a");
    if (byte === 0x2d) return new _JsonState("minus", stack);
    if (byte === _ZERO) return new _JsonState("zero", stack);
    if (_isDigit(byte)) return new _JsonState("int", stack);
    if (byte === 0x74) return new _JsonState("literal", stack, { rest: "rue" });
    if (byte === 0x66) return new _JsonState("literal", stack, { rest: "alse" });
    if (byte === 0x6e) return new _JsonState("literal", stack, { rest: "ull" });
    return null;
  }

  #stepString(byte: number): ByteAcceptor | null {
    if (byte === _QUOTE) return new _JsonState(this.#isKey ? "colon" : "next", this.#stack);
    if (byte === _BACKSLASH) return new _JsonState("escape", this.#stack, { isKey: this.#isKey });
    if (byte < 0x20) return null;
    if (byte < 0x80) return this;
    // UTF-8 lead bytes and the range of the byte after each (no overlongs, no surrogates, <= U+10FFFF).
    if (byte >= 0xc2 && byte <= 0xdf) return this.#utf8(1, 0x80, 0xbf);
    if (byte === 0xe0) return this.#utf8(2, 0xa0, 0xbf);
    if (byte === 0xed) return this.#utf8(2, 0x80, 0x9f);
    if (byte >= 0xe1 && byte <= 0xef) return this.#utf8(2, 0x80, 0xbf);
    if (byte === 0xf0) return this.#utf8(3, 0x90, 0xbf);
    if (byte >= 0xf1 && byte <= 0xf3) return this.#utf8(3, 0x80, 0xbf);
    if (byte === 0xf4) return this.#utf8(3, 0x80, 0x8f);
    return null;
  }

  #utf8(count: number, lo: number, hi: number): _JsonState {
    return new _JsonState("utf8", this.#stack, { isKey: this.#isKey, count, lo, hi });
  }

  #inString(): _JsonState {
    return new _JsonState("string", this.#stack, { isKey: this.#isKey });
  }

  // A number ended at `byte`, which belongs to what follows the number.
  #endNumber(byte: number): ByteAcceptor | null {
    return new _JsonState("next", this.#stack).step(byte);
  }

  #close(): _JsonState {
    const stack = this.#stack.slice(0, -1);
    return new _JsonState(stack === "" ? "done" : "next", stack);
  }
}

/**
 * The start state of the acceptor of one JSON object (whitespace, then the object: it is done at
 * its closing `}`).
 *
 * @example
 * ```ts
 * import { jsonObjectAcceptor } from "./json_prefix.ts";
 * import { stepBytes } from "./byte_acceptor.ts";
 * const state = stepBytes(jsonObjectAcceptor(), new TextEncoder().encode('{"city": "Lis'));
 * new TextDecoder().decode(new Uint8Array(state!.completion())); // '"}'
 * ```
 */
export function jsonObjectAcceptor(): ByteAcceptor {
  return new _JsonState("start", "");
}
