/**
 * Framing of what the guest agent sends: newline-terminated JSON lines, and the 0xFF byte that
 * `guest-sync-delimited` puts before its answer. The guest decides every byte here, so the reader holds at
 * most `maxLineBytes` of a line; a longer line is dropped whole (up to its newline or the next 0xFF) and
 * reported once, never buffered.
 */

/** What the reader found in the bytes pushed so far. */
export type AgentFrame =
  | { kind: "line"; text: string }
  /** A 0xFF byte: the agent's answer to a sync follows; whatever came before it is stale. */
  | { kind: "sync-mark" }
  /** A line longer than the bound, dropped; `bytes` is how much of it was seen (at least the bound). */
  | { kind: "oversized"; bytes: number };

/** The default bound of one line: far more than any agent answer we ask for (fsinfo of 64 disks is ~20 KiB). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NL = 0x0a;
const SYNC = 0xff;

/** Splits the agent's byte stream into frames, holding at most `maxLineBytes` of an unfinished line. */
export class AgentLineReader {
  readonly #max: number;
  #parts: Buffer[] = [];
  #held = 0;
  /** Bytes of the current line when it is over the bound (then nothing of it is held). */
  #dropping = 0;

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.#max = maxLineBytes;
  }

  /** Bytes of an unfinished line held now (never more than the bound). */
  get held(): number {
    return this.#held;
  }

  /**
   * Bytes that were not read (the flood budget dropped them): the line in progress is lost, so it is
   * dropped whole and reported as oversized when it ends.
   */
  skip(bytes: number): void {
    this.#dropping = (this.#dropping || this.#held) + bytes;
    this.#parts = [];
    this.#held = 0;
  }

  /** Feeds a chunk; returns the frames it completed, in order. */
  push(chunk: Buffer): AgentFrame[] {
    const frames: AgentFrame[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== NL && b !== SYNC) continue;
      this.#take(chunk.subarray(start, i));
      start = i + 1;
      if (b === NL) this.#endLine(frames);
      else {
        this.#reset(frames);
        frames.push({ kind: "sync-mark" });
      }
    }
    this.#take(chunk.subarray(start));
    return frames;
  }

  /** Adds bytes of the current line, or switches to dropping it once it is over the bound. */
  #take(bytes: Buffer): void {
    if (!bytes.length) return;
    if (this.#dropping) {
      this.#dropping += bytes.length;
      return;
    }
    if (this.#held + bytes.length > this.#max) {
      this.#dropping = this.#held + bytes.length;
      this.#parts = [];
      this.#held = 0;
      return;
    }
    // Copy: the chunk's buffer belongs to the socket and may be large (a slice would pin all of it).
    this.#parts.push(Buffer.from(bytes));
    this.#held += bytes.length;
  }

  #endLine(frames: AgentFrame[]): void {
    if (this.#dropping) {
      frames.push({ kind: "oversized", bytes: this.#dropping });
      this.#dropping = 0;
      return;
    }
    const text = Buffer.concat(this.#parts, this.#held).toString("utf8").trim();
    this.#parts = [];
    this.#held = 0;
    if (text) frames.push({ kind: "line", text });
  }

  /** A sync mark ends whatever line was in progress without delivering it. */
  #reset(frames: AgentFrame[]): void {
    if (this.#dropping) frames.push({ kind: "oversized", bytes: this.#dropping });
    this.#dropping = 0;
    this.#parts = [];
    this.#held = 0;
  }
}
