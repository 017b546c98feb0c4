// Holds the orchestrator for a long-lived host (the VS Code extension, a server): starts without a
// reachable broker, keeps trying until one answers, and reconnects when the settings change.
// Commands ask it for the orchestrator and get an error that says what to do when there is none.
import { EventEmitter } from 'node:events';
import { errorMessage } from '../common/logger';
import { Orchestrator, type ConnectOptions } from './orchestrator';
import { OrchestratorError } from './orchestrator-error';

export type ConnectionStatus = 'connecting' | 'connected' | 'stopped';

export interface ConnectionState {
  status: ConnectionStatus;
  brokers: string[];
  /** why the last attempt failed, while connecting */
  lastError?: string;
  attempts: number;
}

export interface ConnectionEvents {
  state: [state: ConnectionState];
  /** a new orchestrator is connected (after start or a reconfiguration) */
  connected: [orchestrator: Orchestrator];
}

export class OrchestratorConnection extends EventEmitter<ConnectionEvents> {
  private current: Orchestrator | undefined;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;
  private stateValue: ConnectionState;

  constructor(
    private options: ConnectOptions,
    /** milliseconds between attempts while the broker cannot be reached */
    private readonly retryMs = 2000,
  ) {
    super();
    this.stateValue = { status: 'stopped', brokers: options.brokers, attempts: 0 };
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get orchestrator(): Orchestrator | undefined {
    return this.current;
  }

  /** Starts connecting in the background; never throws. */
  start(): void {
    const generation = ++this.generation;
    this.setState({ status: 'connecting', brokers: this.options.brokers, attempts: 0 });
    void this.attempt(generation);
  }

  private async attempt(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    const attempt = (this.pending = (async () => {
      try {
        // One quick try per round: the retry loop is ours, so that a reconfiguration can cut in.
        const orchestrator = await Orchestrator.start({ ...this.options, connectRetries: 0 });
        if (generation !== this.generation) {
          await orchestrator.shutdown();
          return;
        }
        this.current = orchestrator;
        this.setState({ status: 'connected', brokers: this.options.brokers, attempts: this.stateValue.attempts + 1 });
        this.emit('connected', orchestrator);
      } catch (error) {
        if (generation !== this.generation) return;
        this.setState({ status: 'connecting', brokers: this.options.brokers, attempts: this.stateValue.attempts + 1, lastError: errorMessage(error) });
        this.timer = setTimeout(() => void this.attempt(generation), this.retryMs);
      }
    })());
    await attempt;
  }

  /** The connected orchestrator, or an error saying why there is none and what to do. */
  require(): Orchestrator {
    if (this.current) return this.current;
    const why = this.stateValue.lastError ? ` (${this.stateValue.lastError})` : '';
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
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pending?.catch(() => {});
    const previous = this.current;
    this.current = undefined;
    await previous?.shutdown();
  }

  /** Stops trying, ends a running test with what was reported, and leaves Kafka cleanly. */
  async dispose(): Promise<void> {
    await this.disconnect();
    this.setState({ status: 'stopped', brokers: this.options.brokers, attempts: 0 });
    this.removeAllListeners();
  }

  private setState(state: ConnectionState): void {
    this.stateValue = state;
    this.emit('state', state);
  }
}
