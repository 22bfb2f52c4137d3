import { describe, expect, it } from "vitest";
import { createSseParser, type SseMessage } from "./sse.ts";

function parseAll(chunks: string[]): SseMessage[] {
  const p = createSseParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
}

const msg = (data: string, id?: string, event = "message"): SseMessage => ({ id, event, data });

describe("createSseParser", () => {
  it.each<[string, string[], SseMessage[]]>([
    ["one message", ["id: 1\ndata: hello\n\n"], [msg("hello", "1")]],
    ["no space after colon", ["id:7\ndata:x\n\n"], [msg("x", "7")]],
    ["only the first space is stripped", ["data:  two\n\n"], [msg(" two")]],
    ["multi-line data joins with \\n", ["data: a\ndata: b\n\n"], [msg("a\nb")]],
    ["CRLF line ends", ["id: 2\r\ndata: x\r\n\r\n"], [msg("x", "2")]],
    ["CR line ends", ["data: x\r\r"], [msg("x")]],
    ["CRLF split across chunks", ["data: x\r", "\n\r", "\n"], [msg("x")]],
    ["comments are keep-alives", [": ping\n\n", "data: y\n\n"], [msg("y")]],
    ["event names", ["event: end\ndata: {}\n\n"], [msg("{}", undefined, "end")]],
    ["a message without data is not dispatched", ["id: 3\n\n", "data: z\n\n"], [msg("z", "3")]],
    ["the id carries over to later messages", ["id: 4\ndata: a\n\ndata: b\n\n"], [msg("a", "4"), msg("b", "4")]],
    ["an id with NUL is ignored", ["id: 5\ndata: a\n\nid: x\0y\ndata: b\n\n"], [msg("a", "5"), msg("b", "5")]],
    ["unknown fields are ignored", ["foo: bar\ndata: a\n\n"], [msg("a")]],
    ["a field with no colon has an empty value", ["data\n\n"], [msg("")]],
    ["an unterminated message is dropped at the end", ["data: a\n\ndata: partial"], [msg("a")]],
    ["byte-by-byte delivery", [...'id: 9\ndata: {"seq":9}\n\n'], [msg('{"seq":9}', "9")]],
    ["two messages in one chunk", ["data: 1\n\ndata: 2\n\n"], [msg("1"), msg("2")]],
  ])("%s", (_name, chunks, expected) => {
    expect(parseAll(chunks)).toEqual(expected);
  });

  it("reads retry as a number and ignores a non-numeric one", () => {
    expect(parseAll(["retry: 1500\ndata: a\n\nretry: soon\ndata: b\n\n"])).toEqual([{ ...msg("a"), retry: 1500 }, msg("b")]);
  });

  it("reports the last event id seen", () => {
    const p = createSseParser();
    p.push("id: 10\ndata: a\n\nid: 11\n");
    expect(p.lastEventId).toBe("11");
  });
});
