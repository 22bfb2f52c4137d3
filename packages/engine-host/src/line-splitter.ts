import { StringDecoder } from "node:string_decoder";

/**
 * Splits a byte stream into lines. Bytes are decoded as a whole so a UTF-8
 * character split across chunks survives; an over-long partial line is
 * dropped (reported through onOverflow) instead of growing without bound.
 */
export class LineSplitter {
  private buffer = "";
  private readonly decoder = new StringDecoder("utf8");
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxChars: number,
    private readonly onOverflow: (chars: number) => void = () => {},
  ) {}

  push(chunk: Buffer | string): void {
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    while (text.length > 0) {
      const nl = text.indexOf("\n");
      if (nl < 0) {
        if (!this.discarding) this.buffer += text;
        if (this.buffer.length > this.maxChars) {
          this.onOverflow(this.buffer.length);
          this.buffer = "";
          this.discarding = true;
        }
        return;
      }
      const piece = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (this.discarding) {
        this.discarding = false;
        this.buffer = "";
        continue;
      }
      const line = (this.buffer + piece).replace(/\r$/, "");
      this.buffer = "";
      if (line.trim().length > 0) this.onLine(line);
    }
  }

  /** Flushes a final line without a newline. */
  end(): void {
    const rest = this.buffer + this.decoder.end();
    this.buffer = "";
    if (!this.discarding && rest.trim().length > 0) this.onLine(rest);
    this.discarding = false;
  }
}
