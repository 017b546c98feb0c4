import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import {
  CAPACITY_DEFAULTS,
  capacityProblems,
  capacityTestDurationS,
  MAX_GROWTH,
  MAX_REFINE_STEPS,
  MAX_STEP_DURATION_S,
  maxCapacitySteps,
  MIN_STEP_DURATION_S,
  parseCapacityConfig,
  resolveCapacityConfig,
} from '../../orchestrator/capacity/capacity-config';
import { MAX_TOTAL_RATE } from '../../protocol/test-config-limits';
import capacitySchema from '../../schemas/capacity.schema.json';

const ROOT = join(__dirname, '..', '..', '..');

describe('the capacity block', () => {
  describe('capacityProblems names the field to fix', () => {
    const cases: [string, unknown, string][] = [
      ['growth at 1', { growth: 1 }, 'capacity.growth must be above 1 (each step offers this many times the previous rate)'],
      ['growth too large', { growth: 50 }, `capacity.growth must be at most ${MAX_GROWTH}`],
      ['a zero start rate', { start_rate: 0 }, 'capacity.start_rate must be above 0 (requests per second over all drivers)'],
      ['a rate as text', { max_rate: '5000' }, 'capacity.max_rate must be a number'],
      ['a rate beyond the bound', { max_rate: 2e7 }, 'capacity.max_rate must be at most 10,000,000'],
      ['max below start', { start_rate: 500, max_rate: 200 }, 'capacity.max_rate (200) must be at least capacity.start_rate (500)'],
      ['max below the default start', { max_rate: 50 }, 'capacity.max_rate (50) must be at least capacity.start_rate (100)'],
      ['a short step', { step_duration_s: 1 }, 'capacity.step_duration_s must be at least 2 (seconds per step)'],
      ['a fractional refine count', { refine_steps: 1.5 }, 'capacity.refine_steps must be a whole number, 0 or more'],
      ['too many refine steps', { refine_steps: 11 }, `capacity.refine_steps must be at most ${MAX_REFINE_STEPS}`],
      ['an unknown field', { grwoth: 2 }, 'capacity.grwoth is not a known field; known fields: start_rate, max_rate, step_duration_s, growth, refine_steps, slo'],
      ['a negative p99', { slo: { p99_latency_ms: -1 } }, 'capacity.slo.p99_latency_ms must be a number of milliseconds above 0'],
      ['an error rate above 1', { slo: { error_rate: 5 } }, 'capacity.slo.error_rate must be a fraction from 0 to 1'],
      ['an unknown SLO field', { slo: { p95_latency_ms: 100 } }, 'capacity.slo.p95_latency_ms is not a known field; known fields: p99_latency_ms, error_rate, server'],
      ['a server limit without bounds', { slo: { server: { cpu: {} } } }, 'capacity.slo.server.cpu needs "max" or "min"'],
      ['a server bound as text', { slo: { server: { cpu: { max: 'high' } } } }, 'capacity.slo.server.cpu.max must be a number'],
      ['a bad query name', { slo: { server: { CPU: { max: 1 } } } }, 'capacity.slo.server.CPU: a query name is lowercase letters, digits and _, starting with a letter (at most 40)'],
      ['an empty query', { slo: { server: { cpu: { max: 1, query: ' ' } } } }, 'capacity.slo.server.cpu.query must be a PromQL expression'],
      ['min above max', { slo: { server: { cpu: { max: 1, min: 2 } } } }, 'capacity.slo.server.cpu.min must not be above capacity.slo.server.cpu.max'],
    ];
    for (const [what, raw, text] of cases) {
      it(`${what}: "${text}"`, () => assert.deepEqual(capacityProblems(raw), [text]));
    }

    it('accepts a full block, and an empty one', () => {
      assert.deepEqual(capacityProblems({ start_rate: 100, max_rate: 50_000, step_duration_s: 10, growth: 1.5, refine_steps: 3, slo: { p99_latency_ms: 200, error_rate: 0.01, server: { cpu: { max: 0.8, query: 'avg(rate(cpu[5s]))' }, up: { min: 1, optional: true } } } }), []);
      assert.deepEqual(capacityProblems({}), []);
    });

    it('refuses what is not an object', () => {
      assert.match(capacityProblems(5)[0], /^capacity must be an object/);
      assert.match(capacityProblems({ slo: [] })[0], /^capacity\.slo must be an object/);
    });
  });

  it('fills in the defaults, written once', () => {
    assert.deepEqual(resolveCapacityConfig({ slo: { p99_latency_ms: 200 } }), {
      start_rate: CAPACITY_DEFAULTS.start_rate,
      max_rate: CAPACITY_DEFAULTS.max_rate,
      step_duration_s: CAPACITY_DEFAULTS.step_duration_s,
      growth: CAPACITY_DEFAULTS.growth,
      refine_steps: CAPACITY_DEFAULTS.refine_steps,
      slo: { p99_latency_ms: 200, error_rate: 0.01 },
    });
  });

  it('parses a block into a complete config, or refuses it with the problems as details', () => {
    assert.equal(parseCapacityConfig({ growth: 2 }).growth, 2);
    assert.throws(
      () => parseCapacityConfig({ growth: 1, refine_steps: -1 }),
      (e: { code: string; details: string[] }) => e.code === 'invalid' && e.details.length === 2 && e.details[0].startsWith('capacity.growth'),
    );
  });

  it('bounds the one test of a search by its most steps, with one step to spare', () => {
    const config = resolveCapacityConfig({ start_rate: 100, max_rate: 1000, growth: 2, refine_steps: 3, step_duration_s: 10 });
    assert.equal(maxCapacitySteps(config), 5 + 3); // 100 200 400 800 1000, then 3
    assert.equal(capacityTestDurationS(config), 90);
    assert.equal(maxCapacitySteps(resolveCapacityConfig({ start_rate: 100, max_rate: 100, refine_steps: 0 })), 1);
  });

  describe('schemas/capacity.schema.json', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(capacitySchema);

    it('states the same defaults and bounds as capacity-config.ts', () => {
      const p = capacitySchema.properties;
      assert.equal(p.start_rate.default, CAPACITY_DEFAULTS.start_rate);
      assert.equal(p.max_rate.default, CAPACITY_DEFAULTS.max_rate);
      assert.equal(p.step_duration_s.default, CAPACITY_DEFAULTS.step_duration_s);
      assert.equal(p.growth.default, CAPACITY_DEFAULTS.growth);
      assert.equal(p.refine_steps.default, CAPACITY_DEFAULTS.refine_steps);
      assert.equal(p.slo.properties.error_rate.default, CAPACITY_DEFAULTS.error_rate);
      assert.equal(p.start_rate.maximum, MAX_TOTAL_RATE);
      assert.equal(p.max_rate.maximum, MAX_TOTAL_RATE);
      assert.equal(p.step_duration_s.minimum, MIN_STEP_DURATION_S);
      assert.equal(p.step_duration_s.maximum, MAX_STEP_DURATION_S);
      assert.equal(p.growth.maximum, MAX_GROWTH);
      assert.equal(p.refine_steps.maximum, MAX_REFINE_STEPS);
    });

    it('agrees with capacityProblems on what is valid', () => {
      const blocks: unknown[] = [
        {},
        { growth: 1 },
        { growth: 1.01, refine_steps: 0 },
        { step_duration_s: 1 },
        { refine_steps: 2.5 },
        { start_rate: 0 },
        { slo: { server: { cpu: {} } } },
        { slo: { server: { cpu: { min: 1, query: 'up' } } } },
        { slo: { error_rate: 2 } },
        { bogus: 1 },
      ];
      for (const block of blocks) assert.equal(validate(block), capacityProblems(block).length === 0, JSON.stringify(block));
    });

    it('resolves as "$ref": "capacity.schema.json" from the load test schema once added to the validator', () => {
      const withRef = new Ajv({ allErrors: true, strict: false });
      withRef.addSchema(capacitySchema);
      const definition = withRef.compile({ type: 'object', properties: { capacity: { $ref: 'capacity.schema.json' } } });
      assert.equal(definition({ capacity: { growth: 2 } }), true);
      assert.equal(definition({ capacity: { growth: 1 } }), false);
    });

    it('holds the capacity block of examples/ping-capacity.loadtest.json', () => {
      const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'ping-capacity.loadtest.json'), 'utf8'));
      assert.equal(example.test_type, 'TSUNAMI');
      assert.equal(example.target.url, 'http://127.0.0.1:8080/ping');
      assert.equal(validate(example.capacity), true, JSON.stringify(validate.errors));
      assert.deepEqual(capacityProblems(example.capacity), []);
    });
  });
});
