import assert from 'node:assert/strict';
import { COMMAND_WINDOW_MS, CommandVerifier, signCommand } from '../../protocol/command-signature';
import { encodeTrigger, parseTrigger } from '../../protocol/wire-protocol';

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
