// Every corrected latency of a test, written to a file as little-endian uint32 microseconds, so
// that exact percentiles can be computed offline (the benchmark checks the histograms against
// it). Buffered: one write per 16,384 latencies; memory stays fixed.
import { closeSync, openSync, writeSync } from 'node:fs';

const ENTRIES = 16_384;

export class LatencyLog {
  private readonly buffer = Buffer.allocUnsafe(ENTRIES * 4);
  private used = 0;
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
  }

  /** `latencyMs` from performance.now() differences. */
  write(latencyMs: number): void {
    this.buffer.writeUInt32LE(Math.min(0xffffffff, Math.max(1, Math.round(latencyMs * 1000))), this.used * 4);
    if (++this.used === ENTRIES) this.flush();
  }

  private flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buffer, 0, this.used * 4);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Reads a log written by LatencyLog: microseconds. */
export function readLatencyLog(contents: Buffer): Uint32Array {
  const out = new Uint32Array(contents.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = contents.readUInt32LE(i * 4);
  return out;
}
