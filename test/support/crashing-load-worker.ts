// A load worker that crashes on its first test, as a worker thread with a fatal bug would: it
// warms up and says it is ready like the real one (agents/load-worker.ts), then exits.
import { parentPort } from 'node:worker_threads';
import type { FromWorker } from '../../agents/load-worker';

parentPort!.on('message', () => process.exit(3));
parentPort!.postMessage({ type: 'ready' } satisfies FromWorker);
