// Private: how Responses stream events build the output items a client ends up with. The
// reassembler (responses_stream_check.ts) and the guard (responses_stream_guard.ts) share it.
import type { ResponsesOutputItem } from "../responses/response.ts";
import type { ResponsesStreamEvent } from "../responses/stream_events.ts";

/** Applies one item event (added, done, part added, text/summary/argument delta) to `items`. */
export function _applyItemEvent(items: ResponsesOutputItem[], event: ResponsesStreamEvent): void {
  switch (event.type) {
    case "response.output_item.added":
      items[event.output_index] = structuredClone(event.item);
      break;
    case "response.output_item.done": {
      const item = items[event.output_index];
      if (item && event.item.status) item.status = event.item.status as never;
      break;
    }
    case "response.content_part.added": {
      const item = items[event.output_index];
      if (item?.type === "message") item.content[event.content_index] = structuredClone(event.part);
      break;
    }
    case "response.output_text.delta": {
      const item = items[event.output_index];
      const part = item?.type === "message" ? item.content[event.content_index] : undefined;
      if (part?.type === "output_text") part.text += event.delta;
      break;
    }
    case "response.reasoning_summary_part.added": {
      const item = items[event.output_index];
      if (item?.type === "reasoning") item.summary[event.summary_index] = structuredClone(event.part);
      break;
    }
    case "response.reasoning_summary_text.delta": {
      const item = items[event.output_index];
      const part = item?.type === "reasoning" ? item.summary[event.summary_index] : undefined;
      if (part) part.text += event.delta;
      break;
    }
    case "response.function_call_arguments.delta": {
      const item = items[event.output_index];
      if (item?.type === "function_call") item.arguments += event.delta;
      break;
    }
  }
}
