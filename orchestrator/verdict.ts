// Pass or fail. A test passes only when it is complete (every participant's final report arrived
// and the requests reported equal the plan) and its thresholds hold. Thresholds add to that rule,
// never replace it; the error rate is always judged (the file's error_rate, else a default
// limit), and a test in which every request failed never passes.
import type { AggregateStats, DriverEnding, FinalStatus, IterationStats, ServerMetrics, ThresholdCheck, ThresholdResult, Verdict } from './result-model';
import { evaluateThresholds } from './thresholds';
import type { Thresholds } from './loadtest-definition';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const percent = (n: number) => `${Math.round(n * 100_000) / 1000}%`;
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export interface VerdictInput {
  status: FinalStatus;
  thresholds: Thresholds | undefined;
  aggregate: AggregateStats;
  throughput: number;
  /** requests the plan asks for; a scenario's iterations (then `iterations` is given) */
  plannedRequests: number;
  ending: DriverEnding[];
  /** set when the run was stopped: who or what stopped it */
  stoppedBy?: string;
  /** schedule warnings (schedule-warnings.ts): a pass says it has them, so nobody reads only "PASSED" */
  warnings?: string[];
  /** the server-side queries, which server thresholds judge */
  server?: ServerMetrics;
  /** each stage's own limits, judged on its window, and each step's or request's on its figures (thresholds.ts): a failure fails the test, naming which */
  stageChecks?: ThresholdCheck[];
  /** the planned length in seconds, for a test by time whose plan counts no requests */
  plannedSeconds?: number;
  /** a scenario's iterations: its plan counts them, not requests */
  iterations?: IterationStats;
}

export function describeEnding(e: DriverEnding): string {
  return `${e.node_id} ${e.state.replace('_', ' ')} at ${clock(e.at)} UTC (${e.reason})`;
}

export function judge(input: VerdictInput): { verdict: Verdict; thresholds: ThresholdResult } {
  const whole = evaluateThresholds(input.thresholds, input.aggregate, input.throughput, input.server);
  const stageChecks = input.stageChecks ?? [];
  const thresholds: ThresholdResult = { passed: whole.passed && stageChecks.every((c) => c.passed), checks: [...whole.checks, ...stageChecks] };
  const a = input.aggregate;
  // A closed model by time plans no count: its requests are told against its planned length.
  // A scenario's plan counts iterations, each of several requests.
  const it = input.iterations;
  const counted = it
    ? input.plannedRequests > 0 || input.plannedSeconds === undefined
      ? `${int(it.started)} of ${int(input.plannedRequests)} iterations (${int(a.requests_sent)} requests)`
      : `${int(it.started)} iterations (${int(a.requests_sent)} requests) in a planned ${input.plannedSeconds} s`
    : input.plannedRequests > 0 || input.plannedSeconds === undefined
      ? `${int(a.requests_sent)} of ${int(input.plannedRequests)} requests`
      : `${int(a.requests_sent)} requests in a planned ${input.plannedSeconds} s`;
  if (input.status === 'stopped') return { thresholds, verdict: { passed: false, reason: `FAILED: stopped${input.stoppedBy ? ` by ${input.stoppedBy}` : ''} after ${counted}` } };
  if (input.status === 'incomplete') {
    const who = input.ending.map(describeEnding).join('; ');
    return { thresholds, verdict: { passed: false, reason: `FAILED: incomplete, ${counted} reported${who ? `: ${who}` : ''}` } };
  }
  const countedRequests = a.requests_sent - a.requests_with_unknown_errors;
  if (countedRequests > 0 && a.errors >= countedRequests) return { thresholds, verdict: { passed: false, reason: `FAILED: every one of ${int(countedRequests)} requests failed` } };
  const failed = thresholds.checks.filter((c) => !c.passed);
  if (failed.length) return { thresholds, verdict: { passed: false, reason: `FAILED: ${failed.map((c) => c.text).join('; ')}` } };
  const errorCheck = thresholds.checks.find((c) => c.name === 'default_error_rate' || c.name === 'error_rate')!;
  const others = thresholds.checks.filter((c) => !c.skipped && c !== errorCheck).length;
  const skipped = thresholds.checks.filter((c) => c.skipped).length;
  const approximate = thresholds.checks.filter((c) => c.approximate).length;
  const limits = [
    `error rate ${percent(errorCheck.actual!)} within ${errorCheck.name === 'default_error_rate' ? 'the default limit' : 'its limit'} of ${percent(errorCheck.limit)}${a.errors_unknown_from.length ? ` (errors unknown for ${a.errors_unknown_from.join(', ')})` : ''}`,
    others ? `${others} other threshold${others === 1 ? '' : 's'} met${approximate ? ` (${approximate} on approximate percentiles: ${a.histogram_missing_from.join(', ')} sent no histogram)` : ''}` : '',
    skipped ? `${skipped} optional not judged (no data from Prometheus)` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const warned = input.warnings?.length ? `; ${input.warnings.length} warning${input.warnings.length === 1 ? '' : 's'}: ${input.warnings.map((w) => w.split(': ').slice(0, 2).join(': ')).join('; ')}` : '';
  return { thresholds, verdict: { passed: true, reason: `PASSED: ${counted}, ${limits}${warned}` } };
}
