// kafkajs 2.2.4 keeps a timer firing about every millisecond on each broker connection, even with
// nothing to send (tulios/kafkajs#1556 and #1704, open upstream; the library has had no release
// since 2023). Its request queue re-arms a "check the pending requests" timeout after every check,
// and when nothing is throttled the delay it computes is negative, so Node runs it on the next
// millisecond, forever. An idle agent spent about 3% of a core on it, the orchestrator (in the
// editor's extension host too) as much, and a busy driver paid for it between its requests.
//
// The corrected rule: a check is scheduled only while requests wait in the queue (the client is
// throttled, or has as many requests in flight as it allows). Nothing is lost when the queue is
// empty: a new request, and every answered or timed-out one, checks the queue again by itself.
interface RequestQueueInternals {
  pending: unknown[];
  /** epoch milliseconds; -1 when the broker never asked to throttle */
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own interval for re-checking waiting requests that are not throttled */
const CHECK_PENDING_INTERVAL_MS = 10;

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilThrottleEnds = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilThrottleEnds > 0 ? untilThrottleEnds : CHECK_PENDING_INTERVAL_MS,
  );
}

let installed = false;

/**
 * Replaces the request queue's scheduling with the corrected one, once per process. Throws if
 * kafkajs no longer has the method: a new kafkajs must be looked at before this is carried over.
 */
export function fixKafkajsIdleTimer(): void {
  if (installed) return;
  // The module kafkajs itself loads (one copy, bundled or not): its prototype is the one in use.
  const RequestQueue: { prototype: RequestQueueInternals } = require('kafkajs/src/network/requestQueue');
  if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== 'function') {
    throw new Error('kafkajs changed: its request queue has no scheduleCheckPendingRequests; review protocol/kafkajs-idle-timer-fix.ts');
  }
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  installed = true;
}
