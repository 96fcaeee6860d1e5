/**
 * Reads the Qwen3-Coder XML form of a tool call as it streams:
 * `<function=NAME><parameter=KEY>VALUE</parameter>…</function>`. Values are typed by the tool's
 * JSON schema; string values are streamed as they arrive.
 * @module
 */

import type { _BodyReader, _BodyResult, _CallSink } from "./_body.ts";
import { _coerceXmlValue, _declaredTypes, _isStringOnly } from "./_coerce.ts";
import { _partialTagLength, _surrogateSafeEnd } from "./_holdback.ts";
import type { ToolDefinition } from "./types.ts";

type _State = "open" | "name" | "gap" | "key" | "value" | "after";

const _FUNCTION_OPEN = "<function=";
const _PARAMETER_OPEN = "<parameter=";
const _PARAMETER_CLOSE = "</parameter>";
const _FUNCTION_CLOSE = "</function>";
/** What ends a value: its close tag, or (tolerated) the next parameter or the function's end. */
const _VALUE_ENDS = [_PARAMETER_CLOSE, _PARAMETER_OPEN, _FUNCTION_CLOSE] as const;

function _escapeJsonString(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** See the module doc. Whitespace between elements is skipped; any other stray text is an error. */
export class _XmlBodyReader implements _BodyReader {
  readonly #sink: _CallSink;
  readonly #tools: readonly ToolDefinition[] | undefined;
  #state: _State = "open";
  #error: string | null = null;
  #literal = "";
  #name = "";
  #key = "";
  #types: string[] = [];
  #streamValue = false;
  #value = "";
  #valueSent = 0;
  #params = 0;
  #args = "";
  #sent = 0;
  #started = false;

  constructor(sink: _CallSink, tools: readonly ToolDefinition[] | undefined) {
    this.#sink = sink;
    this.#tools = tools;
  }

  get closeTagActive(): boolean {
    return true;
  }

  step(char: string): void {
    switch (this.#state) {
      case "open":
        return this.#matchLiteral(
          char,
          [_FUNCTION_OPEN],
          "expected <function=NAME> at the start of the tool call",
        );
      case "name":
        if (char !== ">" && char !== "\n") this.#name += char;
        else if (this.#name.trim() === "") this.#fail("the <function=…> tag has an empty name");
        else {
          this.#name = this.#name.trim();
          this.#state = "gap";
          this.#started = true;
          this.#sink.start(this.#name);
        }
        return;
      case "gap":
        return this.#matchLiteral(
          char,
          [_PARAMETER_OPEN, _FUNCTION_CLOSE],
          `unexpected text in function '${this.#name}' (expected <parameter=KEY> or </function>)`,
        );
      case "key":
        if (char !== ">" && char !== "\n") this.#key += char;
        else if (this.#key.trim() === "") {
          this.#fail(`a <parameter=…> tag of '${this.#name}' has an empty name`);
        } else this.#beginValue(this.#key.trim());
        return;
      case "value":
        this.#value += char;
        if (char === ">" || char === "=") {
          const end = _VALUE_ENDS.find((tag) => this.#value.endsWith(tag));
          if (end !== undefined) this.#endValue(this.#value.slice(0, -end.length), end);
        }
        return;
      case "after":
        if (char !== " " && char !== "\n" && char !== "\r" && char !== "\t") {
          this.#fail(`unexpected text after </function> of '${this.#name}'`);
        }
        return;
    }
  }

  #matchLiteral(char: string, literals: readonly string[], message: string): void {
    if (this.#error !== null) return;
    if (this.#literal === "" && (char === " " || char === "\n" || char === "\r" || char === "\t")) return;
    this.#literal += char;
    const done = literals.find((literal) => literal === this.#literal);
    if (done !== undefined) {
      this.#literal = "";
      if (done === _FUNCTION_OPEN) this.#state = "name";
      else if (done === _PARAMETER_OPEN) this.#state = "key";
      else this.#closeArguments();
    } else if (!literals.some((literal) => literal.startsWith(this.#literal))) {
      this.#fail(message);
    }
  }

  #fail(message: string): void {
    if (this.#error === null) this.#error = message;
    this.#state = "after";
  }

  #beginValue(key: string): void {
    this.#args += (this.#params === 0 ? "{" : ",") + JSON.stringify(key) + ":";
    this.#params++;
    this.#key = "";
    this.#types = _declaredTypes(this.#tools, this.#name, key);
    this.#streamValue = _isStringOnly(this.#types);
    if (this.#streamValue) this.#args += '"';
    this.#value = "";
    this.#valueSent = 0;
    this.#state = "value";
  }

  #endValue(value: string, end: string): void {
    if (this.#streamValue) {
      const lead = value.startsWith("\n") ? 1 : 0;
      const stop = value.length > lead && value.endsWith("\n") ? value.length - 1 : value.length;
      this.#args += _escapeJsonString(value.slice(Math.max(this.#valueSent, lead), stop)) + '"';
    } else {
      this.#args += _coerceXmlValue(value, this.#types);
    }
    this.#value = "";
    if (end === _PARAMETER_OPEN) this.#state = "key";
    else if (end === _FUNCTION_CLOSE) this.#closeArguments();
    else this.#state = "gap";
  }

  #closeArguments(): void {
    this.#args += this.#params === 0 ? "{}" : "}";
    this.#state = "after";
  }

  /** Moves the part of a streamed string value that can no longer change into the arguments. */
  #advanceValue(): void {
    const value = this.#value;
    if (!this.#streamValue || value === "") return;
    const lead = value.startsWith("\n") ? 1 : 0;
    let end = value.length - Math.max(..._VALUE_ENDS.map((tag) => _partialTagLength(value, tag)));
    if (end > lead && value[end - 1] === "\n") end--; // may be the newline before </parameter>
    end = _surrogateSafeEnd(value, end);
    const from = Math.max(this.#valueSent, lead);
    if (end > from) {
      this.#args += _escapeJsonString(value.slice(from, end));
      this.#valueSent = end;
    }
  }

  flush(): void {
    if (!this.#started) return;
    if (this.#state === "value") this.#advanceValue();
    const end = _surrogateSafeEnd(this.#args, this.#args.length);
    if (end > this.#sent) {
      this.#sink.delta(this.#args.slice(this.#sent, end));
      this.#sent = end;
    }
  }

  finish(_body: string): _BodyResult {
    if (this.#error === null) {
      if (this.#state === "open" || this.#state === "name") {
        this.#error = "the tool call has no complete <function=NAME> tag";
      } else if (this.#state === "key") {
        this.#error = `a <parameter=…> tag of '${this.#name}' is not closed by '>'`;
      }
    }
    if (this.#error !== null) return { ok: false, code: "invalid_xml", reason: this.#error };
    if (this.#state === "value") this.#endValue(this.#value, _FUNCTION_CLOSE);
    else if (this.#state === "gap") this.#closeArguments();
    if (this.#args.length > this.#sent) this.#sink.delta(this.#args.slice(this.#sent));
    return { ok: true, name: this.#name, arguments: this.#args };
  }
}
