import assert from 'node:assert/strict';
import { clockTime, connectionText } from '../../extension/webview/connection-text';

describe('what the status bar, the drivers tree and the dashboard say of Kafka', () => {
  const since = Date.UTC(2026, 10, 21, 12, 3, 4);
  const brokers = ['127.0.0.1:9092'];

  it('connected: the brokers, no problem', () => {
    const text = connectionText({ status: 'connected', brokers, since });
    assert.equal(text.short, 'Kafka 127.0.0.1:9092');
    assert.equal(text.problem, false);
  });

  it('unreachable: says so with the time the broker was last heard, and that no driver is judged meanwhile', () => {
    const text = connectionText({ status: 'unreachable', brokers, since });
    assert.equal(text.short, `Kafka unreachable since ${clockTime(since)}`);
    assert.match(text.short, /since \d{1,2}:\d{2}:\d{2}/);
    assert.match(text.detail, /No driver is judged lost meanwhile/);
    assert.equal(text.problem, true);
  });

  it('refused: says why and that it is not retried until the settings change', () => {
    const text = connectionText({ status: 'refused', brokers, since, lastError: 'Kafka at 127.0.0.1:9092 over SASL_SSL refused this client: SASL authentication failed' });
    assert.equal(text.short, 'Kafka refused this client');
    assert.match(text.detail, /SASL authentication failed\. Not retried until the Kafka settings or the password change/);
  });

  it('connecting: waiting for the broker, with the last error', () => {
    const text = connectionText({ status: 'connecting', brokers, since, lastError: 'cannot reach Kafka' });
    assert.equal(text.short, 'Not connected to Kafka at 127.0.0.1:9092');
    assert.match(text.detail, /\(cannot reach Kafka\); it connects by itself/);
  });
});
