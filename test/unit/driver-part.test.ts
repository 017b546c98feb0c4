import assert from 'node:assert/strict';
import { endingOf, IDLE_GRACE_MS, isOver, nextPart, shownState, START_GRACE_MS, WAITING, type Part, type PartEvent } from '../../orchestrator/driver-part';

const TRIGGER = 1_000_000;
const ctx = (now = TRIGGER + 1000) => ({ nodeId: 'd1', now, triggeredAt: TRIGGER, lostGraceMs: 15_000 });
/** The part after each event in turn, all at the same time unless an event says when. */
function after(part: Part, ...events: (PartEvent | [PartEvent, number])[]): Part {
  for (const e of events) part = Array.isArray(e) ? nextPart(part, e[0], ctx(e[1])) : nextPart(part, e, ctx());
  return part;
}
const RUNNING: Part = { state: 'running' };

describe('a driver’s part in a test (one state, one transition function)', () => {
  describe('reports', () => {
    it('a first report moves a waiting part to running; a final report completes any part', () => {
      assert.equal(after(WAITING, { on: 'report' }).state, 'running');
      for (const from of [WAITING, RUNNING, after(RUNNING, { on: 'lost', reason: 'x' }), after(RUNNING, { on: 'deadline', reason: 'late' })]) {
        const done = after(from, { on: 'final_report' });
        assert.equal(done.state, 'complete');
        assert.equal(endingOf(done), undefined, 'a final report settles a part judged lost or timed out before it arrived');
        assert.ok(isOver(done));
      }
    });

    it('a final report marked stopped that nobody asked for ends the part as left', () => {
      const part = after(RUNNING, { on: 'shut_down_early' });
      assert.equal(part.state, 'left');
      assert.match(endingOf(part)!.reason, /the agent was shut down/);
    });

    it('a refusal ends the part as refused, with the driver’s reason', () => {
      const part = after(WAITING, { on: 'refused', reason: 'refused the test: target not allowed' });
      assert.deepEqual([part.state, endingOf(part)!.reason], ['refused', 'refused the test: target not allowed']);
    });

    it('a late periodic report does not cancel the grace of a part winding down, nor revive an ended part', () => {
      const winding = after(RUNNING, { on: 'heartbeat_idle', leaving: false });
      assert.equal(after(winding, { on: 'report' }), winding);
      const left = after(WAITING, { on: 'refused', reason: 'no' });
      assert.equal(after(left, { on: 'report' }), left);
    });
  });

  describe('silence', () => {
    it('a lost part is waited for within its grace, comes back running (or waiting), and is over once the grace passed', () => {
      const lost = after(RUNNING, { on: 'lost', reason: 'no heartbeat for 3 s' });
      assert.deepEqual([lost.state, shownState(lost), isOver(lost)], ['lost', 'lost', false]);
      assert.equal(after(lost, { on: 'alive' }).state, 'running');
      assert.equal(after(after(WAITING, { on: 'lost', reason: 'x' }), { on: 'alive' }).state, 'waiting');
      assert.equal(isOver(after(lost, [{ on: 'clock' }, TRIGGER + 1000 + 15_000])), false, 'not yet at the grace itself');
      const gone = after(lost, [{ on: 'clock' }, TRIGGER + 1000 + 15_001]);
      assert.ok(isOver(gone));
      assert.equal(endingOf(gone)!.reason, 'no heartbeat for 3 s; not back within 15 s');
      assert.equal(after(gone, { on: 'report' }).state, 'running', 'a report still brings it back while the test runs');
    });

    it('a part that said it is going is not judged lost: its shorter idle grace decides', () => {
      const winding = after(RUNNING, [{ on: 'heartbeat_idle', leaving: true }, TRIGGER]);
      assert.equal(after(winding, { on: 'lost', reason: 'x' }), winding);
      assert.equal(after(winding, [{ on: 'clock' }, TRIGGER + IDLE_GRACE_MS]).state, 'winding_down');
      const left = after(winding, [{ on: 'clock' }, TRIGGER + IDLE_GRACE_MS + 1]);
      assert.deepEqual([left.state, endingOf(left)!.reason], ['left', 'it shut down without a final report reaching the orchestrator']);
    });

    it('a driver that sends no status completes when quiet after it reported, not before it started', () => {
      assert.equal(after(RUNNING, { on: 'quiet' }).state, 'complete');
      assert.equal(after(WAITING, { on: 'quiet' }), WAITING);
    });

    it('the deadline times out every part not over, and leaves the others', () => {
      assert.equal(after(RUNNING, { on: 'deadline', reason: 'no final report by the deadline' }).state, 'timed_out');
      const lostForGood = after(RUNNING, { on: 'lost', reason: 'x' }, [{ on: 'clock' }, TRIGGER + 60_000]);
      assert.equal(after(lostForGood, { on: 'deadline', reason: 'late' }), lostForGood);
      const done = after(RUNNING, { on: 'final_report' });
      assert.equal(after(done, { on: 'deadline', reason: 'late' }), done);
    });
  });

  describe('heartbeats', () => {
    it('one naming this test means the driver took it; one that winds down goes back to running', () => {
      assert.equal(after(WAITING, { on: 'heartbeat_this_test' }).state, 'running');
      assert.equal(after(RUNNING, { on: 'heartbeat_idle', leaving: false }, { on: 'heartbeat_this_test' }).state, 'running');
    });

    it('idle or another test before the driver started: a grace for the trigger on its way, then left', () => {
      const early = TRIGGER + START_GRACE_MS;
      assert.equal(after(WAITING, [{ on: 'heartbeat_idle', leaving: false }, early]), WAITING);
      assert.equal(after(WAITING, [{ on: 'heartbeat_other_test', testId: 't0' }, early]), WAITING);
      const idle = after(WAITING, [{ on: 'heartbeat_idle', leaving: false }, early + 1]);
      assert.deepEqual([idle.state, endingOf(idle)!.reason], ['left', 'it heartbeats idle and never started the test (busy, or the config did not reach it)']);
      const busy = after(WAITING, [{ on: 'heartbeat_other_test', testId: 't0' }, early + 1]);
      assert.deepEqual([busy.state, endingOf(busy)!.reason], ['left', 'it is running another test, t0']);
    });

    it('idle or another test after it ran: winding down (shown as running) while its final report is on its way', () => {
      const idle = after(RUNNING, { on: 'heartbeat_idle', leaving: false });
      assert.deepEqual([idle.state, shownState(idle)], ['winding_down', 'running']);
      const moved = after(RUNNING, { on: 'heartbeat_other_test', testId: 't2' });
      assert.equal(moved.state === 'winding_down' && moved.wentOff, 'went on to another test, t2,');
      const thenShutDown = after(idle, { on: 'heartbeat_idle', leaving: true });
      assert.equal(thenShutDown.state === 'winding_down' && thenShutDown.wentOff, 'shut down', 'a goodbye says more than idle');
    });
  });

  describe('the registry’s verdicts', () => {
    it('a restart ends any part not over; a duplicate ends every part for good, whatever arrives later', () => {
      assert.equal(after(RUNNING, { on: 'restarted', reason: 'it registered again' }).state, 'restarted');
      const done = after(RUNNING, { on: 'final_report' });
      assert.equal(after(done, { on: 'restarted', reason: 'x' }), done);
      const duplicate = after(done, { on: 'duplicate', reason: 'two agents run as d1' });
      assert.equal(duplicate.state, 'duplicate');
      assert.match(endingOf(duplicate)!.reason, /^two agents run as d1: its figures mix both agents' and cannot be counted$/);
      for (const e of [{ on: 'final_report' }, { on: 'report' }, { on: 'alive' }, { on: 'deadline', reason: 'x' }] as PartEvent[]) assert.equal(after(duplicate, e), duplicate);
    });
  });
});
