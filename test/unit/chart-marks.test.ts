import assert from 'node:assert/strict';
import { labelRows } from '../../orchestrator/reports/chart-marks';

describe('the labels of the charts’ marks', () => {
  it('labels far enough apart share the first row', () => {
    assert.deepEqual(labelRows([{ x: 0, width: 40 }, { x: 50, width: 40 }, { x: 100, width: 40 }]), [0, 0, 0]);
  });

  it('a label that would cover the one before it goes a row lower, and back up once there is room', () => {
    // "pause" at 0, "resume" and "set 80" a second apart, then a stage far to the right.
    assert.deepEqual(labelRows([{ x: 0, width: 40 }, { x: 60, width: 45 }, { x: 80, width: 40 }, { x: 200, width: 40 }]), [0, 0, 1, 0]);
  });

  it('three changes at once take three rows', () => {
    assert.deepEqual(labelRows([{ x: 10, width: 30 }, { x: 10, width: 30 }, { x: 12, width: 30 }]), [0, 1, 2]);
  });
});
