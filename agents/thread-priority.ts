// The load's worker threads give way to the agent's main thread. At full speed a worker never
// sleeps, so N agents with a worker per core keep every core busy; the main thread, which only
// wakes to heartbeat, report and read commands, then waits behind them for a time slice, and so
// does every other process on the machine (the orchestrator reading those heartbeats, the broker
// carrying them). A heartbeat that waits three seconds makes a busy driver look lost. A higher
// nice value for the load's threads only changes who runs first when the cores are contended:
// on idle cores the workers run as fast as before.
import { getPriority, setPriority } from 'node:os';

/** The nice value of a load worker thread (the main thread keeps its own, normally 0). */
export const LOAD_THREAD_NICE = 10;

/**
 * Lowers the calling thread's priority to `nice`. Only on Linux, where the nice value belongs to
 * a thread (man 2 setpriority, "BUGS"): elsewhere it is the whole process's, and lowering it would
 * starve the main thread with its workers. Returns the thread's nice value afterwards, or
 * undefined where it was left alone or could not be changed.
 */
export function lowerThisThreadPriority(nice = LOAD_THREAD_NICE): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // pid 0 is the calling thread on Linux; raising a nice value needs no privilege.
    if (getPriority(0) < nice) setPriority(0, nice);
    return getPriority(0);
  } catch {
    return undefined;
  }
}
