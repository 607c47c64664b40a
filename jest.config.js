/** Tests talk to the real PostgreSQL + PostGIS and Redis (see test/global-setup.ts). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // stream-json 3, stream-chain 4 and content-disposition (of @fastify/static) are ES modules: Jest on Node 20 cannot require() them untransformed.
    '/node_modules/(stream-json|stream-chain|cookie|content-disposition)/.+\\.js$': [
      'ts-jest',
      { diagnostics: false, tsconfig: { allowJs: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(stream-json|stream-chain|cookie|content-disposition)/)'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
