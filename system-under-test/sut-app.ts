// `sut-app`: one instance of the reference system's app (app-server.ts). The reference system
// starts several behind its proxy; it runs until SIGINT or SIGTERM.
import { readFileSync } from 'node:fs';
import { formatHelp, parseNumberOption, parseOptions, parsePortOption, runCli, UsageError, wantsHelp } from '../common/cli-options';
import { startApp } from './app-server';
import type { DatabaseEndpoint } from './database-cluster';

const OPTIONS = {
  port: { type: 'string', value: 'PORT', default: '0', description: 'Port to listen on (0: any free port).' },
  host: { type: 'string', value: 'HOST', default: '127.0.0.1', description: 'Address to listen on.' },
  instance: { type: 'string', value: 'NAME', default: 'app-1', description: 'This instance’s name (x-sut-instance header, metric label).' },
  writer: { type: 'string', value: 'HOST:PORT', description: 'The PostgreSQL writer.' },
  readers: { type: 'string', value: 'HOST:PORT,…', default: '', description: 'PostgreSQL readers, comma-separated (reads go to the writer without one).' },
  'password-file': { type: 'string', value: 'FILE', env: 'SUT_DATABASE_PASSWORD_FILE', description: 'File holding the database password of user "sut".' },
} as const;

const HELP = formatHelp('sut-app --writer HOST:PORT [--readers HOST:PORT,…] --password-file FILE [options]', 'One app instance of the reference system under test: GET /items/{id} from a reader, POST /items to the\nwriter, GET /health, GET /metrics (Prometheus).', OPTIONS);

function endpoint(text: string, flag: string): DatabaseEndpoint {
  const match = /^([^:\s]+):(\d{1,5})$/.exec(text.trim());
  if (!match) throw new UsageError(`--${flag}: "${text}" is not HOST:PORT`);
  return { host: match[1], port: Number(match[2]) };
}

runCli('sut-app', async () => {
  const { options } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!options.writer) throw new UsageError('--writer HOST:PORT is required');
  if (!options['password-file']) throw new UsageError('--password-file FILE is required');
  let password: string;
  try {
    password = readFileSync(options['password-file'], 'utf8').trim();
  } catch (error) {
    throw new UsageError(`--password-file: ${(error as Error).message}`);
  }
  const app = await startApp({
    port: parsePortOption('port', options.port)!,
    host: options.host!,
    instance: options.instance!,
    writer: endpoint(options.writer, 'writer'),
    readers: options.readers!.split(',').filter((s) => s.trim()).map((r) => endpoint(r, 'readers')),
    password,
  });
  process.stdout.write(`${options.instance} listening on ${app.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await app.close();
  return 0;
});
