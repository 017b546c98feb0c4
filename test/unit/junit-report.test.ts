import assert from 'node:assert/strict';
import { junitReport } from '../../orchestrator/reports/junit-report';
import type { TestResult } from '../../orchestrator/result-model';
import { reportComparison, reportResult } from '../support/report-fixture';

// xml2js parses with sax in strict mode: a document that is not well-formed XML is refused.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseStringPromise } = require('xml2js') as { parseStringPromise(xml: string): Promise<Parsed> };

interface Attributes {
  $: Record<string, string>;
}
interface ParsedCase extends Attributes {
  failure?: ({ _: string } & Attributes)[];
  skipped?: Attributes[];
}
interface ParsedSuite extends Attributes {
  properties: { property: Attributes[] }[];
  testcase: ParsedCase[];
  'system-out': string[];
}
interface Parsed {
  testsuites: Attributes & { testsuite: ParsedSuite[] };
}

async function parse(xml: string): Promise<{ suites: Parsed['testsuites']; suite: ParsedSuite; byName: Map<string, ParsedCase> }> {
  const doc = await parseStringPromise(xml);
  assert.equal(doc.testsuites.testsuite.length, 1, 'one testsuite');
  const suite = doc.testsuites.testsuite[0];
  return { suites: doc.testsuites, suite, byName: new Map(suite.testcase.map((c) => [c.$.name, c])) };
}

const failed = (s: ParsedSuite) => s.testcase.filter((c) => c.failure).map((c) => c.$.name);

describe('JUnit report', () => {
  it('has one testsuite named after the test, with its trigger time (UTC, no zone, as the schema wants) and run seconds', async () => {
    const { suites, suite } = await parse(junitReport(reportResult()));
    assert.equal(suite.$.name, 'checkout ramp');
    assert.equal(suites.$.name, 'checkout ramp');
    assert.equal(suite.$.timestamp, '2026-12-07T09:30:00');
    assert.equal(suite.$.time, '20.020');
    assert.equal(suites.$.time, '20.020');
  });

  it('names the suite after the test id when the test has no name', async () => {
    const { suite } = await parse(junitReport({ ...reportResult(), name: undefined }));
    assert.equal(suite.$.name, 'lt-20261207-093000-5d1e');
  });

  it('has a testcase per threshold check, a stage’s included; the failed one fails with its text, the unjudged one is skipped', async () => {
    const { suite, byName } = await parse(junitReport(reportResult()));
    const thresholds = suite.testcase.filter((c) => c.$.classname === 'checkout ramp.thresholds').map((c) => c.$.name);
    assert.deepEqual(thresholds, ['error_rate', 'p99_latency_ms', 'stage 2.p99_latency_ms', 'server.cpu.max']);
    const stage = byName.get('stage 2.p99_latency_ms')!;
    assert.equal(stage.failure?.length, 1);
    assert.equal(stage.failure![0].$.message, 'stage 2: p99 latency 61.7 ms <= 50 ms');
    assert.equal(stage.failure![0]._, 'stage 2: p99 latency 61.7 ms <= 50 ms');
    assert.equal(byName.get('p99_latency_ms')!.failure, undefined);
    const skipped = byName.get('server.cpu.max')!;
    assert.equal(skipped.skipped?.length, 1);
    assert.equal(skipped.failure, undefined);
  });

  it('a complete test has a passing "complete" testcase and no driver testcase', async () => {
    const { byName, suite } = await parse(junitReport(reportResult()));
    assert.equal(byName.get('complete')!.failure, undefined);
    assert.equal(suite.testcase.filter((c) => c.$.name.startsWith('driver ')).length, 0);
  });

  it('an incomplete test fails "complete" with the verdict’s reason, and each driver that ended without its report fails naming it and why', async () => {
    const result: TestResult = {
      ...reportResult(),
      status: 'incomplete',
      ending: [
        { node_id: 'ci-runner-2', state: 'lost', at: Date.UTC(2026, 11, 7, 9, 30, 12), reason: 'no heartbeat for 3 s' },
        { node_id: 'ci-runner-3', state: 'timed_out', at: Date.UTC(2026, 11, 7, 9, 30, 45), reason: 'no final report by the deadline' },
      ],
      verdict: { passed: false, reason: 'FAILED: incomplete, 3,100 of 4,500 requests reported: ci-runner-2 lost at 09:30:12 UTC (no heartbeat for 3 s)' },
    };
    const { byName } = await parse(junitReport(result));
    assert.equal(byName.get('complete')!.failure![0].$.message, result.verdict.reason);
    assert.equal(byName.get('complete')!.failure![0].$.type, 'incomplete');
    assert.equal(byName.get('driver ci-runner-2')!.failure![0].$.message, 'ci-runner-2 lost at 09:30:12 UTC (no heartbeat for 3 s)');
    assert.equal(byName.get('driver ci-runner-3')!.failure![0].$.message, 'ci-runner-3 timed out at 09:30:45 UTC (no final report by the deadline)');
  });

  it('has a testcase per regression check of a comparison, failing beyond its limit, and names the baseline', async () => {
    const { suite, byName } = await parse(junitReport(reportResult(), reportComparison()));
    const regression = suite.testcase.filter((c) => c.$.classname === 'checkout ramp.regression').map((c) => c.$.name);
    assert.deepEqual(regression, ['p99_latency_ms +10%', 'throughput -5%']);
    assert.match(byName.get('p99_latency_ms +10%')!.failure![0].$.message, /^p99 latency 61\.9 ms against 48\.2 ms in the baseline: \+28\.4%, beyond the \+10% limit/);
    assert.equal(byName.get('throughput -5%')!.failure, undefined);
    assert.deepEqual(suite.properties[0].property.find((p) => p.$.name === 'baseline')?.$.value, 'lt-20261130-180000-aa01');
  });

  it('counts tests, failures and skipped as the testcases say, on the suite and on the whole', async () => {
    const result: TestResult = { ...reportResult(), status: 'incomplete', ending: [{ node_id: 'ci-runner-2', state: 'lost', at: Date.UTC(2026, 11, 7, 9, 30, 12), reason: 'no heartbeat for 3 s' }] };
    const { suites, suite } = await parse(junitReport(result, reportComparison()));
    // 4 thresholds + 2 regression + complete + 1 driver
    assert.equal(suite.testcase.length, 8);
    assert.deepEqual(failed(suite), ['stage 2.p99_latency_ms', 'p99_latency_ms +10%', 'complete', 'driver ci-runner-2']);
    for (const counts of [suite.$, suites.$]) {
      assert.equal(counts.tests, '8');
      assert.equal(counts.failures, '4');
      assert.equal(counts.skipped, '1');
      assert.equal(counts.errors, '0');
    }
  });

  it('escapes names and texts: a test, a stage and a driver named with < & " \' come back as written', async () => {
    const name = 'cart <v2> & "beta" \'eu\'';
    const result = reportResult();
    result.name = name;
    result.status = 'incomplete';
    result.thresholds.checks.push({ name: 'stage <&">.p99_latency_ms', limit: 50, actual: 80, passed: false, stage: 'stage <&">', text: 'stage <&">: p99 latency 80.0 ms <= 50 ms' });
    result.ending = [{ node_id: 'runner<&">', state: 'left', at: Date.UTC(2026, 11, 7, 9, 30, 5), reason: 'said goodbye: "bye" & <gone>\nat once' }];
    result.verdict = { passed: false, reason: `FAILED: incomplete <&"> ]]> \u0007` };
    const xml = junitReport(result);
    assert.doesNotMatch(xml, /\u0007/, 'a control character XML cannot carry is replaced');
    // sax lets a raw "<" in an attribute pass; XML does not.
    assert.doesNotMatch(xml, /="[^"]*</, 'no "<" inside an attribute value');
    const { suite, byName } = await parse(xml);
    assert.equal(suite.$.name, name);
    assert.equal(byName.get('stage <&">.p99_latency_ms')!.failure![0].$.message, 'stage <&">: p99 latency 80.0 ms <= 50 ms');
    assert.equal(byName.get('driver runner<&">')!.failure![0].$.message, 'runner<&"> left at 09:30:05 UTC (said goodbye: "bye" & <gone>\nat once)', 'a line break in an attribute survives');
    assert.equal(byName.get('complete')!.failure![0].$.message, 'FAILED: incomplete <&"> ]]> \uFFFD');
    assert.equal(suite['system-out'][0], 'FAILED: incomplete <&"> ]]> \uFFFD');
  });
});
