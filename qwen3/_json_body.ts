/**
 * Reads the Hermes JSON form of a tool call, `{"name": …, "arguments": {…}}`, as it streams: the
 * name is reported as soon as its string closes and the arguments object is streamed with the
 * whitespace outside strings removed.
 * @module
 */

import type { _BodyReader, _BodyResult, _CallSink } from "./_body.ts";
import { _surrogateSafeEnd } from "./_holdback.ts";
import { _parseJson } from "./_json_parse.ts";
import { _isJsonSpace, _isPlainObject, _jsonTypeName, _minifyJson, _tryParseJson } from "./_json_text.ts";
import { _repairNamelessCall } from "./_repair.ts";
import type { ToolDefinition } from "./types.ts";

type _Phase = "open" | "key" | "colon" | "value" | "after";
type _Member = "name" | "arguments" | "other";

function _preview(text: string): string {
  const trimmed = text.trim();
  return JSON.stringify(trimmed.length > 40 ? trimmed.slice(0, 40) + "…" : trimmed);
}

/** See the module doc. Tracks only the top-level object's members; JSON.parse validates at the end. */
export class _JsonBodyReader implements _BodyReader {
  readonly #sink: _CallSink;
  readonly #tools: readonly ToolDefinition[] | undefined;
  readonly #repair: boolean;
  #depth = 0;
  #inString = false;
  #escape = false;
  #broken = false;
  #closed = false;
  #closeEnd = -1;
  #trailing = "";
  #pos = 0;
  #phase: _Phase = "open";
  #member: _Member | null = null;
  #valueKind: "string" | "container" | "scalar" | null = null;
  #keyText: string | null = null;
  #nameText = "";
  #nameCount = 0;
  #argsCount = 0;
  #argsText = "";
  #argsIsObject = false;
  #started = false;
  #sent = 0;

  constructor(sink: _CallSink, tools: readonly ToolDefinition[] | undefined, repair: boolean) {
    this.#sink = sink;
    this.#tools = tools;
    this.#repair = repair;
  }

  get closeTagActive(): boolean {
    return !(this.#inString && !this.#broken && !this.#closed);
  }

  step(char: string): void {
    this.#pos++;
    if (this.#broken) return;
    if (this.#closed) {
      this.#trailing += char;
      return;
    }
    if (this.#inString) {
      this.#capture(char);
      if (this.#escape) this.#escape = false;
      else if (char === "\\") this.#escape = true;
      else if (char === '"') {
        this.#inString = false;
        if (this.#depth === 1) this.#endString();
      }
      return;
    }
    if (_isJsonSpace(char)) {
      if (this.#depth === 1 && this.#valueKind === "scalar") this.#endValue();
      return;
    }
    if (this.#depth === 0) {
      if (char === "{") {
        this.#depth = 1;
        this.#phase = "key";
      } else this.#broken = true;
      return;
    }
    if (this.#depth === 1) this.#stepTopLevel(char);
    else this.#stepNested(char);
  }

  #stepTopLevel(char: string): void {
    if (this.#phase === "value" && this.#valueKind === "scalar") {
      if (char !== "," && char !== "}") {
        this.#capture(char);
        return;
      }
      this.#endValue();
    }
    switch (this.#phase) {
      case "key":
        if (char === '"') {
          this.#inString = true;
          this.#keyText = '"';
        } else if (char === "}") this.#close();
        else this.#broken = true;
        return;
      case "colon":
        if (char === ":") this.#phase = "value";
        else this.#broken = true;
        return;
      case "value":
        if (char === '"') {
          this.#valueKind = "string";
          this.#inString = true;
        } else if (char === "{" || char === "[") {
          this.#valueKind = "container";
          this.#depth = 2;
          if (this.#member === "arguments") this.#argsIsObject = char === "{";
        } else if (char === "}" || char === "]" || char === "," || char === ":") {
          this.#broken = true;
          return;
        } else this.#valueKind = "scalar";
        this.#capture(char);
        return;
      case "after":
        if (char === ",") this.#phase = "key";
        else if (char === "}") this.#close();
        else this.#broken = true;
        return;
      default:
        this.#broken = true;
    }
  }

  #stepNested(char: string): void {
    this.#capture(char);
    if (char === '"') this.#inString = true;
    else if (char === "{" || char === "[") this.#depth++;
    else if (char === "}" || char === "]") {
      this.#depth--;
      if (this.#depth === 1) this.#endValue();
    }
  }

  #capture(char: string): void {
    if (this.#keyText !== null) this.#keyText += char;
    else if (this.#member === "name") this.#nameText += char;
    else if (this.#member === "arguments") this.#argsText += char;
  }

  #endString(): void {
    if (this.#phase === "key" && this.#keyText !== null) {
      const key = _tryParseJson(this.#keyText)?.value;
      this.#keyText = null;
      // Only the first `name` and `arguments` are captured, so what was streamed never changes.
      if (key === "name") this.#member = ++this.#nameCount === 1 ? "name" : "other";
      else if (key === "arguments") this.#member = ++this.#argsCount === 1 ? "arguments" : "other";
      else this.#member = "other";
      this.#phase = "colon";
    } else if (this.#phase === "value") this.#endValue();
  }

  #endValue(): void {
    if (this.#member === "name" && this.#valueKind === "string" && !this.#started) {
      const name = _tryParseJson(this.#nameText)?.value;
      if (typeof name === "string" && name !== "") {
        this.#started = true;
        this.#sink.start(name);
      }
    }
    this.#member = null;
    this.#valueKind = null;
    this.#phase = "after";
  }

  #close(): void {
    this.#depth = 0;
    this.#closed = true;
    this.#closeEnd = this.#pos;
  }

  flush(): void {
    if (!this.#started || !this.#argsIsObject) return;
    const end = _surrogateSafeEnd(this.#argsText, this.#argsText.length);
    if (end > this.#sent) {
      this.#sink.delta(this.#argsText.slice(this.#sent, end));
      this.#sent = end;
    }
  }

  finish(body: string): _BodyResult {
    if (this.#trailing !== "" && !/^[\s}]*$/.test(this.#trailing)) {
      return {
        ok: false,
        code: "unexpected_content",
        reason: `unexpected text ${_preview(this.#trailing)} after the tool call's JSON object`,
      };
    }
    const objectText = this.#closed ? body.slice(0, this.#closeEnd) : body + "}";
    const result = _parseJson(objectText);
    if (!result.ok) {
      return {
        ok: false,
        code: "invalid_json",
        reason: `the tool call body is not valid JSON: ${result.error}`,
      };
    }
    const parsed = result.value;
    if (this.#broken || !_isPlainObject(parsed)) {
      return { ok: false, code: "invalid_json", reason: "the tool call body is not a JSON object" };
    }
    if (this.#nameCount > 1 || this.#argsCount > 1) {
      const key = this.#nameCount > 1 ? "name" : "arguments";
      return { ok: false, code: "duplicate_key", reason: `the tool call has more than one '${key}' key` };
    }
    const name = parsed.name;
    if (name === undefined || name === null || name === "") return this.#finishNameless(parsed);
    if (typeof name !== "string") {
      return {
        ok: false,
        code: "invalid_name",
        reason: `the tool call's 'name' must be a string, got ${_jsonTypeName(name)}`,
      };
    }
    const args = this.#argumentsText(parsed.arguments);
    if (typeof args !== "string") return args;
    if (!this.#started) this.#sink.start(name);
    if (args.length > this.#sent) this.#sink.delta(args.slice(this.#sent));
    return { ok: true, name, arguments: args };
  }

  #argumentsText(value: unknown): string | _BodyResult {
    if (value === undefined || value === null) return "{}";
    if (_isPlainObject(value)) return this.#argsText;
    if (typeof value === "string") {
      if (_isPlainObject(_tryParseJson(value)?.value)) return _minifyJson(value);
      return {
        ok: false,
        code: "invalid_arguments",
        reason: "the tool call's 'arguments' is a string that does not hold a JSON object",
      };
    }
    return {
      ok: false,
      code: "invalid_arguments",
      reason: `the tool call's 'arguments' must be a JSON object, got ${_jsonTypeName(value)}`,
    };
  }

  #finishNameless(parsed: Record<string, unknown>): _BodyResult {
    const repaired = this.#repair ? _repairNamelessCall(parsed, this.#tools) : null;
    if (repaired === null) {
      return {
        ok: false,
        code: "missing_name",
        reason: "the tool call has no 'name'" +
          (this.#repair ? " and none could be inferred from its arguments" : ""),
      };
    }
    this.#sink.start(repaired.name);
    this.#sink.delta(repaired.arguments);
    return { ok: true, ...repaired };
  }
}
