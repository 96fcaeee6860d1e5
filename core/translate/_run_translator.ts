// Private helpers shared by the stream translators: the collect-all and the
// `TransformStream` wrappers around one push/finish state machine.
import type { ChatStreamInput } from "./stream_input.ts";

/** The push/finish shape every chat-stream translator has. */
export interface _StreamTranslator<E> {
  /** Feeds one item; events go to `emit`. */
  push(item: ChatStreamInput, emit: (event: E) => void): void;
  /** Ends the stream; closing events go to `emit`. */
  finish(emit: (event: E) => void): void;
}

/** Runs a whole (already collected) stream through `translator` and returns every event. */
export function _collectEvents<E>(translator: _StreamTranslator<E>, items: Iterable<ChatStreamInput>): E[] {
  const events: E[] = [];
  const emit = (event: E) => events.push(event);
  for (const item of items) translator.push(item, emit);
  translator.finish(emit);
  return events;
}

/** The `Transformer` that drives `translator` from a `TransformStream`. */
export function _translatorTransformer<E>(translator: _StreamTranslator<E>): Transformer<ChatStreamInput, E> {
  return {
    transform(item, controller) {
      translator.push(item, (event) => controller.enqueue(event));
    },
    flush(controller) {
      translator.finish((event) => controller.enqueue(event));
    },
  };
}
