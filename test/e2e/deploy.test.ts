/**
 * The deployment files: Prometheus alert rules checked and unit-tested with promtool, the
 * systemd units with systemd-analyze, the Kubernetes manifest and cron file for the settings
 * that keep runs single and bounded, the Dockerfile for the client programs.
 */
import { execFile } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_HELP } from '../../src/notifications/prometheus/metrics.js';
import { INSTALL_HINTS } from '../../src/lib/process.js';
import { describeWith, findBinary } from '../support/binaries.js';
import { makeTempDir } from '../support/tmp.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROMETHEUS = join(ROOT, 'deploy', 'prometheus');
const SYSTEMD = join(ROOT, 'deploy', 'systemd');

async function exec(file: string, args: string[], cwd?: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describeWith(['promtool'], 'deploy/prometheus alert rules', () => {
  it('pass promtool check rules', async () => {
    const result = await exec(findBinary('promtool')!, ['check', 'rules', 'backup-runner.rules.yml'], PROMETHEUS);
    expect(result.output).toContain('SUCCESS: 4 rules found');
    expect(result.code).toBe(0);
  });

  it('pass their unit tests (missing, failed, never succeeded, job failed)', async () => {
    const result = await exec(findBinary('promtool')!, ['test', 'rules', 'backup-runner.rules.test.yml'], PROMETHEUS);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('use only metrics the prometheus notification publishes', async () => {
    const rules = await readFile(join(PROMETHEUS, 'backup-runner.rules.yml'), 'utf8');
    const used = [...new Set(rules.match(/\bbackup_runner_[a-z_]+/g))];
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((m) => !(m in METRIC_HELP))).toEqual([]);
    expect(used).toContain('backup_runner_last_success_timestamp_seconds');
  });
});

describeWith(['systemd-analyze'], 'deploy/systemd units', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.remove());

  it('verify cleanly as instances (the only complaint: backup is not installed here)', async () => {
    const units: string[] = [];
    for (const template of ['backup-runner@.service', 'backup-runner@.timer', 'backup-runner-check@.service', 'backup-runner-check@.timer']) {
      const instance = template.replace('@.', '@nightly.');
      await copyFile(join(SYSTEMD, template), join(tmp.path, instance));
      units.push(join(tmp.path, instance));
    }
    const result = await exec(findBinary('systemd-analyze')!, ['verify', '--man=no', ...units], tmp.path);
    const complaints = result.output
      .split('\n')
      .filter((l) => l.trim() && !/Command \/usr\/local\/bin\/backup is not executable/.test(l));
    expect(complaints).toEqual([]);
  });

  it('the service is hardened and bounded', async () => {
    const unit = await readFile(join(SYSTEMD, 'backup-runner@.service'), 'utf8');
    for (const line of ['User=backups', 'ProtectSystem=strict', 'PrivateTmp=true', 'NoNewPrivileges=true', 'TimeoutStartSec=12h', 'UMask=0077']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/backup run \/etc\/backup-runner\/%i\.json$/m);
  });
});

describe('deploy/kubernetes and deploy/cron', () => {
  it('the CronJob never runs twice at once, retries boundedly and reads the job file from a Secret', async () => {
    const docs = parseAllDocuments(await readFile(join(ROOT, 'deploy', 'kubernetes', 'cronjob.yaml'), 'utf8'));
    for (const d of docs) expect(d.errors).toEqual([]);
    const cron = docs.map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> }).find((d) => d.kind === 'CronJob')!;
    const spec = cron.spec as {
      concurrencyPolicy: string;
      jobTemplate: { spec: { backoffLimit: number; template: { spec: { containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] } } } };
    };
    expect(spec.concurrencyPolicy).toBe('Forbid');
    expect(spec.jobTemplate.spec.backoffLimit).toBeLessThanOrEqual(2);
    const pod = spec.jobTemplate.spec.template.spec;
    const [container] = pod.containers;
    expect(container!.args).toEqual(['run', '/etc/backup-runner/job.json']);
    const jobMount = container!.volumeMounts.find((m) => m.mountPath === '/etc/backup-runner')!;
    expect(pod.volumes.find((v) => v.name === jobMount.name)!.secret!.secretName).toBe('backup-runner-job');
  });

  it('the cron file runs every command as backups with absolute paths', async () => {
    const lines = (await readFile(join(ROOT, 'deploy', 'cron', 'backup-runner'), 'utf8')).split('\n').filter((l) => l.trim() && !l.startsWith('#') && !/^[A-Z]+=/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      expect(fields.slice(0, 5).every((f) => /^[\d*/,-]+$/.test(f))).toBe(true);
      expect(fields[5]).toBe('backups');
      expect(fields[6]).toBe('/usr/local/bin/backup');
    }
  });
});

describe('Dockerfile', () => {
  it('builds in a stage, installs production dependencies only, and ships the client programs', async () => {
    const text = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(text).toMatch(/^RUN npm run build$/m);
    expect(text).toContain('npm ci --omit=dev');
    const packages = /apt-get install -y --no-install-recommends([^&]+)&&/.exec(text)![1]!.split(/[\s\\]+/).filter(Boolean);
    for (const program of ['tar', 'zstd', 'gpg', 'mysqldump', 'pg_dump', 'ssh', 'smbclient']) {
      const hint = INSTALL_HINTS[program]!;
      expect(packages.some((p) => hint.includes(p))).toBe(true);
    }
  });
});
