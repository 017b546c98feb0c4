// One test as the orchestrator sees it, from creation to its result: which drivers take part,
// their latest reports, the aggregate every second, and when it is over. A participant is done
// when it reports the test complete, when it is lost (the test ends with what it reported), or
// when it stays silent too long.
import { EventEmitter } from 'node:events';
import type { Histogram } from '../protocol/latency-histogram';
import type { MetricsMessage, TestConfigMessage } from '../protocol/wire-protocol';
import {
  aggregate,
  decodeReport,
  driverStats,
  intervalLatency,
  mergedHistogram,
  type AggregateStats,
  type DriverReport,
  type DriverStats,
  type DriverTestState,
} from './metrics-aggregator';
import type { LoadTestDefinition } from './loadtest-definition';
import type { MetricsStore } from './metrics-store';
import { evaluateThresholds, type ThresholdResult } from './thresholds';

/** `interrupted`: found in the store without a result (the orchestrator stopped while it ran). */
export type TestStatus = 'created' | 'running' | 'complete' | 'stopped' | 'interrupted';

export interface TimePoint {
  /** seconds since the trigger */
  t: number;
  timestamp: number;
  requests_sent: number;
  responses: number;
  errors: number;
  /** responses per second across drivers */
  rate: number;
  /** latency of the responses in this interval only, in milliseconds */
  latency: { mean: number; p50: number; p90: number | null; p95: number | null; p99: number | null; max: number } | null;
  per_driver: Record<string, { rate: number | null; requests_sent: number | null }>;
}

export interface TestSnapshot {
  test_id: string;
  name?: string;
  test_type: string;
  status: TestStatus;
  created_at: number;
  triggered_at?: number;
  ended_at?: number;
  elapsed_s: number;
  config: TestConfigMessage;
  participants: string[];
  aggregate: AggregateStats;
  per_driver: DriverStats[];
  /** responses per second over the whole test so far */
  throughput: number;
  /** epoch ms when these figures were computed */
  computed_at: number;
}

export interface TestResult extends TestSnapshot {
  status: 'complete' | 'stopped';
  ended_at: number;
  thresholds: ThresholdResult;
}

export interface TestRunEvents {
  /** about once a second while the test runs, with that second's point of the time series */
  update: [snapshot: TestSnapshot, point: TimePoint];
  end: [result: TestResult];
}

export interface TestRunOptions {
  definition: LoadTestDefinition;
  config: TestConfigMessage;
  participants: string[];
  store: MetricsStore;
  /** A participant that has not reported this long after the trigger is given up on. */
  firstReportTimeoutMs?: number;
  /** A participant that sends no test_status is done after this long without a new report. */
  quietAfterMs?: number;
  now?: () => number;
}

interface DriverTrack {
  state: DriverTestState;
  latest?: DriverReport;
  previous?: DriverReport;
  reports: number;
  sendsStatus: boolean;
}

const DONE: ReadonlySet<DriverTestState> = new Set(['complete', 'lost', 'silent']);
const SEEN_REPORT_IDS = 10_000;
/** At most this often, even if reports come faster. */
const MIN_EMIT_INTERVAL_MS = 250;
/**
 * At least this often while a test runs. Longer than the drivers' 1 s report interval, so that
 * complete rounds, not this clock, pace the updates; it only speaks when a driver falls silent.
 */
const EMIT_INTERVAL_MS = 1500;

export class TestRun extends EventEmitter<TestRunEvents> {
  readonly testId: string;
  status: TestStatus = 'created';
  readonly createdAt: number;
  triggeredAt: number | undefined;
  endedAt: number | undefined;
  private readonly tracks = new Map<string, DriverTrack>();
  private readonly seenReports = new Set<string>();
  private readonly now: () => number;
  private ticker: NodeJS.Timeout | undefined;
  private lastEmitAt = 0;
  private readonly reportedSinceEmit = new Set<string>();
  private stopRequested = false;
  private previousMerged: Histogram | null = null;
  private lastSnapshot: TestSnapshot | undefined;
  result: TestResult | undefined;

  constructor(private readonly options: TestRunOptions) {
    super();
    this.testId = options.config.test_id;
    this.now = options.now ?? Date.now;
    this.createdAt = this.now();
    for (const id of options.participants) this.tracks.set(id, { state: 'waiting', reports: 0, sendsStatus: false });
    options.store.saveTest({
      test_id: this.testId,
      name: options.definition.name,
      created_at: this.createdAt,
      definition: options.definition,
      config: options.config,
      participants: options.participants,
    });
  }

  get definition(): LoadTestDefinition {
    return this.options.definition;
  }

  get participants(): string[] {
    return [...this.tracks.keys()];
  }

  get isOver(): boolean {
    return this.status === 'complete' || this.status === 'stopped';
  }

  markTriggered(): void {
    this.triggeredAt = this.now();
    this.status = 'running';
    this.options.store.saveTest({ ...this.options.store.loadTest(this.testId)!, triggered_at: this.triggeredAt });
    this.lastEmitAt = this.triggeredAt;
    this.ticker = setInterval(() => this.onTimer(), 200);
  }

  markStopRequested(): void {
    this.stopRequested = true;
  }

  onReport(message: MetricsMessage, receivedAt: number): void {
    if (message.test_id !== this.testId || this.isOver) return;
    if (this.seenReports.has(message.report_id)) return; // Kafka delivers at least once
    this.seenReports.add(message.report_id);
    if (this.seenReports.size > SEEN_REPORT_IDS) this.seenReports.delete(this.seenReports.values().next().value!);
    let track = this.tracks.get(message.node_id);
    if (!track) {
      // A driver we did not pick ran the test anyway (another implementation ignoring driver_ids):
      // its requests reached the target, so they count.
      track = { state: 'waiting', reports: 0, sendsStatus: false };
      this.tracks.set(message.node_id, track);
    }
    const latestElapsed = track.latest?.message.elapsed_ms;
    if (latestElapsed !== undefined && message.elapsed_ms !== undefined && message.elapsed_ms < latestElapsed) return;
    this.options.store.appendReport(this.testId, { ...message, received_at: receivedAt });
    track.previous = track.latest;
    track.latest = decodeReport(message, receivedAt);
    track.reports++;
    if (message.test_status) track.sendsStatus = true;
    if (track.state !== 'lost') track.state = message.test_status === 'complete' ? 'complete' : 'running';
    if (track.state === 'complete') this.checkCompletion();
    this.reportedSinceEmit.add(message.node_id);
    this.emitIfRoundComplete();
  }

  /**
   * Drivers report once a second, in step (they start within milliseconds of one trigger), so
   * the aggregate is freshest right after the last report of each round: emit then, rather
   * than on a clock of our own that would add up to a second of age.
   */
  private emitIfRoundComplete(): void {
    if (this.status !== 'running' || this.now() - this.lastEmitAt < MIN_EMIT_INTERVAL_MS) return;
    for (const [id, track] of this.tracks) if ((track.state === 'running' || track.state === 'waiting') && !this.reportedSinceEmit.has(id)) return;
    this.tick();
  }

  /** The fallback clock: emits when a round never completes (a driver is late, lost or silent). */
  private onTimer(): void {
    this.checkTimeouts();
    this.checkCompletion();
    if (this.status === 'running' && this.now() - this.lastEmitAt >= EMIT_INTERVAL_MS) this.tick();
  }

  onDriverLost(nodeId: string): void {
    const track = this.tracks.get(nodeId);
    if (!track || DONE.has(track.state) || this.status !== 'running') return;
    track.state = 'lost';
    this.checkCompletion();
  }

  /** Only drivers that were lost and come back while the test runs are waited for again. */
  onDriverAlive(nodeId: string): void {
    const track = this.tracks.get(nodeId);
    if (track?.state === 'lost' && this.status === 'running') track.state = track.latest ? 'running' : 'waiting';
  }

  private checkTimeouts(): void {
    const now = this.now();
    const firstReportTimeout = this.options.firstReportTimeoutMs ?? 30_000;
    const quietAfter = this.options.quietAfterMs ?? 10_000;
    for (const track of this.tracks.values()) {
      if (track.state === 'waiting' && this.triggeredAt !== undefined && now - this.triggeredAt > firstReportTimeout) track.state = 'silent';
      if (track.state === 'running' && !track.sendsStatus && track.latest && now - track.latest.receivedAt > quietAfter) track.state = 'complete';
    }
  }

  private checkCompletion(): void {
    if (this.status !== 'running') return;
    if ([...this.tracks.values()].every((t) => DONE.has(t.state))) this.finish();
  }

  snapshot(): TestSnapshot {
    return this.measure().snapshot;
  }

  /** The snapshot, and the drivers' corrected histograms merged once for it and its time point. */
  private measure(): { snapshot: TestSnapshot; merged: Histogram | null } {
    const now = this.now();
    const drivers = [...this.tracks.entries()].map(([id, t]) => ({ stats: driverStats(id, t.state, t.latest, t.previous, t.reports), report: t.latest }));
    const merged = mergedHistogram(drivers.map((d) => d.report));
    const agg = aggregate(drivers, merged);
    const runSeconds = Math.max(0, ...drivers.map((d) => d.stats.elapsed_s ?? 0));
    const end = this.endedAt ?? now;
    const snapshot: TestSnapshot = {
      test_id: this.testId,
      name: this.options.definition.name,
      test_type: this.options.config.test_type,
      status: this.status,
      created_at: this.createdAt,
      triggered_at: this.triggeredAt,
      ended_at: this.endedAt,
      elapsed_s: this.triggeredAt ? (end - this.triggeredAt) / 1000 : 0,
      config: this.options.config,
      participants: this.participants,
      aggregate: agg,
      per_driver: drivers.map((d) => d.stats),
      throughput: runSeconds > 0 ? agg.responses / runSeconds : 0,
      computed_at: now,
    };
    return { snapshot, merged };
  }

  /** The newest snapshot, computed at most once per tick. */
  current(): TestSnapshot {
    return this.result ?? this.lastSnapshot ?? this.snapshot();
  }

  private tick(): void {
    if (this.status !== 'running') return;
    this.lastEmitAt = this.now();
    this.reportedSinceEmit.clear();
    const { snapshot, merged } = this.measure();
    this.lastSnapshot = snapshot;
    const point = this.timePoint(snapshot, merged);
    this.options.store.appendPoint(this.testId, point);
    this.emit('update', snapshot, point);
  }

  /** `final`: the point made as the test ends, when no driver is running any more but the last interval's rate is still theirs. */
  private timePoint(snapshot: TestSnapshot, merged: Histogram | null, final = false): TimePoint {
    let interval = null;
    try {
      interval = merged ? intervalLatency(merged, this.previousMerged) : null;
    } catch {
      interval = null; // a histogram that shrank cannot be differenced; skip this interval's latency
    }
    this.previousMerged = merged;
    const fallback = snapshot.aggregate.latency;
    const latency = interval ?? (merged === null ? fallback : null);
    const per_driver: TimePoint['per_driver'] = {};
    const counts = (d: (typeof snapshot.per_driver)[number]) => d.state === 'running' || (final && d.state === 'complete');
    for (const d of snapshot.per_driver) per_driver[d.node_id] = { rate: counts(d) ? d.rate : 0, requests_sent: d.requests_sent };
    const rate = final ? snapshot.per_driver.reduce((sum, d) => sum + (counts(d) ? (d.rate ?? 0) : 0), 0) : snapshot.aggregate.rate;
    return {
      t: Math.round(snapshot.elapsed_s * 10) / 10,
      timestamp: snapshot.computed_at,
      requests_sent: snapshot.aggregate.requests_sent,
      responses: snapshot.aggregate.responses,
      errors: snapshot.aggregate.errors,
      rate: Math.round(rate * 10) / 10,
      latency: latency ? { mean: latency.mean, p50: latency.median, p90: latency.p90, p95: latency.p95, p99: latency.p99, max: latency.max } : null,
      per_driver,
    };
  }

  private finish(): void {
    if (this.isOver) return;
    if (this.ticker) clearInterval(this.ticker);
    this.endedAt = this.now();
    const anyStopped = [...this.tracks.values()].some((t) => t.latest?.message.stopped);
    this.status = this.stopRequested || anyStopped ? 'stopped' : 'complete';
    const { snapshot, merged } = this.measure();
    this.options.store.appendPoint(this.testId, this.timePoint(snapshot, merged, true));
    const result: TestResult = {
      ...snapshot,
      status: this.status,
      ended_at: this.endedAt,
      thresholds: evaluateThresholds(this.options.definition.thresholds, snapshot.aggregate, snapshot.throughput),
    };
    this.result = result;
    this.options.store.saveResult(result);
    this.emit('end', result);
  }

  /** Ends the test now with what was reported (orchestrator shutdown). */
  abandon(): void {
    if (this.status === 'running') {
      this.stopRequested = true;
      this.finish();
    }
    if (this.ticker) clearInterval(this.ticker);
  }
}
