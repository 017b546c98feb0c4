import { stopKafkaFixture } from './kafka-fixture';
import { stopAllProcesses } from './processes';
import { stopPrometheusFixture } from './prometheus-fixture';

export const mochaHooks = {
  async afterEach(): Promise<void> {
    await stopAllProcesses();
  },
  async afterAll(): Promise<void> {
    await stopKafkaFixture();
    await stopPrometheusFixture();
  },
};
