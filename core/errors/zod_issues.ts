/**
 * Turns zod validation failures into messages that name the JSON path and say what
 * was expected and what arrived, e.g. `messages[0].content: expected string | array, got 5`.
 *
 * @module
 */
import type { Schema, SchemaError } from "../schema.ts";
import { CortexError, type ErrorCode } from "./cortex_error.ts";

/** One validation problem: where (JSON path) and what (expected vs got). */
export interface IssueDescription {
  /** JSON path such as `messages[0].content`; empty string for the document root. */
  path: string;
  /** What was expected and what was found, without the path. */
  message: string;
}

/** The result of {@linkcode parseWithSchema}: a value or a 400 {@linkcode CortexError}. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: CortexError };

// A zod issue seen structurally: the shapes we read from each issue code.
type _Issue = {
  code?: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  expected?: string;
  values?: unknown[];
  errors?: _Issue[][];
  discriminator?: string;
  options?: unknown[];
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  origin?: string;
  format?: string;
  issues?: _Issue[];
  keys?: string[];
};

/**
 * Formats a path as JSON-path-like text: `["messages", 0, "content"]` → `messages[0].content`.
 */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** A short rendering of a value found in input: strings quoted, composites by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") {
    const json = JSON.stringify(value);
    return json.length > 60 ? `${json.slice(0, 56)}…"` : json;
  }
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return String(value);
}

function _quote(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function _depth(issue: _Issue): number {
  if (issue.code === "invalid_union" && issue.errors && issue.errors.length > 0) {
    return issue.path.length + Math.max(...issue.errors.map((branch) => _branchDepth(branch)));
  }
  return issue.path.length;
}

function _branchDepth(branch: _Issue[]): number {
  return branch.length === 0 ? 0 : Math.max(...branch.map(_depth));
}

function _discriminatorMiss(branch: _Issue[]): number {
  return branch.some((i) =>
      (i.code === "invalid_value" || i.code === "custom") && i.path.length === 1 && i.path[0] === "type"
    )
    ? 1
    : 0;
}

function _compareBranches(a: _Issue[], b: _Issue[]): number {
  return _branchDepth(a) - _branchDepth(b) || _discriminatorMiss(b) - _discriminatorMiss(a) ||
    b.length - a.length;
}

function _rootExpectation(branch: _Issue[]): string | null {
  if (branch.length !== 1 || branch[0].path.length !== 0) return null;
  const only = branch[0];
  if (only.code === "invalid_type" && only.expected) return only.expected;
  if (only.code === "invalid_value" && only.values) return only.values.map(_quote).join(" | ");
  return null;
}

function _describe(issue: _Issue, prefix: readonly PropertyKey[]): IssueDescription[] {
  const path = [...prefix, ...issue.path];
  const got = describeValue(issue.input);
  const at = (message: string): IssueDescription[] => [{ path: formatJsonPath(path), message }];
  switch (issue.code) {
    case "invalid_type":
      return at(`expected ${issue.expected}, got ${got}`);
    case "invalid_value":
      return at(`expected ${(issue.values ?? []).map(_quote).join(" | ")}, got ${got}`);
    case "invalid_union": {
      if (issue.discriminator) {
        const found = issue.input && typeof issue.input === "object"
          ? (issue.input as Record<string, unknown>)[issue.discriminator]
          : undefined;
        const wanted = (issue.options ?? []).map(_quote).join(" | ");
        // zod already points the path at the discriminator key.
        return at(`expected ${wanted}, got ${describeValue(found)}`);
      }
      const branches = issue.errors ?? [];
      const expectations = branches.map(_rootExpectation);
      if (branches.length > 0 && expectations.every((e) => e !== null)) {
        return at(`expected ${[...new Set(expectations)].join(" | ")}, got ${got}`);
      }
      // The branch that got furthest explains the failure best; among equals, prefer one
      // whose discriminator matched and that has fewer problems.
      let best: _Issue[] | undefined;
      for (const branch of branches) {
        if (!best || _compareBranches(branch, best) > 0) best = branch;
      }
      if (!best || best.length === 0) return at(`unexpected value ${got}`);
      return best.flatMap((inner) => _describe(inner, path));
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = small ? issue.minimum : issue.maximum;
      const op = small ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
      if (issue.origin === "string") return at(`expected a string of length ${op} ${bound}, got ${got}`);
      if (issue.origin === "array") {
        const length = Array.isArray(issue.input) ? ` (length ${issue.input.length})` : "";
        return at(`expected an array of length ${op} ${bound}, got array${length}`);
      }
      return at(`expected a number ${op} ${bound}, got ${got}`);
    }
    case "invalid_format":
    case "custom":
      if (issue.message.startsWith("expected") && !issue.message.includes(" got ")) {
        return at(`${issue.message}, got ${got}`);
      }
      if (issue.code === "invalid_format") return at(`expected ${issue.format}, got ${got}`);
      return at(issue.message);
    case "invalid_key":
    case "invalid_element":
      return (issue.issues ?? []).flatMap((inner) => _describe(inner, path));
    case "unrecognized_keys":
      return at(
        `unknown key${(issue.keys ?? []).length === 1 ? "" : "s"} ${
          (issue.keys ?? []).map((key) => JSON.stringify(key)).join(", ")
        }`,
      );
    default:
      return at(issue.message);
  }
}

/** Describes every issue of a zod error (parsed with `reportInput: true` for the "got" part). */
export function describeIssues(error: SchemaError): IssueDescription[] {
  return error.issues.flatMap((issue) => _describe(issue as _Issue, []));
}

/** One line per issue, `path: message`, joined by `; `. */
export function formatIssues(error: SchemaError): string {
  return describeIssues(error)
    .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    .join("; ");
}

/**
 * Converts a zod error on a request body into a 400 {@linkcode CortexError} whose
 * message names the JSON path and whose `param` is the first path at fault.
 */
export function requestValidationError(
  error: SchemaError,
  code: ErrorCode = "invalid_request_body",
): CortexError {
  const issues = describeIssues(error);
  return new CortexError(formatIssues(error) || "invalid request body", {
    code,
    status: 400,
    param: issues[0]?.path || null,
  });
}

/**
 * Validates `input` against `schema`; never throws. Extra keys are tolerated by the
 * cortex schemas; a wrong type yields a 400 naming the JSON path.
 *
 * @example
 * ```ts
 * import { parseWithSchema } from "@cortex/core/errors";
 * import { ChatCompletionRequestSchema } from "@cortex/core/openai";
 * const r = parseWithSchema(ChatCompletionRequestSchema, { model: "m", messages: [{ role: "user", content: 5 }] });
 * if (!r.ok) console.log(r.error.message); // messages[0].content: expected string | array, got 5
 * ```
 */
export function parseWithSchema<T>(
  schema: Schema<T>,
  input: unknown,
  code: ErrorCode = "invalid_request_body",
): ParseResult<T> {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: requestValidationError(parsed.error, code) };
}
