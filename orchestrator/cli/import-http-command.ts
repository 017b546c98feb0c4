// `lt-orchestrator import-http FILE.http [--request NAME|N] [--out FILE.loadtest.json]`: a request of
// a REST Client file as a load test of its own (scenarios/http-file-import.ts). The definition goes
// to stdout or --out, what was not carried over to stderr. Exit 0 when every step is as the file
// says; 1 when a step needs a hand edit before the test can run (the definition is written all the
// same, to edit); 2 on a usage error. No broker is needed.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../../common/cli-options';
import { errorMessage } from '../../common/logger';
import { projectRoot } from '../../common/project-root';
import { importHttpRequest, listHttpRequests, loadTestFileText, schemaReference, type HttpRequestListing } from '../scenarios/http-file-import';

export interface ImportHttpOptions {
  /** a request's @name, its step name, or its number in the file from 1 */
  request?: string;
  out?: string;
}

export interface ImportHttpIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** where a definition printed to stdout is read from: its $schema is relative to here */
  cwd: string;
}

export function importHttpCommand(file: string | undefined, options: ImportHttpOptions, io: ImportHttpIo): number {
  if (!file) throw new UsageError('import-http needs a .http or .rest file, e.g. import-http api.http --request login');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  const requests = listHttpRequests(text);
  const which = chosenRequest(file, requests, options.request);
  let imported;
  try {
    imported = importHttpRequest(text, which, { source: basename(file) });
  } catch (error) {
    throw new UsageError(`${file}: ${errorMessage(error)}`);
  }
  const schemaFile = join(projectRoot(), 'schemas', 'loadtest.schema.json');
  const out = options.out && resolve(options.out);
  const fileText = loadTestFileText(imported.definition, schemaReference(out ? dirname(out) : io.cwd, schemaFile));
  const steps = imported.definition.scenario.steps.map((s) => s.name);
  if (out) {
    writeFileSync(out, fileText);
    io.stderr(`Wrote ${options.out}: ${steps.length} step(s), ${steps.join(' → ')}\n`);
  } else io.stdout(fileText);
  if (imported.unsupported.length) {
    io.stderr(`Not carried over from ${file}${imported.blocking.length ? ' (the test cannot run as it is until those marked "blocks" are fixed in the definition)' : ''}:\n`);
    for (const note of imported.unsupported) io.stderr(`  ${imported.blocking.includes(note) ? 'blocks' : 'note  '}  ${note}\n`);
  }
  return imported.blocking.length ? 1 : 0;
}

/** The request --request names (a number counts from 1, as request_N does), or the file's only one. */
function chosenRequest(file: string, requests: HttpRequestListing[], request: string | undefined): number | string {
  if (requests.length === 0) throw new UsageError(`${file} has no request`);
  if (request === undefined) {
    if (requests.length === 1) return 0;
    const list = requests.map((r) => `  ${String(r.index + 1).padStart(3)}  ${r.step.padEnd(24)} line ${String(r.line + 1).padEnd(5)} ${r.method} ${r.url}`).join('\n');
    throw new UsageError(`${file} has ${requests.length} requests; choose one with --request NAME or its number:\n${list}`);
  }
  if (!/^\d+$/.test(request)) return request;
  const n = Number(request);
  if (n < 1 || n > requests.length) throw new UsageError(`--request ${request}: ${file} has requests 1 to ${requests.length}`);
  return n - 1;
}
