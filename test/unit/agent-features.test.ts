import assert from 'node:assert/strict';
import { controlRefusal, neededFeatures, notPickedReason } from '../../orchestrator/stages/agent-features';

describe('agent features: which drivers a test can use', () => {
  it('flat tests by count, and flat TSUNAMI by duration, need nothing beyond the spec', () => {
    assert.deepEqual(neededFeatures({ test_type: 'AVALANCHE' }), []);
    assert.deepEqual(neededFeatures({ test_type: 'TSUNAMI', duration_s: 30 }), []);
  });

  it('AVALANCHE by duration needs duration; stages need stages', () => {
    assert.deepEqual(neededFeatures({ test_type: 'AVALANCHE', duration_s: 30 }), ['duration']);
    assert.deepEqual(neededFeatures({ test_type: 'TSUNAMI', stages: [{ duration_s: 1, target_rate: 1 }] }), ['stages']);
  });

  it('a spec-only driver is not picked for stages, and the reason says so', () => {
    assert.equal(notPickedReason({ node_id: 'd3' }, ['stages']), 'Not picked: d3 speaks only the spec; a test with stages needs lt-agent');
    assert.equal(notPickedReason({ node_id: 'd3', features: ['duration', 'stages', 'control'] }, ['stages']), undefined);
    assert.equal(notPickedReason({ node_id: 'd3' }, []), undefined);
  });

  it('a driver announcing other features names what it lacks', () => {
    assert.match(notPickedReason({ node_id: 'd4', features: ['duration'] }, ['stages'])!, /^Not picked: d4 announces duration but not stages; a test with stages needs/);
  });

  it('control is refused when any participant lacks it, naming them', () => {
    assert.equal(controlRefusal([{ node_id: 'a', features: ['control'] }]), undefined);
    assert.match(controlRefusal([{ node_id: 'a', features: ['control'] }, { node_id: 'b' }])!, /^b does not announce 'control'/);
  });
});
