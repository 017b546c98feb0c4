import assert from 'node:assert/strict';
import { COMMAND_WINDOW_MS, CommandVerifier, DriverMessageVerifier, signCommand, signDriverMessage } from '../../protocol/command-signature';
import { encodeHeartbeat, encodeMetrics, encodeRegister, encodeTrigger, parseHeartbeat, parseMetrics, parseTrigger } from '../../protocol/wire-protocol';

const SECRET = 'a-shared-secret-of-some-length';
const NOW = 1_800_000_000_000;
const trigger = encodeTrigger({ test_id: 't1', trigger: 'YES', orchestrator: 'o' });

describe('signed commands', () => {
  it('a signed command verifies, and a spec-only reader still reads it', () => {
    const signed = signCommand('trigger', trigger, SECRET, NOW);
    assert.equal(new CommandVerifier(SECRET).check('trigger', signed, NOW + 1000), undefined);
    const parsed = parseTrigger(signed);
    assert.ok(parsed.ok && parsed.message.trigger === 'YES' && parsed.message.test_id === 't1');
  });

  it('refuses unsigned, altered, another secret’s, another kind’s, stale and replayed commands, saying which', () => {
    const verifier = new CommandVerifier(SECRET);
    const signed = signCommand('trigger', trigger, SECRET, NOW);
    assert.equal(verifier.check('trigger', trigger, NOW), 'unsigned');
    assert.match(verifier.check('trigger', signed.replace('"t1"', '"t2"'), NOW)!, /bad signature/);
    assert.match(verifier.check('trigger', signCommand('trigger', trigger, 'another-secret-entirely!', NOW), NOW)!, /bad signature/);
    assert.match(verifier.check('stop', signed, NOW)!, /bad signature/, 'a trigger cannot be replayed as a stop');
    assert.match(verifier.check('trigger', signed, NOW + COMMAND_WINDOW_MS + 1)!, /^stale: issued 60 s ago/);
    assert.equal(verifier.check('trigger', signed, NOW), undefined);
    assert.match(verifier.check('trigger', signed, NOW + 5)!, /^replayed/);
  });

  it('the signature covers the content whatever the order of its fields', () => {
    const signed = JSON.parse(signCommand('test_config', JSON.stringify({ test_id: 't', a: 1, nested: { z: 1, y: [1, { b: 2, a: 1 }] } }), SECRET, NOW));
    const reordered = JSON.stringify({ nested: { y: [1, { a: 1, b: 2 }], z: 1 }, auth: signed.auth, a: 1, test_id: 't' });
    assert.equal(new CommandVerifier(SECRET).check('test_config', reordered, NOW), undefined);
  });
});

describe('signed reports, heartbeats and registrations', () => {
  const final = encodeMetrics({ node_id: 'd1', test_id: 't1', report_id: 't1:d1:5', metrics: null, test_status: 'complete', requests_sent: 100 });
  const heartbeat = encodeHeartbeat({ node_id: 'd1', heartbeat: 'YES', timestamp: NOW, state: 'running', test_id: 't1' });
  const register = encodeRegister({ node_id: 'd1', node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' });

  it('a signed report verifies, and stays a spec report: its metrics object holds the spec’s four fields only', () => {
    const signed = signDriverMessage('metrics', final, SECRET, NOW);
    assert.equal(new DriverMessageVerifier(SECRET).check('metrics', 'd1', signed, NOW + 1000), undefined);
    const parsed = parseMetrics(signed);
    assert.ok(parsed.ok && parsed.message.test_status === 'complete' && parsed.message.requests_sent === 100);
    assert.deepEqual(Object.keys(JSON.parse(signed).metrics).sort(), ['max_latency', 'mean_latency', 'median_latency', 'min_latency']);
    assert.ok(parseHeartbeat(signDriverMessage('heartbeat', heartbeat, SECRET, NOW)).ok);
  });

  it('a forged final report is dropped: altered, another secret’s, another kind’s, or a malformed signature', () => {
    const verifier = new DriverMessageVerifier(SECRET);
    const signed = signDriverMessage('metrics', final, SECRET, NOW);
    const forgeries = [
      signed.replace('"requests_sent":100', '"requests_sent":1'),
      signed.replace('"t1"', '"t2"'),
      signDriverMessage('metrics', final, 'another-secret-entirely!', NOW),
      signDriverMessage('heartbeat', final, SECRET, NOW),
      JSON.stringify({ ...JSON.parse(final), auth: { issued_at: NOW, nonce: 'n', hmac: 'AAAA' } }),
      JSON.stringify({ ...JSON.parse(final), auth: 'yes' }),
    ];
    for (const forged of forgeries) assert.equal(verifier.check('metrics', 'd1', forged, NOW)?.drop, 'forged', forged.slice(0, 80));
  });

  it('once a driver has signed, an unsigned message in its name is dropped; a driver that never signed is heard as before', () => {
    const verifier = new DriverMessageVerifier(SECRET);
    assert.equal(verifier.check('heartbeat', 'd1', heartbeat, NOW), undefined, 'not known to sign yet (another implementation, or no secret)');
    assert.equal(verifier.check('heartbeat', 'd1', signDriverMessage('heartbeat', heartbeat, SECRET, NOW), NOW), undefined);
    assert.ok(verifier.signs('d1'));
    assert.deepEqual(verifier.check('metrics', 'd1', final, NOW), { drop: 'unsigned', why: 'unsigned, from d1, which signs its messages' });
    assert.equal(verifier.check('metrics', 'theirs', final.replace(/d1/g, 'theirs'), NOW), undefined, 'a spec-only driver keeps working');
  });

  it('told to require signatures, every unsigned message is dropped', () => {
    const verifier = new DriverMessageVerifier(SECRET, { requireSigned: true });
    assert.equal(verifier.check('heartbeat', 'theirs', heartbeat, NOW)?.drop, 'unsigned');
    assert.equal(verifier.check('register', 'theirs', register, NOW)?.drop, 'unsigned');
  });

  it('a heartbeat must be fresh and new; a registration new, and as old as the broker says; a report is not judged by age', () => {
    const verifier = new DriverMessageVerifier(SECRET);
    const beat = signDriverMessage('heartbeat', heartbeat, SECRET, NOW);
    assert.equal(verifier.check('heartbeat', 'd1', beat, NOW + COMMAND_WINDOW_MS + 1)?.drop, 'stale');
    assert.equal(verifier.check('heartbeat', 'd1', beat, NOW + 10), undefined);
    assert.equal(verifier.check('heartbeat', 'd1', beat, NOW + 20)?.drop, 'replayed', 'a replayed heartbeat would keep a dead driver alive');
    const registration = signDriverMessage('register', register, SECRET, NOW);
    assert.equal(verifier.check('register', 'd1', registration, NOW + 3_600_000, NOW), undefined, 'from the topic’s history: old, but as old as its timestamp');
    assert.equal(verifier.check('register', 'd1', registration, NOW + 3_600_000, NOW + 1000)?.drop, 'replayed', 'republished at once');
    assert.equal(verifier.check('register', 'd1', registration, NOW + 3_600_000, NOW + 3_600_000)?.drop, 'stale', 'republished later: it would make the driver look restarted');
    const report = signDriverMessage('metrics', final, SECRET, NOW);
    assert.equal(verifier.check('metrics', 'd1', report, NOW + 3_600_000), undefined, 'a resumed test reads its reports again');
  });
});
