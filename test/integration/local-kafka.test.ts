import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../common/free-port';
import { BrokerStartCancelled, startBroker } from '../../kafka-broker/local-kafka';
import { tempDir } from '../support/temp-dir';

describe('the local broker launcher (what the extension runs in its host)', () => {
  it('starts without blocking the event loop, and cancelling it stops the JVM it started', async () => {
    const stateDir = tempDir('launcher-state');
    const controller = new AbortController();
    // A timer that keeps ticking proves the host stays responsive: Maven and Kafka's storage
    // tool take seconds each, and a synchronous child process would stop every tick meanwhile.
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 20);
    const progress: string[] = [];
    try {
      const started = startBroker({
        port: await freePort(),
        advertisedHost: '127.0.0.1',
        listenHost: '127.0.0.1',
        fresh: true,
        stateDir,
        signal: controller.signal,
        onProgress: (line) => {
          progress.push(line);
          // Cancel once the JVM is on its way: the hardest moment to leave nothing behind.
          if (line.startsWith('Starting Kafka')) setTimeout(() => controller.abort(), 300);
        },
      });
      await assert.rejects(started, BrokerStartCancelled);
    } finally {
      clearInterval(ticker);
    }
    assert.ok(progress.some((l) => l.startsWith('Starting Kafka')), `progress said: ${progress.join(' | ')}`);
    assert.ok(longestGap < 1000, `the event loop stalled for ${Math.round(longestGap)} ms during the start`);
    assert.equal(existsSync(join(stateDir, 'broker.pid')), false, 'no pid file is left');
    // The JVM's command line names this state folder's config: no such process may be left.
    const running = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(stateDir) && l.includes('kafka.Kafka'));
    assert.deepEqual(running, [], 'the JVM was stopped');
  });

  it('a start cancelled before it began starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const stateDir = tempDir('launcher-cancelled');
    await assert.rejects(
      startBroker({ port: await freePort(), advertisedHost: '127.0.0.1', listenHost: '127.0.0.1', fresh: true, stateDir, signal: controller.signal }),
      BrokerStartCancelled,
    );
    assert.equal(existsSync(join(stateDir, 'broker.pid')), false);
  });
});
