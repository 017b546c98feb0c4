// Reads a scenario's test data file (CSV with a header row, or JSON lines) into the form that
// travels in the test_config: the drivers never read a path on their own machines. Checked before
// the test starts: its size on the wire, its columns as variable names.
import { readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { MAX_TEST_DATA_BYTES, RESERVED_NAMES, VARIABLE_NAME, type WireTestData } from '../../protocol/scenario';
import { OrchestratorError } from '../orchestrator-error';
import type { TestDataSource } from './scenario-definition';

const JSON_LINES = new Set(['.jsonl', '.ndjson']);

/** The data of `source`, its file read relative to `baseDir`; an OrchestratorError names the field and says what to do. */
export function readTestData(source: TestDataSource, baseDir: string): WireTestData {
  const path = isAbsolute(source.file) ? source.file : resolve(baseDir, source.file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid(`data.file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the path is relative to the .loadtest.json file`);
  }
  const { columns, rows } = JSON_LINES.has(extname(path).toLowerCase()) ? fromJsonLines(text, path) : fromCsv(text, path);
  for (const column of columns) {
    if (!VARIABLE_NAME.test(column) || RESERVED_NAMES.includes(column)) {
      throw invalid(`data.file: the column "${column}" of ${path} cannot be a variable; name columns with letters, digits and underscores, starting with a letter (not seq, driver or random)`);
    }
  }
  const data: WireTestData = { mode: source.mode ?? 'cycle', columns, rows };
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes > MAX_TEST_DATA_BYTES) {
    throw invalid(`data.file: ${path} makes ${(bytes / 1024).toFixed(0)} KiB on the wire, above the ${MAX_TEST_DATA_BYTES / 1024} KiB a test carries (it travels in the test_config, one Kafka message); keep fewer rows or fewer columns`);
  }
  if (rows.length === 0) throw invalid(`data.file: ${path} has no rows (a header row, then one row per iteration)`);
  return data;
}

function fromCsv(text: string, path: string): { columns: string[]; rows: string[][] } {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, bom: true, relax_column_count: false }) as string[][];
  } catch (error) {
    throw invalid(`data.file: ${path} is not valid CSV: ${(error as Error).message}`);
  }
  const [columns, ...rows] = records;
  if (!columns) throw invalid(`data.file: ${path} is empty; give a header row with the column names, then the rows`);
  return { columns: columns.map((c) => c.trim()), rows };
}

function fromJsonLines(text: string, path: string): { columns: string[]; rows: string[][] } {
  const objects: Record<string, unknown>[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw invalid(`data.file: line ${i + 1} of ${path} is not JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`data.file: line ${i + 1} of ${path} is not an object; each line gives one row as {"column": value, ...}`);
    objects.push(value as Record<string, unknown>);
  }
  const columns = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const text_ = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  return { columns, rows: objects.map((o) => columns.map((c) => text_(o[c]))) };
}

function invalid(message: string): OrchestratorError {
  return new OrchestratorError(`invalid load test: ${message}`, 'invalid', [message]);
}
