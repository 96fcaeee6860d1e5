// Private: the violation bookkeeping every stream guard holds (the list, the callback).
import type { StreamGuardOptions, StreamViolation, StreamViolationAction } from "./stream_guard.ts";

export class _ViolationLog {
  readonly list: StreamViolation[] = [];
  readonly #onViolation: StreamGuardOptions["onViolation"];

  constructor(options: StreamGuardOptions) {
    this.#onViolation = options.onViolation;
  }

  add(rule: string, detail: string, action: StreamViolationAction): StreamViolation {
    const violation: StreamViolation = { rule, detail, action };
    this.list.push(violation);
    this.#onViolation?.(violation);
    return violation;
  }
}
