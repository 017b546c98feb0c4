// What the load generator asks of a connection to the target, whichever engine carries it: the
// lean HTTP/1.1 engine (lean-connection.ts), the HTTP/2 engine (http2-connection.ts) or an undici
// Client. All take undici's dispatch options and call the same handler methods, so the
// generator, its deadline and its error kinds are one code path for all.
import type { Dispatcher } from 'undici';
import type { HttpEngineName } from '../../protocol/wire-protocol';
import type { TargetTls } from '../request-plan';

/** The handler methods both engines call, in undici's order: connect, headers, data, complete, or error. */
export interface ConnectionHandler {
  /** just before the request is written; `abort` fails the request (and its connection) */
  onConnect(abort: (error: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | Buffer[] | null): void;
  onError(error: Error): void;
  /** false: only the status matters, and an engine may skip the headers list and the body's chunks */
  readonly readsResponse?: boolean;
}

export interface HttpConnection {
  dispatch(options: Dispatcher.DispatchOptions, handler: ConnectionHandler): boolean;
  /** lets a request in flight finish, then closes */
  close(): Promise<void>;
  /** closes at once, failing a request in flight with `error` */
  destroy(error?: Error): Promise<void>;
}

export type EngineName = HttpEngineName;

/** An engine for a plan, and why, in words a result can show. */
export interface EngineChoice {
  engine: EngineName;
  reason: string;
}

/**
 * HTTP/2 goes to the driver's HTTP/2 engine (Node's http2 module, http2-connection.ts), or to
 * undici when the test names it. Over HTTP/1.1 the lean engine takes plain and TLS requests,
 * single or in a mix; undici takes scenarios, whose steps read response headers and bodies for
 * captures and checks (the lean engine reads only what framing needs), and tests that name it.
 */
export function chooseEngine(plan: { tls?: TargetTls; scenario?: unknown; engine?: EngineName }): EngineChoice {
  if (plan.tls?.http2) {
    if (plan.engine === 'undici') return { engine: 'undici', reason: 'HTTP/2 is offered, with the engine the test names (http_engine)' };
    return { engine: 'node-http2', reason: 'HTTP/2 is offered (http2: true)' };
  }
  if (plan.scenario) return { engine: 'undici', reason: 'a scenario reads response headers and bodies' };
  if (plan.engine === 'undici') return { engine: 'undici', reason: 'named by the test (http_engine)' };
  return { engine: 'lean-http1', reason: 'HTTP/1.1 requests' };
}
