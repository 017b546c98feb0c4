// Kafka as production clusters run it: a broker with one SASL_SSL listener, a certificate signed
// by an authority of its own and SCRAM users (npm run kafka:start -- --security sasl_ssl), and the
// product's commands reaching it through their --kafka-* flags or LT_KAFKA_* variables.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { securedKafka, uniquePrefix } from '../support/kafka-fixture';
import { runBin, spawnBin, startAgent, startTargetProcess, tempDir } from '../support/processes';

describe('Kafka over SASL_SSL', function () {
  let kafka: string;
  let caFile: string;
  let passwordFile: string;
  let password: string;
  let prefix: string;
  const flags = (mechanism: string) => ['--kafka', kafka, '--kafka-ca', caFile, '--kafka-sasl', mechanism, '--kafka-user', 'loadtest', '--kafka-password-file', passwordFile];

  before(async function () {
    this.timeout(240_000);
    const secured = await securedKafka();
    kafka = secured.bootstrap;
    caFile = secured.credentials.caFile;
    passwordFile = secured.credentials.passwordFile;
    password = (secured.credentials.clientSecurity.sasl as { password: string }).password;
  });

  beforeEach(() => {
    prefix = uniquePrefix('sasl');
  });

  it('runs a whole test with agents signed in by SCRAM-SHA-256 and SCRAM-SHA-512 and an orchestrator by SCRAM-SHA-512', async () => {
    const target = await startTargetProcess();
    // One agent configured by flags, the other by environment variables, as a service unit would.
    await startAgent('sasl-flags', { kafka, prefix, orchestrator: 'sasl-cli', extraArgs: flags('scram-sha-512').slice(2) });
    const byEnv = await startAgent('sasl-env', {
      kafka,
      prefix,
      orchestrator: 'sasl-cli',
      env: { LT_KAFKA_CA: caFile, LT_KAFKA_SASL: 'scram-sha-256', LT_KAFKA_USER: 'loadtest', LT_KAFKA_PASSWORD: password },
    });
    assert.match(byEnv.output(), /over SASL_SSL \(SCRAM-SHA-256 as loadtest\)/);
    const file = join(tempDir('sasl-file'), 'sasl.loadtest.json');
    writeFileSync(file, JSON.stringify({ test_type: 'AVALANCHE', message_count_per_driver: 500, concurrency: 4, target: `${target.url}/ping`, drivers: 2 }));
    const r = await runBin('lt-orchestrator', ['run', file, ...flags('scram-sha-512'), '--topic-prefix', prefix, '--id', 'sasl-cli', '--store', tempDir('sasl-store'), '--quiet']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /sasl-flags\s+complete\s+500\s+500\s+0/);
    assert.match(r.stdout, /sasl-env\s+complete\s+500\s+500\s+0/);
    assert.match(r.stdout, /Result: PASSED: 1,000 of 1,000 requests/);
    assert.equal((await target.counters()).requests_sent, 1000, 'the target received every request of the test');
  });

  it('PLAIN over TLS signs in too, and the drivers list says so', async () => {
    const agent = await startAgent('sasl-plain', { kafka, prefix, extraArgs: flags('plain').slice(2) });
    assert.match(agent.output(), /over SASL_SSL \(PLAIN as loadtest\)/);
    const r = await runBin('lt-orchestrator', ['drivers', ...flags('plain'), '--topic-prefix', prefix]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sasl-plain\s+\S+\s+alive/);
  });

  describe('a client the cluster refuses says why and exits 2, instead of waiting forever', () => {
    it('a wrong password', async () => {
      const wrong = join(tempDir('sasl-wrong'), 'password');
      writeFileSync(wrong, 'not-the-password\n');
      const agent = spawnBin('lt-agent', ['--id', 'sasl-wrong', '--kafka', kafka, '--kafka-ca', caFile, '--kafka-sasl', 'scram-sha-512', '--kafka-user', 'loadtest', '--kafka-password-file', wrong, '--topic-prefix', prefix]);
      assert.equal(await agent.exited, 2);
      assert.match(agent.output(), /lt-agent: Kafka at \S+ over SASL_SSL \(SCRAM-SHA-512 as loadtest\) refused this client: .*authentication failed.*invalid credentials/i);
    });

    it('a broker certificate no trusted authority signed (TLS without the CA)', async () => {
      const r = await runBin('lt-orchestrator', ['drivers', '--kafka', kafka, '--kafka-tls', '--kafka-sasl', 'scram-sha-512', '--kafka-user', 'loadtest', '--kafka-password-file', passwordFile]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refused this client: TLS: the broker's certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/);
    });

    it('plaintext to a TLS listener', async () => {
      const r = await runBin('lt-orchestrator', ['drivers', '--kafka', kafka]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /cannot reach Kafka at \S+ over PLAINTEXT: .*\(if its listener is SSL or SASL_SSL, connect with TLS\)/);
    });
  });

  it('an orchestrator that lacks drivers tells how to start one on this cluster, without the password', async () => {
    const file = join(tempDir('sasl-file'), 'lonely.loadtest.json');
    writeFileSync(file, JSON.stringify({ test_type: 'AVALANCHE', message_count_per_driver: 10, target: 'http://127.0.0.1:9/ping', drivers: 1 }));
    const r = await runBin('lt-orchestrator', ['run', file, ...flags('scram-sha-256'), '--topic-prefix', prefix, '--wait', '1', '--store', tempDir('sasl-store')]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`lt-agent --kafka ${kafka} --kafka-ca ${caFile} --kafka-sasl scram-sha-256 --kafka-user loadtest --kafka-password-file PASSWORD_FILE`), r.stderr);
    assert.ok(!r.stderr.includes(password), 'the password is never printed');
  });

});
