// Tells when the history on disk changes, whoever changed it: this window's orchestrator, an
// `lt-orchestrator run` in a terminal, `serve`, another window. A run shows as its folder
// (tests/ID, made when it starts, removed when it is deleted), its test.json and its result.json
// (written when it ends); a baseline as baselines.json. Node's own watcher (inotify on Linux), on
// the store's folder and, recursively, its tests: VS Code's file watcher was seen, under load, to
// deliver a file written by another process late or not at all, and a run that ended must show.
// No `vscode` here, so it is unit-tested on a real folder.
import { watch, type FSWatcher } from 'node:fs';
import { join, sep } from 'node:path';

/** What in the store a person sees change: a run's folder, its test.json or result.json, the baselines. */
export function isHistoryChange(relativeToTests: string): boolean {
  const parts = relativeToTests.split(sep);
  return parts.length === 1 || (parts.length === 2 && (parts[1] === 'result.json' || parts[1] === 'test.json'));
}

export class StoreWatcher {
  private readonly watchers: FSWatcher[] = [];

  /**
   * Throws when the folders cannot be watched (the caller falls back on another way). `onError`
   * hears a watcher that fails later (its folder removed, the system's watches used up); it stops.
   */
  constructor(storeDir: string, onChange: () => void, onError: (error: Error) => void) {
    try {
      this.watchers.push(
        watch(storeDir, (_event, name) => {
          if (name === 'baselines.json') onChange();
        }),
        watch(join(storeDir, 'tests'), { recursive: true }, (_event, name) => {
          if (name && isHistoryChange(name.toString())) onChange();
        }),
      );
    } catch (error) {
      this.dispose();
      throw error;
    }
    for (const w of this.watchers) {
      w.on('error', (error) => {
        w.close();
        onError(error);
      });
    }
  }

  dispose(): void {
    for (const w of this.watchers.splice(0)) w.close();
  }
}
