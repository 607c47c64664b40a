/**
 * The fault-injection suite (`npm run test:faults`, run by .ci/run after `npm test`): its own
 * PostgreSQL cluster and redis-server (test/faults/global-setup.ts), killed and restarted by the
 * tests, so the files run one at a time.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config reusing the main one
const { projects } = require('./jest.config.js');
// The transforms of the integration project, without its test list and global setup.
const { displayName: _name, testPathIgnorePatterns: _ignore, ...base } = projects.find((p) => p.displayName === 'integration');
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/faults/**/*.fault.ts'],
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/global-teardown.ts',
  testTimeout: 300000,
  maxWorkers: 1,
};
