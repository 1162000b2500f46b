import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers (sshd, smbd, databases) are started per file; two cores on CI. The suite is
    // CPU-bound there (its CLI runs, gpg, zstd, servers keep both cores busy about 85% of its
    // wall time): a third worker measured slower and starved time-bounded tests.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
