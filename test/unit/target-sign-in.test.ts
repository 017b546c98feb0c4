import assert from 'node:assert/strict';
import { LoadGenerator } from '../../agents/load-generator';
import { planFor } from '../../agents/request-plan';
import { startTarget, type RunningTarget } from '../../target-server/target-server';
import type { TestConfigMessage } from '../../protocol/wire-protocol';

describe('lt-target’s sign-in journey', () => {
  let target: RunningTarget;
  before(async () => {
    target = await startTarget({ port: 0 });
  });
  after(() => target.close());

  it('a token from POST /signin opens GET /account for that user only; without one, or forged, it is 401', async () => {
    const signin = await fetch(`${target.url}/signin`, { method: 'POST', body: JSON.stringify({ user: 'ann' }) });
    assert.equal(signin.status, 200);
    const { token } = (await signin.json()) as { token: string };
    const account = await fetch(`${target.url}/account`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual([account.status, await account.json()], [200, { user: 'ann' }]);
    assert.equal((await fetch(`${target.url}/account`)).status, 401);
    assert.equal((await fetch(`${target.url}/account`, { headers: { authorization: `Bearer bob.${token.split('.')[1]}` } })).status, 401, 'ann’s signature on bob');
    assert.equal((await fetch(`${target.url}/signin`, { method: 'POST', body: '{"user": "no spaces allowed"}' })).status, 400);
  });

  it('a scenario signs each data row’s user in and reads its account with the captured token', async () => {
    const config: TestConfigMessage = {
      test_id: 't',
      test_type: 'AVALANCHE',
      test_message_delay: 0,
      message_count_per_driver: 12,
      concurrency: 3,
      data: { mode: 'cycle', columns: ['user'], rows: [['ann'], ['bob'], ['cy']] },
      scenario: {
        steps: [
          { name: 'signin', url: `${target.url}/signin`, method: 'POST', body: '{"user": "{user}"}', capture: { token: '$.token' }, check: { status: 200 } },
          { name: 'account', url: `${target.url}/account`, headers: { authorization: 'Bearer {token}' }, check: { status: 200, json: { '$.user': '{user}' } } },
        ],
      },
    };
    const generator = new LoadGenerator(planFor(config, target.url, {}, 'd1'));
    await generator.start();
    const s = generator.recorder.snapshot();
    assert.deepEqual(s.errors, {});
    assert.deepEqual([s.per_request!.signin.responses, s.per_request!.account.responses, s.iterations!.completed], [12, 12, 12]);
  });
});
