// Server-side figures during a test: every second, each named PromQL query of the definition is
// asked of Prometheus' HTTP API (an instant query), and its series is kept beside the drivers'.
// Prometheus being away or a query being wrong becomes a warning; a server threshold without
// samples fails the test unless it is optional (thresholds.ts).
import { errorMessage } from '../common/logger';
import type { PrometheusSource } from './loadtest-definition';
import type { ServerMetrics, ServerQuerySummary } from './result-model';
import type { ServerWindow } from './stages/stage-stats';

const POLL_MS = 1000;
/** An answer later than this is dropped: the next poll is due. */
const QUERY_TIMEOUT_MS = 900;
/** Timed samples kept for the windows of stages: a day at one a second; older ones give way. */
const MAX_TIMED_SAMPLES = 86_400;

/** A query's figures so far; the mean is made from the sum when asked. */
type QuerySeries = Omit<ServerQuerySummary, 'mean'> & { sum: number; emptyAnswers: number };

type PrometheusAnswer =
  | { status: 'success'; data: { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] } | { resultType: 'scalar'; result: [number, string] } }
  | { status: 'error'; errorType: string; error: string };

/** One number from an instant query's answer; `series` says how many the query gave. */
export function valueOf(answer: PrometheusAnswer): { value: number | null; series: number } {
  if (answer.status !== 'success') throw new Error(`${answer.errorType}: ${answer.error}`);
  const data = answer.data;
  if (data.resultType === 'scalar') return { value: finite(Number(data.result[1])), series: 1 };
  if (data.resultType === 'vector') return { value: data.result.length ? finite(Number(data.result[0].value[1])) : null, series: data.result.length };
  throw new Error(`the query gives a ${(data as { resultType: string }).resultType}, not one number`);
}

// histogram_quantile over no traffic is NaN: "no value now", not a sample.
const finite = (n: number) => (Number.isFinite(n) ? n : null);

export class PrometheusWatcher {
  private readonly series: QuerySeries[];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private polls = 0;
  private failedPolls = 0;
  /** the latest problem per query (or '' for the server itself), said once in the warnings */
  private readonly problems = new Map<string, string>();
  /** each poll's values with its time (epoch ms), so that any window of the test can be read */
  private readonly timeline: { at: number; values: (number | null)[] }[] = [];

  constructor(private readonly source: PrometheusSource) {
    this.series = Object.entries(source.queries).map(([name, query]) => ({ name, query, samples: 0, last: null, min: null, max: null, sum: 0, emptyAnswers: 0 }));
  }

  start(): void {
    if (this.timer) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async ask(query: string): Promise<PrometheusAnswer> {
    const url = `${this.source.url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
    const text = await response.text();
    try {
      return JSON.parse(text) as PrometheusAnswer;
    } catch {
      throw new Error(`HTTP ${response.status} from ${this.source.url}, not Prometheus' API: ${text.slice(0, 120)}`);
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    this.polls++;
    try {
      const answers = await Promise.allSettled(this.series.map((s) => this.ask(s.query)));
      const unreachable = answers.every((a) => a.status === 'rejected' && /fetch failed|timeout|abort|not Prometheus/i.test(errorMessage(a.reason)));
      if (unreachable && answers.length) {
        this.failedPolls++;
        const reason = (answers[0] as PromiseRejectedResult).reason as Error & { cause?: { code?: string } };
        this.problems.set('', `prometheus: no answer from ${this.source.url} (${reason.cause?.code ?? errorMessage(reason)}): server-side figures are missing for ${this.failedPolls} of ${this.polls} s`);
        return;
      }
      const values: (number | null)[] = this.series.map(() => null);
      this.timeline.push({ at: Date.now(), values });
      if (this.timeline.length > MAX_TIMED_SAMPLES) this.timeline.shift();
      for (const [i, answer] of answers.entries()) {
        const s = this.series[i];
        try {
          if (answer.status === 'rejected') throw answer.reason;
          const { value, series } = valueOf(answer.value);
          if (series > 1) this.problems.set(s.name, `${s.name}: the query gives ${series} series and the first is kept; aggregate it (sum, max, avg) to one number`);
          if (series === 0) s.emptyAnswers++;
          if (value === null) continue;
          values[i] = value;
          s.samples++;
          s.last = value;
          s.min = s.min === null ? value : Math.min(s.min, value);
          s.max = s.max === null ? value : Math.max(s.max, value);
          s.sum += value;
        } catch (error) {
          this.problems.set(s.name, `${s.name}: Prometheus refused the query: ${errorMessage(error)}`);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  /** Each query's latest value, for the test's time series. */
  latest(): Record<string, number | null> {
    return Object.fromEntries(this.series.map((s) => [s.name, s.last]));
  }

  /** Each query over [fromMs, toMs] (epoch ms): the samples taken in it, their mean, lowest and highest. */
  window(fromMs: number, toMs: number): Record<string, ServerWindow> {
    const inside = this.timeline.filter((p) => p.at >= fromMs && p.at <= toMs);
    return Object.fromEntries(this.series.map((s, i) => [s.name, summarizeWindow(inside.map((p) => p.values[i]))]));
  }

  summary(): ServerMetrics {
    const queries: ServerQuerySummary[] = this.series.map(({ sum, emptyAnswers: _, ...s }) => ({ ...s, mean: s.samples ? sum / s.samples : null }));
    // An empty answer is Prometheus saying "no such series": a misspelt metric or label looks exactly like this.
    const empty = this.series
      .filter((s) => s.samples === 0 && s.emptyAnswers > 0)
      .map((s) => `${s.name}: the query \`${s.query}\` gave an empty result in all ${s.emptyAnswers} answers; check its metric name and labels in Prometheus`);
    return { url: this.source.url, queries, warnings: [...this.problems.values(), ...empty] };
  }
}

function summarizeWindow(values: (number | null)[]): ServerWindow {
  const numbers = values.filter((v): v is number => v !== null);
  if (!numbers.length) return { samples: 0, mean: null, min: null, max: null };
  return { samples: numbers.length, mean: numbers.reduce((a, b) => a + b, 0) / numbers.length, min: Math.min(...numbers), max: Math.max(...numbers) };
}
