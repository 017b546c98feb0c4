// What every view says of the connection to Kafka (status bar, drivers tree, dashboard header):
// one wording, computed once, imported by the extension host and by the page alike.
import type { ConnectionSummary } from './dashboard-protocol';

/** A moment as the viewer's clock shows it ("3:12:05 AM"). */
export const clockTime = (epochMs: number): string => new Date(epochMs).toLocaleTimeString();

export interface ConnectionText {
  /** a few words for a status line */
  short: string;
  /** what it means and what happens next, for a tooltip or a title */
  detail: string;
  /** whether this is a problem to show (anything but connected) */
  problem: boolean;
}

export function connectionText(c: ConnectionSummary): ConnectionText {
  const brokers = c.brokers.join(',');
  switch (c.status) {
    case 'connected':
      return { short: `Kafka ${brokers}`, detail: `Connected to Kafka at ${brokers} since ${clockTime(c.since)}.`, problem: false };
    case 'unreachable':
      return {
        short: `Kafka unreachable since ${clockTime(c.since)}`,
        detail: `Kafka at ${brokers} has not answered since ${clockTime(c.since)}. No driver is judged lost meanwhile; the connection comes back by itself when the broker answers.`,
        problem: true,
      };
    case 'refused':
      return {
        short: 'Kafka refused this client',
        detail: `${c.lastError ?? `Kafka at ${brokers} refused this client`}. Not retried until the Kafka settings or the password change.`,
        problem: true,
      };
    case 'connecting':
      return {
        short: `Not connected to Kafka at ${brokers}`,
        detail: `Waiting for Kafka at ${brokers}${c.lastError ? ` (${c.lastError})` : ''}; it connects by itself once the broker answers.`,
        problem: true,
      };
    case 'stopped':
      return { short: 'Not connected to Kafka', detail: 'The connection to Kafka is closed.', problem: true };
  }
}
