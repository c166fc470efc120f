// Unit tests need nothing running; integration tests talk to the real PostgreSQL, Redis,
// RabbitMQ and Kafka that `npm run infra:up` provides.
/** @type {import('jest').Config['transform']} */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2023',
      },
      module: { type: 'commonjs' },
    },
  ],
};
/** Workspace packages resolve to their sources, so tests never run against a stale build. */
const moduleNameMapper = {
  '^@weft/runtime/telemetry$': '<rootDir>/libs/runtime/src/telemetry.ts',
  '^@weft/(contracts|definitions|secrets|egress|runtime|persistence|messaging|worker)$':
    '<rootDir>/libs/$1/src/index.ts',
  '^@weft/(gateway|workflow|integration|ai)$': '<rootDir>/apps/$1/src/index.ts',
};
const common = { transform, moduleNameMapper, testEnvironment: 'node', rootDir: __dirname };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.spec.ts', '<rootDir>/tests/**/*.spec.ts'],
      testPathIgnorePatterns: ['\\.int\\.spec\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/{apps,libs}/*/test/**/*.int.spec.ts',
        '<rootDir>/tests/**/*.int.spec.ts',
      ],
    },
  ],
  // Jest reads the timeout from the root config only, not from a project's.
  testTimeout: 60_000,
};
