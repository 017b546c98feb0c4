// A capacity search on the real orchestrator: the port the runner needs (capacity-runner.ts),
// made of the orchestrator's test start, live control and per-phase figures. The CLI, the
// extension and the demo all start a search through `startCapacitySearch`, so they run the same one.
//
// The search's test is one TSUNAMI test of a single stage at the start rate (stages are totals
// over all drivers, and a driver that speaks only the spec is not picked for them), bounded by
// capacityTestDurationS; the runner then sets, pauses and resumes it step by step.
import type { LoadTestDefinition } from '../loadtest-definition';
import type { Orchestrator } from '../orchestrator';
import type { StageStats } from '../result-model';
import type { TestRun } from '../test-run';
import { capacityTestDurationS, resolveCapacityConfig, type CapacityConfig } from './capacity-config';
import { runCapacitySearch, stepPhase, type CapacityPort, type CapacityProgress } from './capacity-runner';
import type { CapacityResult, StepFigures } from './capacity-search';

/** Who changes the test's rate, as its control log says. */
export const CAPACITY_CONTROL_BY = 'capacity search';

/** The stage the test starts in is the search's first step. */
const FIRST_STAGE = 'stage 1';

/** The definition of the search's one test: the file's requests, thresholds and server queries, the capacity's load. */
export function capacityTestDefinition(definition: LoadTestDefinition, config: CapacityConfig): LoadTestDefinition {
  const { message_count_per_driver: _count, duration_s: _duration, stages: _stages, test_message_delay: _delay, target_throughput: _cap, capacity: _capacity, ...rest } = definition;
  // A server limit of the SLO with its own PromQL is watched like the file's queries.
  const ownQueries = Object.fromEntries(Object.entries(config.slo.server ?? {}).flatMap(([name, slo]) => (slo.query ? [[name, slo.query]] : [])));
  const prometheus = definition.prometheus && { ...definition.prometheus, queries: { ...definition.prometheus.queries, ...ownQueries } };
  return {
    ...rest,
    test_type: 'TSUNAMI',
    name: definition.name ? `${definition.name} (capacity search)` : 'capacity search',
    start_rate: config.start_rate,
    stages: [{ duration_s: capacityTestDurationS(config), target_rate: config.start_rate }],
    ...(prometheus ? { prometheus } : {}),
  };
}

/** A phase's merged figures in the form the search judges. */
export function stepFigures(s: StageStats): StepFigures {
  return {
    phase: s.phase,
    planned_rate: s.planned_rate ?? 0,
    achieved_rate: s.achieved_rate ?? 0,
    requests_sent: s.requests_sent,
    responses: s.responses,
    errors: s.error_kinds,
    error_rate: s.error_rate,
    p50_ms: s.latency?.p50 ?? null,
    p99_ms: s.latency?.p99 ?? null,
    uncorrected_p99_ms: s.uncorrected_p99 ?? undefined,
    max_ms: s.latency?.max ?? null,
    send_lag_p99_ms: s.send_lag_p99 ?? undefined,
    waited_for_connection: s.waited_for_connection,
    server: s.server ? Object.fromEntries(Object.entries(s.server).map(([name, w]) => [name, w.mean ?? undefined])) : undefined,
  };
}

/** Resolves once no driver of the run is warming up any more (or the run ended, or the search was stopped). */
function warmUpOver(run: TestRun, signal?: AbortSignal): Promise<void> {
  const over = () => {
    const s = run.current();
    return s.status !== 'running' || signal?.aborted === true || (s.aggregate.warm_up?.warming === 0 && s.aggregate.requests_sent > 0);
  };
  return new Promise((resolve) => {
    const look = () => (over() ? resolve() : void setTimeout(look, 100));
    look();
  });
}

export interface CapacitySessionOptions {
  /** how long to wait for enough drivers to register */
  waitForDriversMs?: number;
  onProgress?: (progress: CapacityProgress) => void;
  signal?: AbortSignal;
}

/** Runs a search to its end on the orchestrator's drivers. `definition.capacity` must be there. */
export async function startCapacitySearch(orchestrator: Orchestrator, definition: LoadTestDefinition, options: CapacitySessionOptions = {}): Promise<CapacityResult> {
  if (!definition.capacity) throw new Error('the definition has no "capacity" block: add one, e.g. "capacity": {"start_rate": 100, "max_rate": 5000, "slo": {"p99_latency_ms": 200}}');
  const config = resolveCapacityConfig(definition.capacity);
  let participants = 0;
  const phaseOf = (phase: string) => (phase === stepPhase(1) ? FIRST_STAGE : phase);
  const port: CapacityPort = {
    start: async () => {
      const run = await orchestrator.startTest(capacityTestDefinition(definition, config), { waitForDriversMs: options.waitForDriversMs ?? 0 });
      participants = run.participants.length;
      // A warm-up goes first, at the first step's pace and in none of its figures: the first step's
      // time starts when every driver has begun its measured requests.
      if (definition.warm_up_count_per_driver) await warmUpOver(run, options.signal);
      return run.testId;
    },
    setRate: async (testId, rate, phase) => void (await orchestrator.controlTest(testId, { action: 'set', rate }, CAPACITY_CONTROL_BY, phase)),
    pause: async (testId, phase) => void (await orchestrator.controlTest(testId, { action: 'pause' }, CAPACITY_CONTROL_BY, phase)),
    resume: async (testId, phase) => void (await orchestrator.controlTest(testId, { action: 'resume' }, CAPACITY_CONTROL_BY, phase)),
    waitForPhaseSettled: async (testId, phase, timeoutMs) => stepFigures(await orchestrator.waitForPhaseSettled(testId, phaseOf(phase), timeoutMs)),
    stop: async (testId) => {
      await orchestrator.stopTest(testId, 'the capacity search, at its end').catch(() => undefined);
      await orchestrator.waitForEnd(testId).catch(() => undefined);
    },
    drivers: () => participants,
  };
  return runCapacitySearch({ config, port, onProgress: options.onProgress, signal: options.signal });
}
