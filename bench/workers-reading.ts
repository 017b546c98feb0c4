// What the workers section's figures say, written from the figures of the run it describes: per
// protocol, what a second worker thread did to the rate and to the cost of a request, how busy
// the agent, the target and the machine were, and which of them set the limit.

/** One agent's median run with one number of worker threads (the section's table row). */
export interface WorkersRun {
  protocol: string;
  workers: number;
  /** responses per second */
  rps: number;
  /** responses per agent CPU-second */
  perCpu: number;
  /** CPU seconds over wall seconds, each */
  agentCores: number;
  targetCores: number;
  machineCores: number;
  stealCores: number;
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const cores = (n: number) => n.toFixed(2);

function change(ratio: number): string {
  const percent = Math.round((ratio - 1) * 100);
  return percent === 0 ? 'unchanged' : `${percent > 0 ? '+' : '−'}${Math.abs(percent)}%`;
}

/** What limited each, by the figures alone: a thread that kept its core busy, or a machine nearly full. */
function limits(one: WorkersRun, two: WorkersRun, machineCores: number): string[] {
  const said: string[] = [];
  if (one.agentCores >= 0.85) said.push(`with one worker the driver was the limit (its thread kept ${cores(one.agentCores)} cores busy)`);
  if (two.machineCores >= 0.85 * machineCores) {
    // Whatever neither the agent nor the target was charged for: the kernel's network work, the broker, the orchestrator, anything else on the machine.
    const others = Math.max(0, two.machineCores - two.agentCores - two.targetCores);
    said.push(`with two the machine was ${two.machineCores >= 0.98 * machineCores ? 'full' : 'nearly full'} (${cores(two.machineCores)} of ${machineCores} cores busy, ${cores(others)} of them neither the agent’s nor the target’s), so a thread more could not give much more`);
  }
  else said.push(`with two the machine still had ${cores(machineCores - two.machineCores)} cores idle`);
  if (two.perCpu <= 0.9 * one.perCpu) said.push('each request cost the driver more CPU with two threads than with one');
  return said;
}

/** One sentence per protocol that has runs with both one and two workers. */
export function workersReading(runs: WorkersRun[], machineCores: number): string[] {
  const lines: string[] = [];
  for (const protocol of [...new Set(runs.map((r) => r.protocol))]) {
    const one = runs.find((r) => r.protocol === protocol && r.workers === 1);
    const two = runs.find((r) => r.protocol === protocol && r.workers === 2);
    if (!one || !two) continue;
    let line =
      `${protocol}: two worker threads against one, the rate ${change(two.rps / one.rps)} (${count(one.rps)} → ${count(two.rps)} req/s), ` +
      `requests per agent CPU-second ${change(two.perCpu / one.perCpu)} (${count(one.perCpu)} → ${count(two.perCpu)}); ` +
      `with two, the agent kept ${cores(two.agentCores)} cores busy and the target ${cores(two.targetCores)}. ` +
      `${capitalized(limits(one, two, machineCores).join('; '))}.`;
    const stolen = Math.max(one.stealCores, two.stealCores);
    if (stolen >= 0.05) line += ` The host took up to ${cores(stolen)} cores meanwhile, so these figures are low.`;
    lines.push(line);
  }
  return lines;
}
