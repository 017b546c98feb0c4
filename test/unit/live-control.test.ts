import assert from 'node:assert/strict';
import { OrchestratorError } from '../../orchestrator/orchestrator-error';
import { controlProblem, LiveControl } from '../../orchestrator/stages/live-control';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

describe('live control of a running test', () => {
  describe('what a change may be', () => {
    const tsunami = { testType: 'TSUNAMI' as const, drivers: 2, paused: false };
    const avalanche = { testType: 'AVALANCHE' as const, drivers: 2, paused: false };
    const problem = (request: Parameters<typeof controlProblem>[0], test: Parameters<typeof controlProblem>[1] = tsunami) => controlProblem(request, test);

    it('set takes rate on TSUNAMI and concurrency on AVALANCHE, and says which when given the other', () => {
      assert.equal(problem({ action: 'set', rate: 3000 }), undefined);
      assert.equal(problem({ action: 'set', concurrency: 64 }, avalanche), undefined);
      const wrong = problem({ action: 'set', concurrency: 64 })!;
      assert.equal(wrong.code, 'invalid');
      assert.match(wrong.message, /^concurrency: a TSUNAMI test \(open model: requests per second over all drivers\) takes "rate", not "concurrency"/);
      assert.match(problem({ action: 'set', rate: 10 }, avalanche)!.message, /^rate: an AVALANCHE test .* takes "concurrency", not "rate"/);
    });

    it('a set without its value, or out of bounds, is invalid and names the field', () => {
      assert.match(problem({ action: 'set' })!.message, /^rate: set on a TSUNAMI test .* needs "rate"/);
      assert.match(problem({ action: 'set', rate: -1 })!.message, /^rate: must be a number of at least 0/);
      assert.match(problem({ action: 'set', rate: 20_000_000 })!.message, /^rate: 20,000,000 is above the limit of 10,000,000/);
      assert.match(problem({ action: 'set', concurrency: 20_001 }, avalanche)!.message, /^concurrency: 20,001 is above the limit of 20,000 over 2 driver\(s\)/);
      assert.match(problem({ action: 'set', concurrency: 2.5 }, avalanche)!.message, /whole number/);
      assert.equal(problem({ action: 'jump' as never })!.code, 'invalid');
    });

    it('a paused test cannot be paused twice, nor a running one resumed', () => {
      const twice = problem({ action: 'pause' }, { ...tsunami, paused: true })!;
      assert.equal(twice.code, 'conflict');
      assert.match(twice.message, /already paused/);
      assert.equal(problem({ action: 'resume' })!.code, 'conflict');
      assert.equal(problem({ action: 'resume' }, { ...tsunami, paused: true }), undefined);
      assert.match(problem({ action: 'pause', rate: 3 })!.message, /pause takes no rate or concurrency/);
    });
  });

  describe('messages, phases and answers', () => {
    let participants: string[];
    let control: LiveControl;
    beforeEach(() => {
      participants = ['d1', 'd2'];
      control = new LiveControl({ testId: 't1', testType: 'TSUNAMI', participants: () => participants }, { id: 'orch', names: ['orch', '10.0.0.9'] });
    });
    const send = (request: Parameters<LiveControl['prepare']>[0], phase?: string, at = T0 + 12_000) => {
      const made = control.prepare(request, 'REST', at, T0, phase);
      control.commit(made.entry);
      return made;
    };

    it('each change has a unique control_id and a phase numbered per action, or the caller’s', () => {
      const a = send({ action: 'set', rate: 3000 });
      const b = send({ action: 'set', rate: 4000 });
      const p = send({ action: 'pause' });
      const r = send({ action: 'resume' }, 'step 3');
      assert.notEqual(a.message.control_id, b.message.control_id);
      assert.deepEqual([a, b, p, r].map((m) => m.message.phase), ['set 1', 'set 2', 'pause 1', 'step 3']);
      assert.deepEqual(a.message, { test_id: 't1', control_id: a.message.control_id, action: 'set', rate: 3000, phase: 'set 1', orchestrator: 'orch', orchestrator_names: ['orch', '10.0.0.9'] });
      assert.equal(a.entry.text, 'rate set to 3,000/s at 12:00:12 UTC by REST');
      assert.equal(a.entry.t, 12);
      assert.equal(p.entry.text, 'paused at 12:00:12 UTC by REST');
    });

    it('a change is applied once every participant answered applied_at', () => {
      const { entry } = send({ action: 'set', rate: 3000 });
      assert.deepEqual(control.onAnswers('d1', { [entry.control_id]: { applied_at: T0 + 12_100 } }), []);
      const outcomes = control.onAnswers('d2', { [entry.control_id]: { applied_at: T0 + 12_300 } });
      assert.equal(outcomes.length, 1);
      assert.equal(outcomes[0].outcome, 'applied');
      assert.equal(control.log()[0].applied_at, T0 + 12_300);
    });

    it('any refusal refuses the change as a whole, with the driver and its reason', () => {
      const { entry } = send({ action: 'set', rate: 3000 });
      control.onAnswers('d1', { [entry.control_id]: { applied_at: T0 + 12_100 } });
      const outcomes = control.onAnswers('d2', { [entry.control_id]: { refused: 'set with rate on an AVALANCHE test' } });
      assert.equal(outcomes[0].outcome, 'refused');
      assert.equal(control.log()[0].refused, 'd2: set with rate on an AVALANCHE test');
      assert.equal(control.log()[0].applied_at, undefined);
      assert.deepEqual(control.onAnswers('d2', { [entry.control_id]: { applied_at: 1 } }), [], 'decided once');
    });

    it('a refused pause leaves the test running, so it can be paused again', () => {
      const { entry } = send({ action: 'pause' });
      assert.equal(control.paused, true);
      control.onAnswers('d1', { [entry.control_id]: { refused: 'no' } });
      assert.equal(control.paused, false);
      assert.doesNotThrow(() => control.prepare({ action: 'pause' }, 'CLI', T0, T0));
    });

    it('a participant whose part ended no longer holds a change back', () => {
      const { entry } = send({ action: 'set', rate: 5 });
      control.onAnswers('d1', { [entry.control_id]: { applied_at: T0 + 1 } });
      participants = ['d1'];
      assert.equal(control.recheck()[0].outcome, 'applied');
    });

    it('prepare throws the OrchestratorError of the problem', () => {
      assert.throws(() => control.prepare({ action: 'resume' }, 'REST', T0, T0), (e) => e instanceof OrchestratorError && e.code === 'conflict');
    });
  });
});
