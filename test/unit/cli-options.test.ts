import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { maxWorkers, WORKERS_PER_CORE } from '../../agents/threaded-load';
import { commandArguments, parseNumberOption, parsePortOption, UsageError } from '../../common/cli-options';
import { parseBrokerList } from '../../protocol/kafka-bus';

const usage = (run: () => unknown, message: RegExp) => assert.throws(run, (e: unknown) => e instanceof UsageError && message.test(e.message));

describe('number flags', () => {
  it('a number past its maximum is a usage error that states the range and why', () => {
    assert.equal(parseNumberOption('workers', '8', { min: 1, max: 8, integer: true }), 8);
    usage(() => parseNumberOption('workers', '9', { min: 1, max: 8, integer: true, maxReason: '4 × 2 cores' }), /^--workers must be a whole number from 1 to 8 \(4 × 2 cores\), got "9"$/);
    usage(() => parseNumberOption('wait', '-1', { min: 0 }), /^--wait must be a number of at least 0, got "-1"$/);
  });
});

describe('port flags', () => {
  it('a port is 0 to 65535: above is refused, naming the flag', () => {
    assert.equal(parsePortOption('port', '0'), 0);
    assert.equal(parsePortOption('port', '65535'), 65535);
    assert.equal(parsePortOption('port', undefined), undefined);
    usage(() => parsePortOption('port', '65536'), /^--port must be a whole number from 0 to 65535, got "65536"$/);
    usage(() => parsePortOption('metrics-port', '99999'), /^--metrics-port must be a whole number from 0 to 65535/);
    usage(() => parsePortOption('base-port', '80', 1024), /^--base-port must be a whole number from 1024 to 65535/);
  });

  it('a Kafka address with a port past 65535 is refused', () => {
    assert.deepEqual(parseBrokerList('127.0.0.1:9092'), ['127.0.0.1:9092']);
    assert.throws(() => parseBrokerList('127.0.0.1:99999'), /port 99999 is not from 1 to 65535/);
    assert.throws(() => parseBrokerList('127.0.0.1:0'), /port 0 is not from 1 to 65535/);
  });
});

describe('subcommand arguments', () => {
  it('run takes one file: a second one is a usage error saying so', () => {
    assert.deepEqual(commandArguments('run', ['a.json'], ['FILE']), ['a.json']);
    assert.deepEqual(commandArguments('run', [], ['FILE']), [undefined]);
    usage(() => commandArguments('run', ['a.json', 'b.json'], ['FILE']), /^run takes only one FILE; got 2: a\.json b\.json$/);
  });

  it('a command that takes no arguments refuses any', () => {
    usage(() => commandArguments('serve', ['extra'], []), /^serve takes no arguments; got 1: extra$/);
  });
});

describe('lt-agent --workers bound', () => {
  it('is at most four per core', () => {
    assert.equal(WORKERS_PER_CORE, 4);
    assert.equal(maxWorkers(2), 8);
    assert.equal(maxWorkers(), 4 * availableParallelism());
  });
});
