/** A byte ring that keeps the last `capacity` bytes written to it (the recent serial console output). */
export class ByteRing {
  #buf: Buffer;
  #start = 0;
  #length = 0;
  #total = 0;

  constructor(readonly capacity: number) {
    this.#buf = Buffer.alloc(capacity);
  }

  /** Bytes written since creation, including those no longer kept. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Appends bytes, dropping the oldest when full. */
  write(chunk: Buffer): void {
    this.#total += chunk.length;
    if (chunk.length >= this.capacity) {
      chunk.copy(this.#buf, 0, chunk.length - this.capacity);
      this.#start = 0;
      this.#length = this.capacity;
      return;
    }
    const end = (this.#start + this.#length) % this.capacity;
    const first = Math.min(chunk.length, this.capacity - end);
    chunk.copy(this.#buf, end, 0, first);
    chunk.copy(this.#buf, 0, first);
    const overflow = Math.max(0, this.#length + chunk.length - this.capacity);
    this.#length = Math.min(this.capacity, this.#length + chunk.length);
    this.#start = (this.#start + overflow) % this.capacity;
  }

  /** The kept bytes, oldest first. */
  contents(): Buffer {
    const end = this.#start + this.#length;
    if (end <= this.capacity) return Buffer.from(this.#buf.subarray(this.#start, end));
    return Buffer.concat([this.#buf.subarray(this.#start), this.#buf.subarray(0, end - this.capacity)]);
  }
}
