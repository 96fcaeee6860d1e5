// Private: the gateway fuzz's verdicts (`deno task bench:fuzz`, acceptance/fuzz_test.ts): one
// request's outcome (status class, error envelope, stream conformance as a client checks it), the
// totals, and the runner.
import { ChatStreamGuard, checkAnthropicStream, checkResponsesStream } from "@cortex/core/translate";
import type { AnthropicStreamEvent } from "@cortex/core/anthropic";
import type { ResponsesStreamEvent } from "@cortex/core/responses";
import { parseSse } from "@cortex/core/sse";
import type { FuzzRequest, FuzzRoute } from "./_fuzz_requests.ts";

export { FUZZ_ROUTES, fuzzRequests } from "./_fuzz_requests.ts";

/** What one request came to. */
export interface FuzzVerdict {
  route: FuzzRoute;
  kind: FuzzRequest["kind"];
  /** HTTP status, or 0 when no answer came (`hang` or `error`). */
  status: number;
  /** `error.code` (OpenAI) or `error.type` (Anthropic) of an error answer. */
  code: string | null;
  /** The answer was a stream. */
  streamed: boolean;
  /** The answer (stream or whole) carries a tool call. */
  toolCall: boolean;
  /** A client-side check of the answer failed: the body is not the dialect's JSON, or the stream breaks its grammar. */
  problems: string[];
  /** No complete answer within the time limit. */
  hang: boolean;
  /** The request failed at the connection (the gateway reset or crashed). */
  connectionError: string | null;
  /** Documented overload answer: 503 with Retry-After (or any 429). */
  overload: boolean;
}

/** Sends `req` to `baseUrl` and judges the answer, within `timeoutMs`. */
export async function fuzzOne(baseUrl: string, req: FuzzRequest, timeoutMs: number): Promise<FuzzVerdict> {
  const verdict: FuzzVerdict = {
    route: req.route,
    kind: req.kind,
    status: 0,
    code: null,
    streamed: false,
    toolCall: false,
    problems: [],
    hang: false,
    connectionError: null,
    overload: false,
  };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error("timeout")), timeoutMs);
  try {
    const response = await fetch(`${baseUrl}${req.path}`, {
      method: req.method,
      headers: req.body ? { "content-type": "application/json" } : {},
      body: req.body as BodyInit | null,
      signal: abort.signal,
    });
    verdict.status = response.status;
    verdict.streamed = (response.headers.get("content-type") ?? "").includes("text/event-stream");
    const text = await response.text();
    verdict.toolCall = response.ok && /"(tool_calls|tool_use|function_call)"/.test(text);
    verdict.overload = response.status === 429 ||
      (response.status === 503 && response.headers.get("retry-after") !== null);
    if (verdict.streamed) verdict.problems.push(...streamProblems(req.route, text));
    else {
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(text);
      } catch {
        verdict.problems.push(`status ${response.status}: the body is not JSON`);
      }
      if (json && response.status >= 400) {
        const error = json.error as Record<string, unknown> | undefined;
        verdict.code = String(error?.code ?? error?.type ?? "");
        if (typeof error?.message !== "string") {
          verdict.problems.push(`status ${response.status}: no error envelope`);
        }
      }
    }
  } catch (error) {
    if (abort.signal.aborted) verdict.hang = true;
    else verdict.connectionError = error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
  return verdict;
}

/** A client's check of a streamed answer: each dialect's grammar, as the core stream checks state it. */
export function streamProblems(route: FuzzRoute, text: string): string[] {
  const events = parseSse(text).filter((e) => e.data !== undefined);
  if (route === "chat" || route === "completions") {
    const guard = new ChatStreamGuard({ kind: route });
    for (const e of events) guard.push(e.data!, () => {});
    guard.end(() => {});
    return guard.violations.map((v) => `${v.rule}: ${v.detail}`);
  }
  try {
    const parsed = events.map((e) => JSON.parse(e.data!));
    return route === "messages"
      ? checkAnthropicStream(parsed as AnthropicStreamEvent[])
      : checkResponsesStream(parsed as ResponsesStreamEvent[]);
  } catch {
    return ["an event is not JSON"];
  }
}

/** The totals of a fuzz run. */
export interface FuzzReport {
  requests: number;
  by_route: Record<string, { requests: number; statuses: Record<string, number>; streams: number }>;
  by_kind: Record<string, number>;
  streams: number;
  /** Answers carrying a tool call (streamed or not). */
  tool_call_answers: number;
  hangs: number;
  connection_errors: number;
  /** 5xx answers that are not documented overload answers, by status and code. */
  unexpected_5xx: Record<string, number>;
  overload_answers: number;
  /** Client-side check failures (first few, with the route). */
  client_problems: number;
  client_problem_samples: string[];
}

/** Adds up verdicts. */
export function fuzzReport(verdicts: readonly FuzzVerdict[]): FuzzReport {
  const report: FuzzReport = {
    requests: verdicts.length,
    by_route: {},
    by_kind: {},
    streams: 0,
    tool_call_answers: 0,
    hangs: 0,
    connection_errors: 0,
    unexpected_5xx: {},
    overload_answers: 0,
    client_problems: 0,
    client_problem_samples: [],
  };
  for (const v of verdicts) {
    const route = report.by_route[v.route] ??= { requests: 0, statuses: {}, streams: 0 };
    route.requests++;
    const status = v.hang ? "hang" : v.connectionError ? "connection_error" : String(v.status);
    route.statuses[status] = (route.statuses[status] ?? 0) + 1;
    report.by_kind[v.kind] = (report.by_kind[v.kind] ?? 0) + 1;
    if (v.streamed) {
      route.streams++;
      report.streams++;
    }
    if (v.toolCall) report.tool_call_answers++;
    if (v.hang) report.hangs++;
    if (v.connectionError) report.connection_errors++;
    if (v.overload) report.overload_answers++;
    if (v.status >= 500 && !v.overload) {
      const key = `${v.status} ${v.code ?? ""}`.trim();
      report.unexpected_5xx[key] = (report.unexpected_5xx[key] ?? 0) + 1;
    }
    if (v.problems.length > 0) {
      report.client_problems++;
      if (report.client_problem_samples.length < 5) {
        report.client_problem_samples.push(`${v.route} ${v.status}: ${v.problems.slice(0, 2).join("; ")}`);
      }
    }
  }
  return report;
}

/** Runs `requests` against `baseUrl`, `concurrency` at a time. */
export async function runFuzz(
  baseUrl: string,
  requests: Iterable<FuzzRequest>,
  options: { concurrency: number; timeoutMs: number },
): Promise<FuzzVerdict[]> {
  const verdicts: FuzzVerdict[] = [];
  const iterator = requests[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      verdicts.push(await fuzzOne(baseUrl, next.value, options.timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return verdicts;
}
