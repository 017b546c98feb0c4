// `lt-orchestrator`: the orchestrator without VS Code, for CI and terminals.
//   run FILE     runs one test on the registered drivers; exit 0 pass, 1 thresholds failed, 2 error
//   serve        runs the REST API until SIGINT/SIGTERM
//   drivers      lists the drivers heard from
//   control ID pause|resume|set --rate N|--concurrency N   changes a test a running `serve` runs
//   capacity FILE  finds the largest rate that meets the file's SLO (its "capacity" block)
//   baseline set ID|last, show, clear FILE   the baseline run of each test file
//   compare A B  compares two stored runs (ids, "last", "baseline")
//   report ID    writes a stored run's JUnit, HTML, Markdown or JSON report
//   import-http FILE  a request of a REST Client .http file as a load test (a scenario)
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { commandArguments, formatHelp, httpUrl, parseNumberOption, parseOptions, parseOptionWith, parsePortOption, runCli, UsageError, wantsHelp } from '../../common/cli-options';
import { createLogger, errorMessage, isLogLevel, type Logger } from '../../common/logger';
import { KafkaUnreachableError } from '../../protocol/kafka-bus';
import { KAFKA_OPTIONS, readKafkaOptions } from '../../protocol/kafka-options';
import { parseDefinition, type LoadTestDefinition } from '../loadtest-definition';
import { capacityCommand } from './capacity-command';
import { BASELINE_OF_FILE, Orchestrator } from '../orchestrator';
import { DEFAULT_STORE_DIR, MetricsStore } from '../metrics-store';
import { baselineCommand, compareCommand } from './history-commands';
import { reportFilesOutput, wantsReportFiles, writeReportFiles, type ReportFiles } from './report-files';
import { terminalOutput } from './terminal-output';
import { lastRun } from '../compare/run-refs';
import { OrchestratorError } from '../orchestrator-error';
import { readSharedSecret, SECRET_FILE_OPTION } from '../../common/shared-secret';
import { resolveApiToken } from '../rest-api/api-token';
import { isLoopback } from '../rest-api/request-guard';
import { startRestApi } from '../rest-api/rest-api';
import { agentCommandHint } from '../agent-hint';
import { clientToken, controlRequestOf, sendControl } from './control-command';
import { importHttpCommand } from './import-http-command';

const OPTIONS = {
  ...KAFKA_OPTIONS,
  'topic-prefix': { type: 'string', value: 'PREFIX', default: '', env: 'LT_TOPIC_PREFIX', description: 'Prefix of the topic names, to share a cluster.' },
  store: { type: 'string', value: 'DIR', default: DEFAULT_STORE_DIR, env: 'LT_STORE', description: 'Folder of the metrics store (test history).' },
  id: { type: 'string', value: 'ID', env: 'LT_ORCHESTRATOR_ID', description: 'This orchestrator’s id in its commands (default: this machine’s address).' },
  drivers: { type: 'string', value: 'N', env: 'LT_DRIVERS', description: 'run, capacity: how many drivers the test needs (overrides the file’s "drivers").' },
  wait: { type: 'string', value: 'SECONDS', default: '15', env: 'LT_WAIT_FOR_DRIVERS', description: 'run, capacity: how long to wait for enough drivers to register.' },
  json: { type: 'string', value: 'FILE', description: 'run: also write the result as JSON to FILE; capacity: the search’s result; compare: the comparison.' },
  junit: { type: 'string', value: 'FILE', description: 'run, report: write a JUnit XML report (each threshold, regression limit and completeness check a test case).' },
  html: { type: 'string', value: 'FILE', description: 'run, report: write one self-contained HTML report (works offline): summary, charts, tables, the comparison.' },
  'summary-md': { type: 'string', value: 'FILE', description: 'run, report: write a short Markdown summary for a pull request (also appended to $GITHUB_STEP_SUMMARY when set).' },
  baseline: {
    type: 'string',
    value: '[ID]',
    description: 'run: compare the run with its file’s baseline (or with the stored run ID) and fail on the file’s "regression" limits. The next word is taken as the ID unless it starts with - or ends in .json.',
  },
  csv: { type: 'string', value: 'FILE', description: 'run: also write the per-driver result as CSV to FILE (and a test with stages its phases to FILE.stages.csv).' },
  target: { type: 'string', value: 'URL', env: 'LT_TARGET_URL', description: 'run, capacity: send the requests to URL instead of the file’s target URL.' },
  quiet: { type: 'boolean', description: 'run: no progress lines, only the summary; capacity: no line per step.' },
  host: { type: 'string', value: 'HOST', default: '127.0.0.1', env: 'LT_API_HOST', description: 'serve: address of the REST API.' },
  port: { type: 'string', value: 'PORT', default: '7070', env: 'LT_API_PORT', description: 'serve: port of the REST API.' },
  'secret-file': SECRET_FILE_OPTION,
  'require-signatures': {
    type: 'boolean',
    env: 'LT_REQUIRE_SIGNATURES',
    description: 'With the secret: drop every unsigned register, heartbeat and report, also from drivers that never signed (other implementations then cannot take part). Without it, only a driver that signed once is heard signed only.',
  },
  'api-token-file': {
    type: 'string',
    value: 'FILE',
    env: 'LT_API_TOKEN_FILE',
    description: 'serve: the bearer token the REST API requires when --host is not loopback (or LT_API_TOKEN); without either, one is made and kept in the store folder as api-token.',
  },
  'driver-retention': {
    type: 'string',
    value: 'MINUTES',
    default: '10',
    env: 'LT_DRIVER_RETENTION',
    description: 'Lost drivers leave the list after this long (drivers that say goodbye leave at once).',
  },
  rate: { type: 'string', value: 'N', description: 'control set: the total rate of a TSUNAMI test, requests per second over all its drivers.' },
  concurrency: { type: 'string', value: 'N', description: 'control set: the total requests in flight of an AVALANCHE test, over all its drivers.' },
  request: { type: 'string', value: 'NAME|N', description: 'import-http: the request to import: its @name, or its number in the file counting from 1 (needed when the file has several).' },
  out: { type: 'string', value: 'FILE', description: 'import-http: write the definition to FILE (e.g. login.loadtest.json) instead of printing it.' },
  api: { type: 'string', value: 'URL', env: 'LT_API_URL', description: 'control: the REST API of the running serve (default: http://HOST:PORT from --host and --port); its token from LT_API_TOKEN, --api-token-file or the store folder.' },
  'log-level': { type: 'string', value: 'LEVEL', default: 'warn', env: 'LT_LOG_LEVEL', description: 'error, warn, info or debug (logs go to stderr).' },
} as const;

const HELP = formatHelp(
  'lt-orchestrator run FILE.loadtest.json [--baseline [ID]] [options]\n       lt-orchestrator compare A B [--json FILE]\n       lt-orchestrator baseline set ID|last | show | clear FILE\n       lt-orchestrator report ID|last [--junit FILE] [--html FILE] [--summary-md FILE] [--json FILE]\n       lt-orchestrator serve [options]\n       lt-orchestrator capacity FILE.loadtest.json [--json FILE] [options]\n       lt-orchestrator drivers [options]\n       lt-orchestrator control TEST_ID pause|resume|set [--rate N | --concurrency N] [options]\n       lt-orchestrator import-http FILE.http [--request NAME|N] [--out FILE.loadtest.json]',
  'The orchestrator of the distributed load tester, without VS Code.\n' +
    '  run      Sends the test to the registered drivers over Kafka, triggers it, prints one progress line\n' +
    '           per second, a summary table and a verdict line. Exit code: 0 passed; 1 did not pass\n' +
    '           (thresholds failed, or the test was incomplete or stopped); 2 error. Ctrl-C stops the\n' +
    '           test on every driver and prints the partial result; a second Ctrl-C exits at once (130).\n' +
    '  capacity Finds the largest total rate that meets the SLO of the file\'s "capacity" block: one open-model\n' +
    '           test whose rate grows step by step, then bisects; a line per step, then the step table and\n' +
    '           the capacity. --json FILE writes {"capacity_rps", "first_failure", "steps", ...}. Exit code: 0 a\n' +
    '           capacity found; 1 the start rate already failed, or the drivers were the limit; 2 error.\n' +
    '  baseline set ID|last  Makes a finished run the baseline of its test file (kept in the store, not the file);\n' +
    '           show lists the baselines; clear FILE forgets one.\n' +
    '  report ID|last  Writes the --junit, --html, --summary-md and --json files of a stored run.\n' +
    '  compare A B  Compares two stored runs (test ids, "last" for the newest, "baseline" for the other\'s\n' +
    '           baseline): latency percentiles, rate and error rate, per request and per stage, each change\n' +
    '           judged against the run-to-run noise. Exit code: 0; 1 a "regression" limit of the file is broken.\n' +
    '  serve    Runs the REST API (see the README) until SIGINT or SIGTERM.\n' +
    '  drivers  Lists the drivers heard from in the last few seconds.\n' +
    '  control  Pauses, resumes or sets the load of a test that a running serve runs, over its REST API:\n' +
    '           set --rate N for TSUNAMI (requests per second over all drivers), set --concurrency N for\n' +
    '           AVALANCHE (requests in flight over all drivers). Exit code: 0 sent; 2 refused or error.\n' +
    '  import-http  Makes a request of a REST Client .http/.rest file a load test: a scenario of the requests\n' +
    '           it refers to ({{login.response.body.$.token}} becomes a capture), then it; 10 s at 10 per second\n' +
    '           on one driver. Prints the definition (or writes --out), and on stderr what was not carried over.\n' +
    '           Exit code: 0; 1 a step needs an edit before the test can run (the definition is written all the\n' +
    '           same); 2 error.',
  OPTIONS,
);

type Options = ReturnType<typeof parseOptions<typeof OPTIONS>>['options'];

async function connect(options: Options, log: Logger): Promise<Orchestrator> {
  const { brokers, security, warnings } = readKafkaOptions(options);
  for (const warning of warnings) log.warn(warning);
  const secret = readSharedSecret(options['secret-file']);
  if (options['require-signatures'] && !secret) throw new UsageError('--require-signatures needs the shared secret (--secret-file or LT_SECRET)');
  try {
    const retention = parseNumberOption('driver-retention', options['driver-retention'], { min: 0 })!;
    return await Orchestrator.start({
      brokers,
      kafkaSecurity: security,
      topicPrefix: options['topic-prefix'],
      storeDir: resolve(options.store!),
      id: options.id,
      logger: log,
      connectRetries: 3,
      driverRetentionMs: retention * 60_000,
      secret,
      requireSignatures: options['require-signatures'] === true,
    });
  } catch (error) {
    if (error instanceof KafkaUnreachableError) throw new Error(`${error.message}\nStart a local broker with 'npm run kafka:start', or point --kafka (or LT_KAFKA) at a running one.`);
    throw error;
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
}

/** After Ctrl-C, how long the drivers' final reports are awaited before the result is made with what arrived. */
const STOP_WAIT_MS = 3500;

/** The file's definition with the command line's overrides (--drivers, --target). */
function readDefinitionFile(command: string, file: string | undefined, options: Options): LoadTestDefinition {
  if (!file) throw new UsageError(`${command} needs a .loadtest.json file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  const parsed = parseDefinition(text);
  if (!parsed.ok) throw new UsageError(`${file} is not a valid load test:\n  ${parsed.errors.join('\n  ')}`);
  const definition = parsed.definition;
  if (options.drivers !== undefined) definition.drivers = parseNumberOption('drivers', options.drivers, { min: 1, integer: true });
  if (options.target) {
    parseOptionWith('target', options.target, httpUrl);
    if (definition.requests) throw new UsageError(`--target replaces a single target; ${file} gives a mix of ${definition.requests.length} requests (change their URLs in the file)`);
    definition.target = typeof definition.target === 'string' ? options.target : { ...definition.target, url: options.target };
  }
  return definition;
}

function reportFilesOf(options: Options): ReportFiles {
  return { json: options.json, csv: options.csv, junit: options.junit, html: options.html, summaryMd: options['summary-md'] };
}

/** `report ID|last`: the report files of a stored run (exit 0 when written, whatever its verdict). */
async function report(ref: string, options: Options): Promise<number> {
  const store = new MetricsStore(resolve(options.store!));
  const id = ref === 'last' ? lastRun(store) : ref;
  if (!id) throw new UsageError('report last: no finished run in the history');
  const result = store.loadResult(id);
  if (!result) throw new UsageError(store.has(id) ? `test ${id} has no result (still running, or interrupted)` : `no stored test ${id} in ${store.dir}`);
  const files = reportFilesOf(options);
  if (!wantsReportFiles(files)) throw new UsageError('report needs at least one of --junit FILE, --html FILE, --summary-md FILE, --json FILE, --csv FILE');
  for (const line of writeReportFiles(result, store.loadTimeSeries(id), files)) process.stdout.write(`${line}\n`);
  return 0;
}

async function run(file: string | undefined, options: Options, log: Logger): Promise<number> {
  const definition = readDefinitionFile('run', file, options);
  const waitMs = parseNumberOption('wait', options.wait, { min: 0 })! * 1000;
  const orchestrator = await connect(options, log);
  try {
    const wanted = definition.drivers ? `${definition.drivers} driver(s)` : 'the drivers (every alive, idle one takes part)';
    process.stderr.write(`Waiting up to ${waitMs / 1000} s for ${wanted} on Kafka ${orchestrator.brokers.join(',')}...\n`);
    const outputs = [terminalOutput({ quiet: options.quiet, kafka: () => orchestrator.observation(), write: (text) => process.stdout.write(text) }), reportFilesOutput(reportFilesOf(options), (line) => process.stderr.write(`${line}\n`))];
    const baseline = options.baseline === BASELINE_FLAG_ALONE ? BASELINE_OF_FILE : options.baseline;
    const started = await orchestrator.startTest(definition, { waitForDriversMs: waitMs, sourceFile: file, baseline, outputs }).catch((error) => {
      if (error instanceof OrchestratorError) throw new Error(error.message);
      throw error;
    });
    process.stderr.write(`Test ${started.testId} triggered on ${started.participants.join(', ')}\n`);
    // First signal: stop the test on every driver and wait briefly for their final reports. Second: exit at once.
    void untilSignal().then(async (name) => {
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(130));
      process.stderr.write(`${name}: stopping the test on every driver (again to exit at once)...\n`);
      const giveUp = setTimeout(() => started.finishNow(name), STOP_WAIT_MS);
      await orchestrator.stopTest(started.testId, name).catch((error) => {
        process.stderr.write(`could not tell the drivers to stop: ${errorMessage(error)}\n`);
        started.finishNow(name);
      });
      void orchestrator.waitForEnd(started.testId).then(() => clearTimeout(giveUp));
    });
    // The terminal and the files are outputs of the run: written as it ends, before this resolves.
    const result = await orchestrator.waitForEnd(started.testId);
    return result.verdict.passed ? 0 : 1;
  } finally {
    await orchestrator.shutdown(2000);
  }
}

async function capacity(file: string | undefined, options: Options, log: Logger): Promise<number> {
  const definition = readDefinitionFile('capacity', file, options);
  if (!definition.capacity) throw new UsageError(`${file} has no "capacity" block; add one, e.g. "capacity": {"start_rate": 100, "max_rate": 5000, "slo": {"p99_latency_ms": 200}}`);
  const waitMs = parseNumberOption('wait', options.wait, { min: 0 })! * 1000;
  const orchestrator = await connect(options, log);
  try {
    return await capacityCommand(orchestrator, definition, { waitMs, json: options.json, quiet: options.quiet, untilSignal });
  } catch (error) {
    if (error instanceof OrchestratorError) throw new Error(error.message);
    throw error;
  } finally {
    await orchestrator.shutdown(2000);
  }
}

async function serve(options: Options, log: Logger): Promise<number> {
  const port = parsePortOption('port', options.port)!;
  const orchestrator = await connect(options, log);
  try {
    // Beyond loopback, other machines can reach the API: it takes a bearer token.
    const token = isLoopback(options.host!) && !process.env.LT_API_TOKEN && !options['api-token-file'] ? undefined : resolveApiToken({ token: process.env.LT_API_TOKEN, file: options['api-token-file'] }, options.store!);
    const api = await startRestApi(orchestrator, { host: options.host!, port, token: token?.token });
    process.stdout.write(`REST API on ${api.url} (orchestrator ${orchestrator.id}, Kafka ${orchestrator.brokers.join(',')}). Ctrl-C stops it.\n`);
    if (token?.source === 'new') process.stdout.write(`It requires Authorization: Bearer ${token.token}\n(shown this once; kept in ${token.file}, readable by you only)\n`);
    else if (token) process.stdout.write(`It requires Authorization: Bearer with the token ${token.file ? `in ${token.file}` : 'in LT_API_TOKEN'}.\n`);
    await untilSignal();
    await api.close();
    return 0;
  } finally {
    await orchestrator.shutdown();
  }
}

async function drivers(options: Options, log: Logger): Promise<number> {
  const orchestrator = await connect(options, log);
  try {
    // One heartbeat interval and a margin: every live driver is heard from by then.
    await new Promise((r) => setTimeout(r, 2500));
    const list = orchestrator.drivers();
    if (list.length === 0) process.stdout.write(`No drivers. Start one with: ${agentCommandHint(orchestrator.brokers, orchestrator.id, orchestrator.kafkaSecurity)}\n`);
    for (const d of list) {
      const notes = [d.foreign ? `serves ${d.orchestrator}` : '', d.duplicate ? 'two agents share this id' : '', d.signed_commands ? 'signed commands only' : '', d.rejected_commands ? `refused ${d.rejected_commands} command(s), latest: ${d.last_rejection}` : ''].filter(Boolean);
      process.stdout.write(`${d.node_id.padEnd(24)} ${d.node_IP.padEnd(16)} ${d.health.padEnd(6)} ${d.activity}${notes.length ? `  (${notes.join('; ')})` : ''}\n`);
    }
    return 0;
  } finally {
    await orchestrator.shutdown();
  }
}

/** `--baseline` alone: the baseline of the run's file. */
const BASELINE_FLAG_ALONE = '@file';

/** `--baseline` takes an optional ID: a bare one (next word an option, a .json file or nothing) becomes --baseline=@file. */
function optionalBaselineValue(argv: string[]): string[] {
  return argv.flatMap((arg, i) => {
    if (arg !== '--baseline') return [arg];
    const next = argv[i + 1];
    return next === undefined || next.startsWith('-') || next.endsWith('.json') ? [`--baseline=${BASELINE_FLAG_ALONE}`] : [arg];
  });
}

runCli('lt-orchestrator', async () => {
  const { options, positionals } = parseOptions(OPTIONS, optionalBaselineValue(process.argv.slice(2)));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const level = options['log-level']!;
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be error, warn, info or debug, got "${level}"`);
  const log = createLogger('lt-orchestrator', level);
  const [command, ...rest] = positionals;
  switch (command) {
    case 'run':
      // One test per run: a second file would be silently ignored.
      return run(commandArguments('run', rest, ['FILE (one test per run)'])[0], options, log);
    case 'serve':
      commandArguments('serve', rest, []);
      return serve(options, log);
    case 'drivers':
      commandArguments('drivers', rest, []);
      return drivers(options, log);
    case 'capacity':
      return capacity(commandArguments('capacity', rest, ['FILE (one search per run)'])[0], options, log);
    case 'control': {
      const [testId, action] = commandArguments('control', rest, ['TEST_ID', 'pause|resume|set']);
      if (!testId) throw new UsageError('control needs the test id and an action, e.g. control lt-20261121-050500-3fa2 set --rate 3000');
      const request = controlRequestOf(action, options);
      const host = options.host!.includes(':') ? `[${options.host}]` : options.host!;
      const api = options.api ?? `http://${host}:${parsePortOption('port', options.port)}`;
      process.stdout.write((await sendControl(testId, request, { api, token: clientToken(process.env, options['api-token-file'], options.store!) })) + '\n');
      return 0;
    }
    case 'baseline':
      return baselineCommand(new MetricsStore(resolve(options.store!)), rest, (text) => process.stdout.write(text));
    case 'report': {
      const [ref] = commandArguments('report', rest, ['ID']);
      if (!ref) throw new UsageError('report needs a stored test id (or "last"), e.g. report last --html report.html');
      return report(ref, options);
    }
    case 'import-http': {
      const [file] = commandArguments('import-http', rest, ['FILE']);
      return importHttpCommand(file, { request: options.request, out: options.out }, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), cwd: process.cwd() });
    }
    case 'compare': {
      const [a, b] = commandArguments('compare', rest, ['A', 'B']);
      if (!a || !b) throw new UsageError('compare needs two runs: test ids, "last" or "baseline", e.g. compare baseline last');
      const store = new MetricsStore(resolve(options.store!));
      return compareCommand(store, a, b, (text) => process.stdout.write(text), options.json ? (text) => writeFileSync(options.json!, text) : undefined);
    }
    default:
      throw new UsageError(command ? `unknown command "${command}": use run, capacity, compare, baseline, report, serve, drivers, control or import-http` : 'say run, capacity, compare, baseline, report, serve, drivers, control or import-http');
  }
});

