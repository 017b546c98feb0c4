// Which features of ours a test needs of its drivers, and why a driver is not picked for it. A
// driver that speaks only the spec announces no features: it runs flat tests by count, and a flat
// TSUNAMI test by duration (sent as a count), but nothing whose load changes over time, and no scenario.
import type { AgentFeature } from '../../protocol/wire-protocol';
import type { LoadTestDefinition } from '../loadtest-definition';

/** The features a definition needs of every driver that takes part. */
export function neededFeatures(definition: Pick<LoadTestDefinition, 'test_type' | 'duration_s' | 'stages' | 'scenario'>): AgentFeature[] {
  const needed: AgentFeature[] = [];
  // A driver that knows no scenario would load its first step alone: a flat test, not the journey.
  if (definition.scenario) needed.push('scenario');
  if (definition.stages?.length) needed.push('stages');
  // A flat TSUNAMI test by duration goes as a count any driver runs; a closed model must know to stop on time.
  else if (definition.duration_s !== undefined && definition.test_type === 'AVALANCHE') needed.push('duration');
  return needed;
}

const WHAT_NEEDS: Record<AgentFeature, string> = {
  stages: 'a test with stages',
  duration: 'an AVALANCHE test by duration',
  control: 'live control (pause, resume, set)',
  scenario: 'a scenario (steps)',
};

/**
 * Why `driver` cannot take part when `needed` are needed, or undefined when it can.
 * e.g. "Not picked: d3 speaks only the spec; a test with stages needs lt-agent".
 */
export function notPickedReason(driver: { node_id: string; features?: readonly AgentFeature[] }, needed: readonly AgentFeature[]): string | undefined {
  const missing = needed.filter((f) => !driver.features?.includes(f));
  if (missing.length === 0) return undefined;
  const what = missing.map((f) => WHAT_NEEDS[f]).join(' and ');
  if (!driver.features?.length) return `Not picked: ${driver.node_id} speaks only the spec; ${what} needs lt-agent`;
  return `Not picked: ${driver.node_id} announces ${driver.features.join(', ')} but not ${missing.join(', ')}; ${what} needs an lt-agent that does`;
}

/** Why a running test cannot be controlled on these participants, or undefined when every one can. */
export function controlRefusal(participants: { node_id: string; features?: readonly AgentFeature[] }[]): string | undefined {
  const lacking = participants.filter((p) => !p.features?.includes('control')).map((p) => p.node_id);
  if (lacking.length === 0) return undefined;
  return `${lacking.join(', ')} ${lacking.length === 1 ? 'does' : 'do'} not announce 'control' (${lacking.length === 1 ? 'a driver' : 'drivers'} that speak only the spec, or an older lt-agent): ${WHAT_NEEDS.control} needs every participant to take it`;
}
