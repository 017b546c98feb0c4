// What a driver does with a live control of its running test: whether it can take it (and if
// not, a refusal that names the field, which the orchestrator shows and treats as the change
// refused as a whole), and the change to its own profile it makes: a rate is a total over the
// test's drivers, each taking its share as the stages do (plan-profile.ts).
import type { ProfileChange } from '../protocol/load-profile';
import { MAX_CONCURRENCY, MAX_TOTAL_RATE } from '../protocol/test-config-limits';
import type { ControlMessage, TestConfigMessage } from '../protocol/wire-protocol';
import { driverShareOf } from './plan-profile';

/**
 * How far ahead on the test's clock a change takes effect: time for every worker thread of the
 * driver to receive it, so that all cut their plans at the same moment.
 */
export const CONTROL_LEAD_MS = 20;

const number = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 3 });

/** Why this driver cannot take the control, or undefined when it can. */
export function controlRefusal(config: TestConfigMessage, control: ControlMessage, controllable: boolean): string | undefined {
  if (!controllable) return `${control.action}: this ${config.test_type} test has no schedule to change (no test_message_delay and no stages)`;
  if (control.action !== 'set') return undefined;
  const drivers = driverShareOf(config, '').of;
  if (config.test_type === 'TSUNAMI') {
    if (control.rate === undefined) return 'concurrency: a TSUNAMI test (an open model) is set by its rate, not its concurrency';
    if (control.rate > MAX_TOTAL_RATE) return `rate: ${number(control.rate)}/s is above the limit of ${number(MAX_TOTAL_RATE)}/s`;
    return undefined;
  }
  if (control.concurrency === undefined) return 'rate: an AVALANCHE test (a closed model) is set by its concurrency, not a rate';
  const most = MAX_CONCURRENCY * drivers;
  if (control.concurrency > most) return `concurrency: ${number(control.concurrency)} is above the limit of ${number(most)} (${number(MAX_CONCURRENCY)} per driver)`;
  return undefined;
}

/** The change to this driver's profile (a control it can take): its share of a rate, the total concurrency. */
export function changeOf(config: TestConfigMessage, control: ControlMessage, driver: string): ProfileChange {
  if (control.action === 'pause') return { action: 'pause', phase: control.phase };
  if (control.action === 'resume') return { action: 'resume', phase: control.phase };
  const value = config.test_type === 'TSUNAMI' ? control.rate! / driverShareOf(config, driver).of : control.concurrency!;
  return { action: 'set', value, phase: control.phase };
}
