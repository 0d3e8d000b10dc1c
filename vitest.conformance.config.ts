import { defineConfig } from 'vitest/config';

// Conformance over the public corpus in ../shared/corpus (not part of `npm test`, which must pass without it).
export default defineConfig({
  test: {
    include: ['test/conformance/**/*.conformance.ts'],
    testTimeout: 600_000,
    pool: 'forks',
  },
});
