// `lt-target`: the HTTP target server.
import { formatHelp, parseNumberOption, parseOptions, parsePortOption, runCli, UsageError, wantsHelp } from '../common/cli-options';
import { startTarget } from './target-server';

const OPTIONS = {
  port: { type: 'string', short: 'p', value: 'PORT', default: '8080', env: 'LT_TARGET_PORT', description: 'Port to listen on (0 picks a free one).' },
  host: { type: 'string', value: 'HOST', default: '127.0.0.1', env: 'LT_TARGET_HOST', description: 'Address to listen on.' },
  latency: { type: 'string', value: 'MS', default: '0', env: 'LT_TARGET_LATENCY', description: 'Milliseconds added to every response.' },
  jitter: { type: 'string', value: 'MS', default: '0', env: 'LT_TARGET_JITTER', description: 'Up to this many more milliseconds, uniformly random.' },
  'error-rate': { type: 'string', value: 'FRACTION', default: '0', env: 'LT_TARGET_ERROR_RATE', description: 'Fraction of /ping requests answered with HTTP 500 (0 to 1).' },
  capacity: {
    type: 'string',
    value: 'RPS',
    default: '0',
    env: 'LT_TARGET_CAPACITY',
    description:
      'Serve at most RPS requests per second (0: no limit), as one queue with 1/RPS s of service each: below RPS latency stays normal, above it grows with the queue, and a request that would wait longer than --queue-limit is answered 503 at once.',
  },
  'queue-limit': {
    type: 'string',
    value: 'MS',
    default: '1000',
    env: 'LT_TARGET_QUEUE_LIMIT',
    description:
      'With --capacity: the longest a request waits in the queue before it is refused with 503. The queue absorbs excess load for a while: a capacity search judged on errors alone finds about RPS x (1 + MS / step duration), so keep MS small against the step for a sharp edge.',
  },
  'driver-latency': {
    type: 'string',
    value: 'ID=MS[,ID=MS]',
    env: 'LT_TARGET_DRIVER_LATENCY',
    description: 'Extra milliseconds for requests from the named drivers (x-loadtest-driver header).',
  },
} as const;

const HELP = formatHelp(
  'lt-target [options]',
  'HTTP target for load tests.\n  GET /ping     {"message":"pong"}\n  POST /signin  {"user": "NAME"} gives {"token": "…"}; GET /account with Authorization: Bearer TOKEN gives {"user": "NAME"}, 401 without\n  GET /metrics  requests received and responses sent: Prometheus text, or JSON\n                {"requests_sent": n, "responses_sent": n} with Accept: application/json or ?format=json\n  POST /stall?ms=N  hold every response for N ms from now (a stalled server, for latency tests)',
  OPTIONS,
);

function parseDriverLatency(raw: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (raw ?? '').split(',').filter(Boolean)) {
    const [id, ms] = part.split('=');
    const value = Number(ms);
    if (!id || !Number.isFinite(value) || value < 0) throw new UsageError(`--driver-latency expects ID=MS pairs, got "${part}"`);
    out[id.trim()] = value;
  }
  return out;
}

runCli('lt-target', async () => {
  const { options } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const errorRate = parseNumberOption('error-rate', options['error-rate'], { min: 0 })!;
  if (errorRate > 1) throw new UsageError('--error-rate must be between 0 and 1');
  const target = await startTarget({
    port: parsePortOption('port', options.port),
    host: options.host,
    latencyMs: parseNumberOption('latency', options.latency, { min: 0 }),
    jitterMs: parseNumberOption('jitter', options.jitter, { min: 0 }),
    errorRate,
    driverLatencyMs: parseDriverLatency(options['driver-latency']),
    capacityRps: parseNumberOption('capacity', options.capacity, { min: 0 }),
    queueLimitMs: parseNumberOption('queue-limit', options['queue-limit'], { min: 0 }),
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new Error(`port ${options.port} is taken; pick another with --port`);
    throw error;
  });
  const capacity = options.capacity && Number(options.capacity) > 0 ? `, capacity ${options.capacity} req/s, 503 beyond ${options['queue-limit']} ms of queue` : '';
  process.stdout.write(`lt-target listening on ${target.url} (GET /ping, POST /signin, GET /account, GET /metrics${capacity})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await target.close();
  return 0;
});
