/**
 * Incremental parser for the text/event-stream format (WHATWG HTML, "server-sent events").
 * Pure: feed it decoded text in chunks of any size; it returns the messages completed so far.
 *
 * @example
 * const p = createSseParser();
 * p.push("id: 1\ndata: {\"a\":1}\n\n"); // => [{ id: "1", event: "message", data: "{\"a\":1}" }]
 */
export interface SseMessage {
  /** The `id:` of this message, or the last id seen before it (as a browser's lastEventId). */
  id: string | undefined;
  event: string;
  data: string;
  retry?: number;
}

export interface SseParser {
  push(chunk: string): SseMessage[];
  /** Flush at end of stream; per the spec an unterminated message is dropped. */
  end(): SseMessage[];
  readonly lastEventId: string | undefined;
}

export function createSseParser(): SseParser {
  let buffer = "";
  // A chunk may end between "\r" and "\n"; remember that so the "\n" is not read as a second line end.
  let pendingCr = false;
  let lastEventId: string | undefined;
  let data: string[] = [];
  let event = "";
  let retry: number | undefined;

  function dispatch(out: SseMessage[]): void {
    if (data.length > 0) {
      const msg: SseMessage = { id: lastEventId, event: event || "message", data: data.join("\n") };
      if (retry !== undefined) msg.retry = retry;
      out.push(msg);
    }
    data = [];
    event = "";
    retry = undefined;
  }

  function line(text: string, out: SseMessage[]): void {
    if (text === "") {
      dispatch(out);
      return;
    }
    if (text.startsWith(":")) return; // comment, used as keep-alive
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        data.push(value);
        break;
      case "event":
        event = value;
        break;
      case "id":
        if (!value.includes("\0")) lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
      default:
        // unknown fields are ignored, as the spec requires
        break;
    }
  }

  return {
    push(chunk: string): SseMessage[] {
      const out: SseMessage[] = [];
      let text = chunk;
      if (pendingCr && text.startsWith("\n")) text = text.slice(1);
      pendingCr = false;
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        line(buffer.slice(start, i), out);
        if (c === "\r") {
          if (i + 1 < buffer.length) {
            if (buffer[i + 1] === "\n") i++;
          } else {
            pendingCr = true;
          }
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
      return out;
    },
    end(): SseMessage[] {
      // Without the closing blank line a message is incomplete; the spec says to discard it.
      buffer = "";
      data = [];
      event = "";
      retry = undefined;
      return [];
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
