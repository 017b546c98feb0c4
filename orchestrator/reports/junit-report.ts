// A test's result as JUnit XML, for CI: Jenkins (junit step), GitLab (artifacts:reports:junit) and
// GitHub's test-report actions all read the same common shape, testsuites > testsuite > testcase
// with <failure> or <skipped>, and show each testcase as a line that passed or failed. So every
// judgement the verdict rests on becomes one testcase, named so that the same check keeps the same
// name from run to run (CI tracks a testcase's history by its name):
// - each threshold check (a stage's own included), `skipped` when it was not judged;
// - each regression check of a comparison against a baseline;
// - completeness: "complete", which fails when the test is not (its message is the verdict's
//   reason), and one failing testcase per driver whose part ended without its final report.
// The figures themselves go in no testcase: CI shows outcomes, the HTML report shows figures.
import type { Comparison, RegressionCheck } from '../compare/comparison-model';
import type { DriverEnding, TestResult, ThresholdCheck } from '../result-model';
import { describeEnding } from '../verdict';

interface Case {
  classname: string;
  name: string;
  /** seconds */
  time: number;
  outcome: { kind: 'passed' } | { kind: 'failed'; type: string; message: string } | { kind: 'skipped'; message: string };
}

/** Characters XML 1.0 cannot carry at all, even escaped (controls, unpaired surrogates, U+FFFE/F). */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };

/** For an attribute value: line breaks and tabs as character references, or a parser folds them into spaces. */
function attr(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"'\n\r\t]/g, (c) => ENTITIES[c]);
}

/** For element content. */
function content(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>]/g, (c) => ENTITIES[c]);
}

const seconds = (s: number) => s.toFixed(3);

function thresholdCase(suite: string, c: ThresholdCheck): Case {
  const outcome: Case['outcome'] = c.skipped ? { kind: 'skipped', message: c.text } : c.passed ? { kind: 'passed' } : { kind: 'failed', type: 'threshold', message: c.text };
  // A stage's check is already named after its stage ("stage 2.p99_latency_ms").
  return { classname: `${suite}.thresholds`, name: c.name, time: 0, outcome };
}

function regressionCase(suite: string, r: RegressionCheck): Case {
  return { classname: `${suite}.regression`, name: `${r.figure} ${r.limit}`, time: 0, outcome: r.passed ? { kind: 'passed' } : { kind: 'failed', type: 'regression', message: r.text } };
}

function endingCase(suite: string, e: DriverEnding): Case {
  return { classname: `${suite}.completeness`, name: `driver ${e.node_id}`, time: 0, outcome: { kind: 'failed', type: e.state, message: describeEnding(e) } };
}

function testcase(c: Case): string {
  const open = `    <testcase classname="${attr(c.classname)}" name="${attr(c.name)}" time="${seconds(c.time)}"`;
  const o = c.outcome;
  if (o.kind === 'passed') return `${open}/>`;
  if (o.kind === 'skipped') return `${open}>\n      <skipped message="${attr(o.message)}"/>\n    </testcase>`;
  return `${open}>\n      <failure type="${attr(o.type)}" message="${attr(o.message)}">${content(o.message)}</failure>\n    </testcase>`;
}

/**
 * The JUnit XML of a finished test, and of its comparison against a baseline when given. The
 * suite's timestamp is the trigger's time in UTC, written without a zone as the JUnit schema
 * wants it; its time is the test's run in seconds.
 */
export function junitReport(result: TestResult, comparison?: Comparison): string {
  const suite = result.name ?? result.test_id;
  const cases: Case[] = [
    ...result.thresholds.checks.map((c) => thresholdCase(suite, c)),
    ...(comparison?.regression?.checks ?? []).map((r) => regressionCase(suite, r)),
    {
      classname: `${suite}.completeness`,
      name: 'complete',
      time: result.run_s,
      outcome: result.status === 'complete' ? { kind: 'passed' } : { kind: 'failed', type: result.status, message: result.verdict.reason },
    },
    ...result.ending.map((e) => endingCase(suite, e)),
  ];
  const failures = cases.filter((c) => c.outcome.kind === 'failed').length;
  const skipped = cases.filter((c) => c.outcome.kind === 'skipped').length;
  const timestamp = new Date(result.triggered_at ?? result.created_at).toISOString().slice(0, 19);
  const time = seconds(result.run_s);
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}"`;
  const properties: [string, string][] = [
    ['test_id', result.test_id],
    ['test_type', result.test_type],
    ['status', result.status],
    ['verdict', result.verdict.reason],
  ];
  if (comparison) properties.push(['baseline', comparison.baseline.test_id]);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(suite)}" ${counts}>`,
    `  <testsuite name="${attr(suite)}" ${counts} timestamp="${timestamp}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${name}" value="${attr(value)}"/>`),
    '    </properties>',
    ...cases.map(testcase),
    `    <system-out>${content(result.verdict.reason)}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
