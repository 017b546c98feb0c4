// One worker's share of a driver's plan, so that N worker threads together do what one driver
// promises: requests are dealt round robin (request k to worker k mod N), so an open schedule's
// due times interleave exactly, a cap is split evenly, and AVALANCHE's concurrency is split.
import { connectionsOf, type RequestPlan } from './request-plan';

/**
 * How many workers a plan can use: never more than its requests, nor than its connections (an
 * open model's limit, a closed one's concurrency over the streams of a connection), since every
 * worker holds at least one: two workers under `max_connections: 1` would open two and halve the
 * queue the user asked to see.
 */
export function usableWorkers(plan: RequestPlan, workers: number): number {
  return Math.max(1, Math.min(workers, plan.count, connectionsOf(plan)));
}

export function shareOfPlan(plan: RequestPlan, index: number, of: number): RequestPlan {
  if (of === 1) return plan;
  const split = (total: number) => Math.floor(total / of) + (index < total % of ? 1 : 0);
  return {
    ...plan,
    count: split(plan.count),
    // Request k of the driver is due at k × interval; this worker's j-th is the driver's j × of + index.
    intervalMs: plan.intervalMs * of,
    phaseMs: plan.intervalMs * index,
    seqOffset: index,
    seqStride: of,
    // An open model's connection limit is the driver's: each worker gets its share of the
    // connections, and their streams. A closed model's requests in flight are split evenly (with
    // HTTP/2 the workers' connections may then add up to one more each than the driver's ceil).
    maxInFlight: plan.open ? split(connectionsOf(plan)) * (plan.maxStreams ?? 1) : split(plan.maxInFlight),
  };
}
