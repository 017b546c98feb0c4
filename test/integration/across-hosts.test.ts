// The README's "Running it across machines" on hosts of their own (network namespaces): its lines
// run as written, with the subnet of the test bed for the README's 10.0.0.x. Then faults that only
// separate hosts can show: a driver cut off from the broker while it keeps loading the target (a
// partition, not a crash), and the broker's host cut off from everyone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureJars } from '../../kafka-broker/local-kafka';
import type { TestResult } from '../../orchestrator/result-model';
import { canMakeTestBed, SUBNET, TestBed, type Host } from '../support/netns-testbed';
import { inSuiteScope, ROOT, stopSuiteProcesses, tempDir, waitFor, type ProductProcess } from '../support/processes';

// The README's machines, by the last number of their address.
const HOSTS = { broker: 5, target: 7, orchestrator: 9, driver1: 11, driver2: 12 };

/** The README's recipe: each command line with the machine it runs on. */
function readmeRecipe(): Record<'broker' | 'target' | 'driver' | 'orchestrator', string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Running it across machines'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  const lines = block.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const find = (pattern: RegExp) => {
    const line = lines.find((l) => pattern.test(l));
    if (!line) throw new Error(`the README's recipe has no line matching ${pattern}`);
    return line;
  };
  return { broker: find(/kafka:start/), target: find(/lt-target/), driver: find(/lt-agent/), orchestrator: find(/lt-orchestrator run/) };
}

/** A README line for this test bed: its addresses, and the tarball packed for this run. */
function localized(line: string, tarball: string): string[] {
  return line.replaceAll('10.0.0.', `${SUBNET}.`).replace(/\.\/loadtest-kafka-[\d.]+\.tgz/, tarball).split(/\s+/);
}

describe('across real hosts (network namespaces)', function () {
  let bed: TestBed | undefined;
  let work: string;
  let tarball: string;
  let broker: Host;
  let targetUrl: string;
  let env: NodeJS.ProcessEnv;
  const recipe = readmeRecipe();

  before(async function () {
    this.timeout(5 * 60_000);
    if (!canMakeTestBed()) {
      // CI runs as root; a contributor's machine may not.
      this.skip();
    }
    work = tempDir('hosts');
    tarball = join(work, execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!);
    // These hosts reach no registry: resolve the tarball's dependencies once here, on the
    // machine's own network, so that the npm cache holds their metadata as well as their tarballs.
    execFileSync('npx', ['--yes', '--package', tarball, 'lt-agent', '--help'], { cwd: tempDir('npm-cache-fill'), stdio: 'ignore', env: { ...process.env, npm_config_yes: 'true', npm_config_prefer_offline: 'true' } });
    // The broker's host reaches no Maven repository: fetch its jars here, on the machine's own network.
    await ensureJars((line) => console.log(`      (${line})`));
    bed = new TestBed(HOSTS);
    broker = bed.host('broker');
    // npx installs the tarball's dependencies from the npm cache: these hosts reach no registry.
    env = { npm_config_yes: 'true', npm_config_offline: 'true', npm_config_update_notifier: 'false', LT_LOG_LEVEL: 'info' };

    const [command, ...args] = localized(recipe.broker, tarball);
    const started = broker.spawn(command, args, { env });
    assert.equal(await started.exited, 0, started.output());

    // The target and the agents serve every test of this suite.
    await inSuiteScope(async () => {
      const [tCommand, ...tArgs] = localized(recipe.target, tarball);
      const target = bed!.host('target').spawn(tCommand, tArgs, { cwd: work, env });
      await waitFor(() => /listening on/.test(target.output()), 'lt-target on its host', 120_000);
      targetUrl = `http://${bed!.host('target').ip}:8080`;

      const [aCommand, ...aArgs] = localized(recipe.driver, tarball);
      const agents = ['driver1', 'driver2'].map((name) => bed!.host(name).spawn(aCommand, aArgs, { cwd: work, env }));
      for (const agent of agents) await waitFor(() => /registered as/.test(agent.output()), 'an agent to register over the broker host', 120_000);
    });
  });

  after(async function () {
    this.timeout(60_000);
    if (!bed) return;
    bed.setLink('broker', true);
    await stopSuiteProcesses();
    try {
      const [command, ...args] = localized(recipe.broker, tarball);
      broker.run(command, [...args.slice(0, args.indexOf('kafka:start')), 'kafka:stop']);
    } finally {
      bed.destroy();
    }
  });

  const counted = async () => ((await (await fetch(`${targetUrl}/metrics?format=json`)).json()) as { requests_sent: number }).requests_sent;

  /** The README's orchestrator line on the orchestrator's host, on a file written there. */
  function runOrchestrator(definition: object, extra: string[] = []): { cli: ProductProcess; json: string } {
    const dir = tempDir('hosts-run');
    writeFileSync(join(dir, 'ping.loadtest.json'), JSON.stringify(definition));
    const [command, ...args] = localized(recipe.orchestrator, tarball);
    const json = join(dir, 'result.json');
    const cli = bed!.host('orchestrator').spawn(command, [...args, '--json', json, ...extra], { cwd: dir, env });
    return { cli, json };
  }
  const result = (json: string) => JSON.parse(readFileSync(json, 'utf8')) as TestResult;

  it('the README recipe runs as written: agents announce their hosts, the test passes, the target counts every request', async () => {
    const before = await counted();
    const { cli, json } = runOrchestrator({ test_type: 'AVALANCHE', message_count_per_driver: 500, drivers: 2, target: `${targetUrl}/ping` });
    assert.equal(await cli.exited, 0, cli.output());
    assert.match(cli.output(), /Result: PASSED: 1,000 of 1,000 requests/);
    assert.equal(result(json).config.orchestrator, bed!.host('orchestrator').ip, "the orchestrator's id is its host's address");
    assert.equal((await counted()) - before, 1000);
    // The drivers as the orchestrator's host lists them: each at its own host's address.
    const [command, ...args] = localized(recipe.orchestrator, tarball);
    const listing = bed!.host('orchestrator').spawn(command, [...args.slice(0, args.indexOf('run')), 'drivers', ...args.slice(args.indexOf('--kafka'))], { env });
    assert.equal(await listing.exited, 0, listing.output());
    for (const name of ['driver1', 'driver2']) assert.match(listing.output(), new RegExp(`\\s${bed!.host(name).ip.replaceAll('.', '\\.')}\\s+alive`));
  });

  it('a driver cut off from the broker for 10 s keeps loading the target; its kept reports arrive; complete, exit 0', async () => {
    const before = await counted();
    // 2,000 requests every 10 ms per driver: 20 s of load, the partition in its middle.
    const { cli, json } = runOrchestrator({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 2000, drivers: 2, target: `${targetUrl}/ping` });
    await waitFor(() => /\d+s\s+drivers 2\/2 running/.test(cli.output()), 'the test to be under way', 60_000);
    bed!.setBlocked('driver1', 'broker', true);
    const sentBefore = await counted();
    await new Promise((r) => setTimeout(r, 10_000));
    bed!.setBlocked('driver1', 'broker', false);
    assert.ok((await counted()) - sentBefore > 1000, 'the target kept being loaded during the partition');
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json);
    assert.equal(r.status, 'complete', r.verdict.reason);
    assert.equal(r.aggregate.requests_sent, 4000);
    assert.equal((await counted()) - before, 4000, 'the target counted every request the result holds');
  });

  it("the broker's host cut off for 10 s: nothing is lost, complete, exit 0", async () => {
    const before = await counted();
    const { cli, json } = runOrchestrator({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 2000, drivers: 2, target: `${targetUrl}/ping` });
    await waitFor(() => /\d+s\s+drivers 2\/2 running/.test(cli.output()), 'the test to be under way', 60_000);
    bed!.setLink('broker', false);
    await new Promise((r) => setTimeout(r, 10_000));
    bed!.setLink('broker', true);
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json);
    assert.equal(r.status, 'complete', r.verdict.reason);
    assert.equal(r.aggregate.requests_sent, 4000);
    assert.equal((await counted()) - before, 4000);
    assert.match(cli.output(), /Kafka unreachable/, 'the orchestrator said why it judged nothing meanwhile');
  });
});
