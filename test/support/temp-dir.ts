// A fresh folder under the system's temporary directory, for one test's store or files.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `lt-${name}-`));
}
