// One real Kafka broker for the whole test run: the one LT_KAFKA names, or a fresh local one
// started on a free port at first use and stopped when the run ends. Tests isolate themselves
// with their own topic prefix. A second one, SASL_SSL only, starts when a test asks for it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../common/free-port';
import type { BrokerCredentials } from '../../kafka-broker/broker-security';
import { startBroker, type RunningBroker } from '../../kafka-broker/local-kafka';

let broker: Promise<RunningBroker> | undefined;
let securedBroker: Promise<RunningBroker> | undefined;
let prefixCounter = 0;

export async function kafkaBootstrap(): Promise<string> {
  if (process.env.LT_KAFKA) return process.env.LT_KAFKA;
  broker ??= (async () =>
    startBroker({
      port: await freePort(),
      advertisedHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      fresh: true,
      stateDir: join(mkdtempSync(join(tmpdir(), 'lt-test-kafka-')), 'broker'),
      onProgress: (line) => process.stderr.write(`      (${line})\n`),
    }))();
  return (await broker).bootstrap;
}

/** A broker that speaks SASL_SSL only (SCRAM and PLAIN users, a CA of its own), as production clusters are run. */
export async function securedKafka(): Promise<{ bootstrap: string; credentials: BrokerCredentials }> {
  securedBroker ??= (async () =>
    startBroker({
      port: await freePort(),
      advertisedHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      fresh: true,
      security: 'sasl_ssl',
      stateDir: join(mkdtempSync(join(tmpdir(), 'lt-test-kafka-sasl-')), 'broker'),
      onProgress: (line) => process.stderr.write(`      (${line})\n`),
    }))();
  const running = await securedBroker;
  return { bootstrap: running.bootstrap, credentials: running.credentials! };
}

/** A topic prefix no other test (or earlier run on the same broker) uses. */
export function uniquePrefix(name: string): string {
  return `t${Date.now().toString(36)}-${++prefixCounter}-${name.replace(/[^a-z0-9]/gi, '').slice(0, 20)}.`;
}

export async function stopKafkaFixture(): Promise<void> {
  const started = [broker, securedBroker];
  broker = securedBroker = undefined;
  for (const each of started) await (await each?.catch(() => undefined))?.stop();
}
