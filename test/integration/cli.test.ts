// The command lines as a user runs them: help, exit codes, output, and the packed tarball.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, runBin, spawnBin, startAgents, startTargetProcess, tempDir, waitFor } from '../support/processes';

describe('command-line interfaces', function () {
  describe('--help', () => {
    for (const [bin, flags] of [
      ['lt-agent', ['--kafka HOST:PORT', '--orchestrator HOST', '--id ID', '--ip IP', 'env: LT_KAFKA']],
      ['lt-target', ['--port PORT', '--latency MS', '--error-rate FRACTION', 'default: 8080']],
      ['lt-orchestrator', ['run FILE.loadtest.json', 'serve', '--kafka HOST:PORT', '--json FILE', 'Exit code: 0']],
      ['kafka-broker', ['start|stop', '--port PORT', '--advertised-host HOST', 'docker run']],
    ] as const) {
      it(`${bin} shows every flag with its default and exits 0`, async () => {
        const r = await runBin(bin, ['--help']);
        assert.equal(r.code, 0);
        for (const flag of flags) assert.ok(r.stdout.includes(flag), `${bin} --help mentions ${flag}`);
      });
    }
    it('an unknown flag is a usage error (exit 2) that points to --help', async () => {
      const r = await runBin('lt-agent', ['--colour']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Unknown option '--colour'[\s\S]*lt-agent --help/);
    });
  });

  describe('lt-orchestrator run', () => {
    let kafka: string;
    let prefix: string;
    let targetUrl: string;
    let target: Awaited<ReturnType<typeof startTargetProcess>>;
    const env = () => ({ LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-cli', LT_STORE: tempDir('cli-store') });

    beforeEach(async () => {
      kafka = await kafkaBootstrap();
      prefix = uniquePrefix('cli');
      target = await startTargetProcess();
      targetUrl = target.url;
      await startAgents(2, 'cli', { kafka, prefix, orchestrator: 'test-cli' });
    });

    const writeTest = (definition: object) => {
      const file = join(tempDir('cli-file'), 'test.loadtest.json');
      writeFileSync(file, JSON.stringify(definition));
      return file;
    };

    it('exits 0 when thresholds pass, printing progress, the table and writing the JSON result', async () => {
      const file = writeTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 150, target: `${targetUrl}/ping`, thresholds: { error_rate: 0.01, p99_latency_ms: 5000 } });
      const json = join(tempDir('cli-json'), 'result.json');
      const csv = join(tempDir('cli-csv'), 'result.csv');
      const r = await runBin('lt-orchestrator', ['run', file, '--drivers', '2', '--json', json, '--csv', csv], env());
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^\s+\d+s\s+drivers \d\/2 running\s+planned 300\s+sent/m, 'a progress line per second');
      assert.match(r.stdout, /cli-1\s+complete\s+150\s+150\s+0/);
      assert.match(r.stdout, /all drivers\s+complete\s+300\s+300\s+0/);
      assert.match(r.stdout, /PASS\s+error rate 0% <= 1%/);
      assert.match(r.stdout, /Result: PASSED/);
      const result = JSON.parse(readFileSync(json, 'utf8'));
      assert.equal(result.aggregate.requests_sent, 300);
      assert.equal(result.thresholds.passed, true);
      assert.equal(result.verdict.passed, true);
      const [header, ...rows] = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(','));
      const col = (name: string) => header.indexOf(name);
      assert.deepEqual(rows.map((r) => r[col('driver')]), ['cli-1', 'cli-2', '(all drivers)']);
      assert.deepEqual(rows.map((r) => Number(r[col('requests_sent')])), [150, 150, 300]);
      assert.ok(Number(rows[2][col('p99_ms')]) > 0);
    });

    it('a warm-up goes first at the test’s pace and stays out of every figure; the target counts both', async () => {
      const file = writeTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, warm_up_count_per_driver: 60, target: `${targetUrl}/ping` });
      const json = join(tempDir('cli-warm'), 'result.json');
      const before = (await target.counters()).requests_sent;
      const r = await runBin('lt-orchestrator', ['run', file, '--drivers', '2', '--json', json], env());
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const result = JSON.parse(readFileSync(json, 'utf8'));
      assert.equal(result.status, 'complete');
      assert.equal(result.aggregate.requests_sent, 200);
      assert.equal(result.aggregate.latency.count, 200, 'only the measured requests have a latency in the result');
      for (const d of result.per_driver) assert.deepEqual(d.warm_up, { requests_sent: 60, responses: 60, errors: 0, done: true });
      assert.equal((await target.counters()).requests_sent - before, 320, 'the target saw the warm-up and the test');
      assert.match(r.stdout, /^Warm-up first, in none of these figures: 60 requests per driver at the test's pace \(120 sent, 120 responses, 0 errors\)$/m);
      assert.deepEqual(result.warnings.filter((w: string) => /warm-up/.test(w)), [], 'no driver is warned of its warm-up');
    });

    it('exits 1 when a threshold fails', async () => {
      const file = writeTest({ test_type: 'AVALANCHE', message_count_per_driver: 100, drivers: 2, target: `${targetUrl}/ping`, thresholds: { max_latency_ms: 0.001 } });
      const r = await runBin('lt-orchestrator', ['run', file, '--quiet'], env());
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /FAIL\s+max latency [\d.]+ ms <= 0.001 ms/);
      assert.match(r.stdout, /Result: FAILED/);
    });

    it('exits 2 with the field named when the file is invalid', async () => {
      const file = writeTest({ test_type: 'TSUNAMI', message_count_per_driver: 10, target: `${targetUrl}/ping` });
      const r = await runBin('lt-orchestrator', ['run', file], env());
      assert.equal(r.code, 2);
      assert.match(r.stderr, /is not a valid load test:\n\s+test_message_delay: is required/);
    });

    it('exits 2 with what to do when too few drivers come', async () => {
      const file = writeTest({ test_type: 'AVALANCHE', message_count_per_driver: 10, drivers: 3, target: `${targetUrl}/ping` });
      const r = await runBin('lt-orchestrator', ['run', file, '--wait', '1'], env());
      assert.equal(r.code, 2);
      assert.match(r.stderr, /needs 3 drivers but 2 are available[\s\S]*npx --yes --package \.\/loadtest-kafka-\d+\.\d+\.\d+\.tgz lt-agent --kafka/);
    });
  });

  it('lt-orchestrator serve beyond loopback makes a token, shows it once, keeps it (mode 600) and requires it', async () => {
    const kafka = await kafkaBootstrap();
    const store = tempDir('serve-store');
    const env = { LT_KAFKA: kafka, LT_TOPIC_PREFIX: uniquePrefix('serve'), LT_STORE: store };
    const serve = () => {
      const p = spawnBin('lt-orchestrator', ['serve', '--host', '0.0.0.0', '--port', '0'], env);
      return waitFor(() => /REST API on http:\/\/0\.0\.0\.0:(\d+)[\s\S]*requires Authorization[^\n]*\n/.exec(p.output()) && p, 'serve to say how to call it', 60_000);
    };
    const first = await serve();
    const token = /Bearer (\S+)\n\(shown this once/.exec(first.output())?.[1];
    assert.ok(token, first.output());
    const file = join(store, 'api-token');
    assert.equal(readFileSync(file, 'utf8').trim(), token);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const port = /0\.0\.0\.0:(\d+)/.exec(first.output())![1];
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/health`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    first.kill('SIGTERM');
    await first.exited;
    const second = await serve();
    assert.doesNotMatch(second.output(), new RegExp(token!), 'shown once only');
    assert.match(second.output(), new RegExp(`the token in ${file}`));
    second.kill('SIGTERM');
    await second.exited;
  });

  it('lt-orchestrator exits 2 with advice when Kafka cannot be reached', async () => {
    const file = join(ROOT, 'examples', 'ping-avalanche.loadtest.json');
    const r = await runBin('lt-orchestrator', ['run', file, '--kafka', '127.0.0.1:1'], { LT_STORE: tempDir('cli-nokafka') });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot reach Kafka at 127.0.0.1:1[\s\S]*npm run kafka:start/);
  });

  it('the packed tarball runs lt-agent --help in an empty folder, as on a driver machine', async function () {
    const packDir = tempDir('pack');
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    const empty = tempDir('driver-machine');
    // The runtime dependencies come from the npm cache where it has them, else from the registry,
    // as on a driver machine: `npm ci` caches tarballs, not the metadata that resolves a range.
    const out = execFileSync('npx', ['--yes', '--package', join(packDir, tarball), 'lt-agent', '--help'], { cwd: empty, encoding: 'utf8', env: { ...process.env, npm_config_yes: 'true', npm_config_prefer_offline: 'true' } });
    assert.match(out, /Usage: lt-agent --kafka HOST:PORT --orchestrator HOST/);
  });
});
