/**
 * Two projects. `unit` (test/unit/): pure modules — decoding, CSV, ZIP, codes, editions, settings —
 * with no PostgreSQL and no Redis (`npm run test:unit`). `integration` (every other test file):
 * the real PostgreSQL + PostGIS and Redis, each file on its own copy of a template database built
 * once by test/global-setup.ts. `npm test` (and plain `jest`) runs both.
 */
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // stream-json 3, stream-chain 4 and content-disposition (of @fastify/static) are ES modules: Jest on Node 20 cannot require() them untransformed.
    // @fastify/cookie (of the console's @fastify/secure-session) loads cookie 2 with import(), which Jest's CommonJS runtime refuses: made a require().
    '/node_modules/(stream-json|stream-chain|cookie|content-disposition|@fastify/cookie)/.+\\.js$': [
      'ts-jest',
      { diagnostics: false, tsconfig: { allowJs: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(stream-json|stream-chain|cookie|content-disposition|@fastify/cookie)/)'],
};

module.exports = {
  testTimeout: 120000,
  maxWorkers: 2,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};
