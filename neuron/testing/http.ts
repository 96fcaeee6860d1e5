/**
 * Small HTTP helpers for tests that talk to a spawned neuron: JSON POSTs, and the model
 * figures of `/health` and `/models`.
 *
 * @module
 */
import type { ModelLoadStats, NeuronModelInfo } from "@cortex/core/fleet";

/** POSTs `body` as JSON (a string is sent as is) and returns the response. */
export function postJson(
  url: string,
  body: unknown,
  options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: options.signal,
  });
}

/** POSTs and parses the JSON answer, returning status and body. */
export async function postForJson<T = Record<string, unknown>>(
  url: string,
  body: unknown,
  headers?: Record<string, string>,
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await postJson(url, body, { headers });
  return { status: response.status, body: await response.json() as T, headers: response.headers };
}

/** The `/health` figures of one model (undefined when not loaded). */
export async function modelHealth(
  base: string,
  id: string,
  headers?: Record<string, string>,
): Promise<ModelLoadStats | undefined> {
  const health = await (await fetch(`${base}/health`, { headers })).json();
  return (health.models as ModelLoadStats[]).find((m) => m.id === id);
}

/** The `/models` entry of one model. */
export async function modelEntry(
  base: string,
  id: string,
  headers?: Record<string, string>,
): Promise<NeuronModelInfo | undefined> {
  const models = await (await fetch(`${base}/models`, { headers })).json() as NeuronModelInfo[];
  return models.find((m) => m.id === id);
}

/** Polls `check` every 20 ms until it returns true; throws after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
