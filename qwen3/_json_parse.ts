/**
 * A strict JSON parser that does not trust V8's `JSON.parse` with escaped object keys.
 *
 * V8 (Deno 2.9, Node 24–26) can return the wrong key for an escaped key such as `"\""` once an
 * earlier parse created a matching object shape (https://github.com/nodejs/node/issues/63785):
 * `JSON.parse('{"h":[],"\\\\":0}')` then makes `JSON.parse('{"h":1,"\\"":2}')` read back key `\`.
 * Text without a backslash has no escapes and goes to the native parser; the rest is parsed here.
 * @module
 */

/** The outcome of {@link _parseJson}. */
export type _JsonParseResult = { ok: true; value: unknown } | { ok: false; error: string };

const _NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const _ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
const _MAX_DEPTH = 1000;

class _JsonSyntaxError extends Error {}

/** Parses JSON text like `JSON.parse` (without a reviver), returning the error instead of throwing. */
export function _parseJson(text: string): _JsonParseResult {
  if (!text.includes("\\")) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
  try {
    const parser = new _Parser(text);
    const value = parser.document();
    return { ok: true, value };
  } catch (error) {
    if (error instanceof _JsonSyntaxError) return { ok: false, error: error.message };
    if (error instanceof RangeError) return { ok: false, error: "JSON nesting is too deep" };
    throw error;
  }
}

class _Parser {
  readonly #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  document(): unknown {
    this.#space();
    const value = this.#value(0);
    this.#space();
    if (this.#at < this.#text.length) this.#fail("Unexpected non-whitespace character after JSON");
    return value;
  }

  #fail(message: string): never {
    throw new _JsonSyntaxError(`${message} at position ${this.#at}`);
  }

  #space(): void {
    const text = this.#text;
    while (this.#at < text.length) {
      const char = text[this.#at];
      if (char !== " " && char !== "\n" && char !== "\r" && char !== "\t") return;
      this.#at++;
    }
  }

  #value(depth: number): unknown {
    if (depth > _MAX_DEPTH) this.#fail("JSON nesting is too deep");
    const char = this.#text[this.#at];
    if (char === "{") return this.#object(depth);
    if (char === "[") return this.#array(depth);
    if (char === '"') return this.#string();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.#text.startsWith(word, this.#at)) {
        this.#at += word.length;
        return value;
      }
    }
    _NUMBER.lastIndex = this.#at;
    const number = _NUMBER.exec(this.#text);
    if (number === null) {
      this.#fail(char === undefined ? "Unexpected end of JSON input" : `Unexpected token '${char}'`);
    }
    this.#at += number[0].length;
    return Number(number[0]);
  }

  #object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.#at++;
    this.#space();
    if (this.#text[this.#at] === "}") {
      this.#at++;
      return out;
    }
    for (;;) {
      if (this.#text[this.#at] !== '"') this.#fail("Expected a double-quoted property name");
      const key = this.#string();
      this.#space();
      if (this.#text[this.#at] !== ":") this.#fail("Expected ':' after property name");
      this.#at++;
      this.#space();
      // defineProperty, not assignment: a "__proto__" key is an own property, as with JSON.parse.
      Object.defineProperty(out, key, {
        value: this.#value(depth + 1),
        writable: true,
        enumerable: true,
        configurable: true,
      });
      this.#space();
      const next = this.#text[this.#at++];
      if (next === "}") return out;
      if (next !== ",") this.#fail("Expected ',' or '}' after property value");
      this.#space();
    }
  }

  #array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.#at++;
    this.#space();
    if (this.#text[this.#at] === "]") {
      this.#at++;
      return out;
    }
    for (;;) {
      out.push(this.#value(depth + 1));
      this.#space();
      const next = this.#text[this.#at++];
      if (next === "]") return out;
      if (next !== ",") this.#fail("Expected ',' or ']' after array element");
      this.#space();
    }
  }

  #string(): string {
    const text = this.#text;
    let out = "";
    let start = ++this.#at;
    while (this.#at < text.length) {
      const code = text.charCodeAt(this.#at);
      if (code === 0x22) {
        out += text.slice(start, this.#at++);
        return out;
      }
      if (code < 0x20) this.#fail("Bad control character in string literal");
      if (code !== 0x5c) {
        this.#at++;
        continue;
      }
      out += text.slice(start, this.#at);
      const escape = text[this.#at + 1];
      if (escape === "u") {
        const hex = text.slice(this.#at + 2, this.#at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.#fail("Bad Unicode escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.#at += 6;
      } else if (escape !== undefined && Object.hasOwn(_ESCAPES, escape)) {
        out += _ESCAPES[escape];
        this.#at += 2;
      } else this.#fail("Bad escaped character");
      start = this.#at;
    }
    this.#fail("Unterminated string in JSON");
  }
}
