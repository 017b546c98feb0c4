// Mocha's spec reporter, then what CI reads at the end: every failed test by name with the first
// line of its error (CI repeats these as its last lines, where a short log still shows them),
// every skipped (pending) test by name, each
// test file's tally, and one closing line "tests: N passed, N failed, N skipped". A file whose
// tests were all skipped, or that has no line here at all, did not run; .ci/run checks both.
import { relative } from 'node:path';
import Mocha from 'mocha';

const { EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING } = Mocha.Runner.constants;

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** The source file a compiled test came from: out/test/x.test.js → test/x.test.ts. */
function sourceFile(file: string | undefined): string {
  if (!file) return '(no file)';
  const path = relative(process.cwd(), file);
  return path.startsWith('out/') ? path.slice('out/'.length).replace(/\.js$/, '.ts') : path;
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const files = new Map<string, Tally>();
    const skipped: string[] = [];
    const failed: string[] = [];
    const tally = (runnable: Mocha.Runnable) => {
      const file = sourceFile(runnable.file);
      let t = files.get(file);
      if (!t) files.set(file, (t = { passed: 0, failed: 0, skipped: 0 }));
      return { file, t };
    };
    runner.on(EVENT_TEST_PASS, (test) => tally(test).t.passed++);
    // A failed hook arrives here too, as the runnable that failed: its file counts a failure.
    runner.on(EVENT_TEST_FAIL, (test, err: Error) => {
      const { file, t } = tally(test);
      t.failed++;
      const firstLine = String(err?.message ?? err).split('\n')[0].slice(0, 240);
      failed.push(`${test.fullTitle()} (${file}): ${firstLine}`);
    });
    runner.on(EVENT_TEST_PENDING, (test) => {
      const { file, t } = tally(test);
      t.skipped++;
      skipped.push(`${test.fullTitle()} (${file})`);
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats!;
      const lines = ['', `failed: ${failed.length}`, ...failed.map((line) => `  - ${line}`)];
      lines.push(`skipped: ${skipped.length}`, ...skipped.map((name) => `  - ${name}`));
      for (const [file, t] of [...files].sort(([a], [b]) => a.localeCompare(b))) lines.push(`file: ${file}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
      lines.push(`tests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`);
      process.stdout.write(lines.join('\n') + '\n');
    });
  }
}

export = SummaryReporter;
