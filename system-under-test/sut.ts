// `npm run sut:start` / `npm run sut:stop`: the reference system under test (reference-system.ts).
import { join } from 'node:path';
import { formatHelp, parseNumberOption, parseOptions, parsePortOption, runCli, UsageError, wantsHelp } from '../common/cli-options';
import { projectRoot } from '../common/project-root';
import { deleteReferenceSystem, portsFrom, startReferenceSystem, stopReferenceSystem } from './reference-system';

const OPTIONS = {
  apps: { type: 'string', value: 'N', default: '3', env: 'SUT_APPS', description: 'start: app instances behind the proxy.' },
  readers: { type: 'string', value: 'N', default: '1', env: 'SUT_READERS', description: 'start: PostgreSQL streaming readers beside the writer.' },
  'base-port': {
    type: 'string',
    value: 'PORT',
    default: '8800',
    env: 'SUT_BASE_PORT',
    description: 'start: the proxy’s port; its metrics on +1, the apps on +10…, Prometheus on +90, the writer on +100, the readers on +101….',
  },
  'state-dir': { type: 'string', value: 'DIR', default: '', env: 'SUT_STATE_DIR', description: 'Databases, logs and pid files (default: .sut in this package).' },
  delete: { type: 'boolean', description: 'stop: also delete the databases, Prometheus’ data and the logs.' },
} as const;

const HELP = formatHelp(
  'sut start|stop [options]',
  'The reference system under test: HAProxy in front of app instances (GET /items/{id} from a reader, POST /items\nto the writer), PostgreSQL with a writer and streaming readers, and Prometheus scraping the apps and the proxy.\nstart prints the proxy URL (aim tests there) and the Prometheus URL; a second start finds it running.\nNeeds PostgreSQL 15, HAProxy and Prometheus from Debian (apt-get install postgresql-15 haproxy prometheus).',
  OPTIONS,
);

runCli('sut', async () => {
  const { options, positionals } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const stateDir = options['state-dir'] || join(projectRoot(), '.sut');
  const action = positionals[0];
  if (action === 'start') {
    const ports = portsFrom(
      parsePortOption('base-port', options['base-port'], 1024)!,
      parseNumberOption('apps', options.apps, { min: 1, integer: true })!,
      parseNumberOption('readers', options.readers, { min: 1, integer: true })!,
    );
    const system = await startReferenceSystem({ stateDir, ports, onProgress: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(
      `${system.alreadyRunning ? 'The reference system was already running' : 'The reference system is running'}:\n` +
        `  proxy       ${system.proxyUrl}   (GET /items/{id}, POST /items)\n` +
        `  Prometheus  ${system.prometheusUrl}\n` +
        `  apps        ${system.apps.map((a) => a.url).join(' ')}\n` +
        `  PostgreSQL  writer 127.0.0.1:${system.writer.port}, readers ${system.readers.map((r) => `127.0.0.1:${r.port}`).join(' ')}\n` +
        `Stop it with: npm run sut:stop\n`,
    );
    return 0;
  }
  if (action === 'stop') {
    const stopped = await stopReferenceSystem(stateDir);
    if (options.delete) deleteReferenceSystem(stateDir);
    process.stdout.write(stopped.length ? `Stopped: ${stopped.join(', ')}.\n` : 'Nothing of the reference system was running.\n');
    return 0;
  }
  throw new UsageError(action ? `unknown action "${action}": use start or stop` : 'say start or stop');
});
