// Holds the orchestrator for a long-lived host (the VS Code extension, a server): starts without a
// reachable broker, keeps trying until one answers, and reconnects when the settings change. Once
// connected, it watches whether the broker still answers (the bus's health) and says when it does
// not and since when. A broker that refuses us (a wrong password, an untrusted certificate) is not
// asked again until the settings change. Commands ask it for the orchestrator and get an error
// that says what to do when there is none.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../common/clock';
import { errorMessage } from '../common/logger';
import { retry, RetryStopped, unlessRefused } from '../common/retry';
import { Orchestrator, type ConnectOptions } from './orchestrator';
import { OrchestratorError } from './orchestrator-error';

/**
 * `connecting`: no orchestrator yet, trying; `connected`: the broker answers; `unreachable`: the
 * orchestrator is up but has not heard the broker since `since` (kafkajs reconnects by itself);
 * `refused`: the broker refused these settings, nothing is tried until they change.
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'unreachable' | 'refused' | 'stopped';

export interface ConnectionState {
  status: ConnectionStatus;
  brokers: string[];
  /** epoch ms: when this status began (for `unreachable`, when the broker was last heard) */
  since: number;
  /** why the last attempt failed, while connecting or refused */
  lastError?: string;
  attempts: number;
}

export interface ConnectionEvents {
  state: [state: ConnectionState];
  /** a new orchestrator is connected (after start or a reconfiguration) */
  connected: [orchestrator: Orchestrator];
}

export interface ConnectionTiming {
  /** the wait after the first failed attempt (ms); it doubles up to `maxRetryMs` */
  retryMs?: number;
  maxRetryMs?: number;
  /** how often the bus's health is read once connected (ms) */
  healthEveryMs?: number;
  clock?: Clock;
  /** how an orchestrator is started (tests hand one on a fake bus) */
  open?: (options: ConnectOptions) => Promise<Orchestrator>;
}

export class OrchestratorConnection extends EventEmitter<ConnectionEvents> {
  private current: Orchestrator | undefined;
  private pending: Promise<void> | undefined;
  private attempting: AbortController | undefined;
  private healthWatch: TimerHandle | undefined;
  private stateValue: ConnectionState;
  private readonly clock: Clock;

  constructor(
    private options: ConnectOptions,
    private readonly timing: ConnectionTiming = {},
  ) {
    super();
    this.clock = timing.clock ?? systemClock;
    this.stateValue = { status: 'stopped', brokers: options.brokers, since: this.clock.now(), attempts: 0 };
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get orchestrator(): Orchestrator | undefined {
    return this.current;
  }

  /** Starts connecting in the background; never throws. */
  start(): void {
    // Two reconfigurations in quick succession both start: only the latest may go on.
    this.attempting?.abort();
    const attempting = (this.attempting = new AbortController());
    this.setState({ status: 'connecting', brokers: this.options.brokers, since: this.clock.now(), attempts: 0 });
    const open = this.timing.open ?? ((o: ConnectOptions) => Orchestrator.start(o));
    this.pending = retry(
      async () => {
        // One quick try per round: the retry loop is ours, so that a reconfiguration can cut in.
        const orchestrator = await open({ ...this.options, connectRetries: 0 });
        if (attempting.signal.aborted) {
          await orchestrator.shutdown();
          throw new RetryStopped(undefined);
        }
        return orchestrator;
      },
      {
        firstDelayMs: this.timing.retryMs ?? 1000,
        maxDelayMs: this.timing.maxRetryMs ?? 5000,
        retriable: (error) => !(error instanceof RetryStopped) && unlessRefused(error),
        signal: attempting.signal,
        clock: this.timing.clock,
        onRetry: (error, failures) => this.setState({ ...this.stateValue, attempts: failures, lastError: errorMessage(error) }),
      },
    ).then(
      async (orchestrator) => {
        if (attempting.signal.aborted) return void (await orchestrator.shutdown());
        this.current = orchestrator;
        this.setState({ status: 'connected', brokers: this.options.brokers, since: this.clock.now(), attempts: this.stateValue.attempts + 1 });
        this.healthWatch = this.clock.every(this.timing.healthEveryMs ?? 1000, () => this.readHealth());
        this.emit('connected', orchestrator);
      },
      (error) => {
        if (error instanceof RetryStopped || attempting.signal.aborted) return;
        this.setState({ status: 'refused', brokers: this.options.brokers, since: this.clock.now(), attempts: this.stateValue.attempts + 1, lastError: errorMessage(error) });
      },
    );
  }

  /** Turns the bus's health into `connected` or `unreachable`, when it changed. */
  private readHealth(): void {
    if (!this.current) return;
    const health = this.current.observation();
    const status = health.reachable ? 'connected' : 'unreachable';
    if (status !== this.stateValue.status) this.setState({ ...this.stateValue, status, since: health.since });
  }

  /** The connected orchestrator, or an error saying why there is none and what to do. */
  require(): Orchestrator {
    if (this.current) return this.current;
    const why = this.stateValue.lastError ? ` (${this.stateValue.lastError})` : '';
    if (this.stateValue.status === 'refused') {
      throw new OrchestratorError(`Kafka at ${this.options.brokers.join(',')} refused this client${why}. Fix the Kafka settings (or the password); it connects again when they change.`, 'unavailable');
    }
    throw new OrchestratorError(
      `not connected to Kafka at ${this.options.brokers.join(',')}${why}. Start a broker (the "Start Local Kafka Broker" command or 'npm run kafka:start') or change the Kafka setting; it connects by itself once the broker answers.`,
      'unavailable',
    );
  }

  /** Resolves with the orchestrator once connected, or rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<Orchestrator> {
    if (this.current) return this.current;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connected', onConnected);
        try {
          this.require();
        } catch (error) {
          reject(error);
        }
      }, timeoutMs);
      const onConnected = (o: Orchestrator) => {
        clearTimeout(timer);
        resolve(o);
      };
      this.once('connected', onConnected);
    });
  }

  /** Leaves the current connection (cleanly) and connects with the new settings. */
  async reconfigure(options: ConnectOptions): Promise<void> {
    this.options = options;
    await this.disconnect();
    this.start();
  }

  private async disconnect(): Promise<void> {
    this.attempting?.abort();
    await this.pending;
    this.healthWatch?.cancel();
    this.healthWatch = undefined;
    const previous = this.current;
    this.current = undefined;
    await previous?.shutdown();
  }

  /** Stops trying, ends a running test with what was reported, and leaves Kafka cleanly. */
  async dispose(): Promise<void> {
    await this.disconnect();
    this.setState({ status: 'stopped', brokers: this.options.brokers, since: this.clock.now(), attempts: 0 });
    this.removeAllListeners();
  }

  private setState(state: ConnectionState): void {
    this.stateValue = state;
    this.emit('state', state);
  }
}
