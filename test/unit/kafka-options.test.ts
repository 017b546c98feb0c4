import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../common/cli-options';
import { describeSecurity } from '../../protocol/kafka-bus';
import { kafkaFlags, readKafkaOptions } from '../../protocol/kafka-options';
import { tempDir } from '../support/temp-dir';

describe('Kafka connection options (flags and environment)', () => {
  const passwordFile = () => {
    const file = join(tempDir('kafka-options'), 'password');
    writeFileSync(file, 's3cret-pass\n');
    return file;
  };

  it('without security flags the connection is PLAINTEXT', () => {
    const settings = readKafkaOptions({ kafka: 'a:9092,b:9093' }, {});
    assert.deepEqual(settings, { brokers: ['a:9092', 'b:9093'], security: undefined, warnings: [] });
    assert.equal(describeSecurity(settings.security), 'PLAINTEXT');
  });

  it('a CA file means TLS verified against it; the password comes from its file without the line end', () => {
    const settings = readKafkaOptions({ kafka: 'k:9093', 'kafka-ca': '/etc/ca.pem', 'kafka-sasl': 'SCRAM-SHA-512', 'kafka-user': 'alice', 'kafka-password-file': passwordFile() }, {});
    assert.deepEqual(settings.security, { tls: { caFile: '/etc/ca.pem', insecure: undefined }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 's3cret-pass' } });
    assert.equal(describeSecurity(settings.security), 'SASL_SSL (SCRAM-SHA-512 as alice)');
  });

  it('the password may come from LT_KAFKA_PASSWORD', () => {
    const settings = readKafkaOptions({ 'kafka-tls': true, 'kafka-sasl': 'scram-sha-256', 'kafka-user': 'bob' }, { LT_KAFKA_PASSWORD: 'from-env' });
    assert.equal(settings.security?.sasl?.password, 'from-env');
  });

  it('insecure TLS and PLAIN without TLS are allowed, with a warning each', () => {
    assert.match(readKafkaOptions({ 'kafka-tls-insecure': true }, {}).warnings.join('\n'), /not verified/);
    assert.match(readKafkaOptions({ 'kafka-sasl': 'plain', 'kafka-user': 'u' }, { LT_KAFKA_PASSWORD: 'p' }).warnings.join('\n'), /password unencrypted/);
  });

  for (const [what, options, env, message] of [
    ['an unknown mechanism', { 'kafka-sasl': 'gssapi', 'kafka-user': 'u' }, { LT_KAFKA_PASSWORD: 'p' }, /--kafka-sasl: "gssapi" is not a SASL mechanism .* plain, scram-sha-256, scram-sha-512/],
    ['a mechanism without a user', { 'kafka-sasl': 'plain' }, {}, /--kafka-sasl plain needs --kafka-user/],
    ['a mechanism without a password', { 'kafka-sasl': 'plain', 'kafka-user': 'u' }, {}, /needs a password: --kafka-password-file FILE or LT_KAFKA_PASSWORD/],
    ['a user without a mechanism', { 'kafka-user': 'u' }, {}, /--kafka-user is given without --kafka-sasl/],
    ['a CA and insecure together', { 'kafka-ca': 'ca.pem', 'kafka-tls-insecure': true }, {}, /contradict/],
    ['a password file that cannot be read', { 'kafka-sasl': 'plain', 'kafka-user': 'u', 'kafka-password-file': '/nonexistent/pw' }, {}, /--kafka-password-file: cannot read \/nonexistent\/pw/],
    ['a broker that is not HOST:PORT', { kafka: 'localhost' }, {}, /--kafka: "localhost" is not HOST:PORT/],
  ] as const) {
    it(`${what} is a usage error naming the flag`, () => {
      assert.throws(() => readKafkaOptions(options, env), (error: Error) => error instanceof UsageError && message.test(error.message));
    });
  }

  it('the flags for a hint reach the same cluster the same way and never carry the password', () => {
    const { brokers, security } = readKafkaOptions({ kafka: 'k:9093', 'kafka-ca': 'ca.pem', 'kafka-sasl': 'scram-sha-256', 'kafka-user': 'alice', 'kafka-password-file': passwordFile() }, {});
    const flags = kafkaFlags(brokers, security);
    assert.equal(flags, '--kafka k:9093 --kafka-ca ca.pem --kafka-sasl scram-sha-256 --kafka-user alice --kafka-password-file PASSWORD_FILE');
    assert.ok(!flags.includes('s3cret'));
  });
});
