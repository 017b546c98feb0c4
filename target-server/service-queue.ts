// A server with a real limit, for capacity searches to find: one queue served one request at a
// time, each taking 1/capacity seconds. Below the capacity a request waits at most about one
// service time; above it the queue grows by (offered - capacity) requests every second, so latency
// grows with it; a request that would wait longer than the queue limit is refused at once (503), as a
// load shedder in front of a real service would. Times are in milliseconds on any monotonic clock.

export class ServiceQueue {
  private readonly serviceMs: number;
  /** when the server finishes the last request it accepted */
  private freeAt = -Infinity;

  constructor(
    /** requests per second the server can serve */
    readonly capacityRps: number,
    /** the longest a request may wait in the queue before its service begins; beyond it, refused */
    readonly queueLimitMs: number,
  ) {
    if (!(capacityRps > 0)) throw new Error('capacity must be above 0 requests per second');
    this.serviceMs = 1000 / capacityRps;
  }

  /** Milliseconds from `nowMs` until the request arriving now is served, or null when it is refused. */
  admit(nowMs: number): number | null {
    const startsAt = Math.max(nowMs, this.freeAt);
    if (startsAt - nowMs > this.queueLimitMs) return null;
    this.freeAt = startsAt + this.serviceMs;
    return this.freeAt - nowMs;
  }
}
