/**
 * The azure-managed-disk source's instance: the Azure calls that snapshot the disk and prune, and
 * the JSON record. Loaded only when a job uses the source (index.ts declares it).
 */
import { Readable } from 'node:stream';
import type { ComputeManagementClient, Snapshot } from '@azure/arm-compute';
import { safeCause } from '../../lib/sdk-errors.js';
import { SourceError } from '../../errors.js';
import { formatTimestamp } from '../../lib/timestamp.js';
import { TAG_HOST, TAG_SOURCE } from '../aws/tags.js';
import type { Artifact, Source, SourceContext, SourceOptions } from '../types.js';
import { azureCredential, tlsOptionsFor } from './credential.js';
import type { AzureManagedDiskOptions } from './schema.js';

export const TAG_DISK = 'backup-runner:disk';

/** Azure snapshot names: 1-80 of letters, digits, _ . -; a letter or digit first; a letter, digit or _ last. */
export function snapshotName(diskName: string, sourceId: string, now: Date): string {
  const stamp = formatTimestamp(now);
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-');
  const tail = `-${clean(sourceId)}-${stamp}`.slice(-(80 - 1));
  const head = clean(diskName).replace(/^[^A-Za-z0-9]+/, '').slice(0, 80 - tail.length);
  return `${head || 'disk'}${tail}`.slice(0, 80);
}

interface AzureErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  errorResponse?: { error?: string; errorDescription?: string };
}

function describeAzureError(doing: string, error: unknown, credentialKind: string): string {
  const e = (error ?? {}) as AzureErrorShape;
  const first = (e.message ?? String(error)).split('\n')[0]!.slice(0, 400);
  if (e.name === 'CredentialUnavailableError' || e.name === 'AggregateAuthenticationError') {
    return `${doing} failed: no usable Azure credentials (${first}): set TENANT_ID, CLIENT_ID and CLIENT_KEY (a service principal, as the original), or configure the Azure credential chain`;
  }
  if (e.name === 'AuthenticationError' || e.name === 'AuthenticationRequiredError') {
    // MSAL's text: "invalid_client: Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: Invalid client secret provided. …"
    const code = e.errorResponse?.error ?? /^(\w+): Error\(s\)/.exec(first)?.[1];
    const description = e.errorResponse?.errorDescription ?? /Description: (AADSTS\d+: [^.]*\.)/.exec(first)?.[1];
    const reason = code && description ? `${code}: ${description.split('\n')[0]}` : first;
    return `${doing} failed: Microsoft Entra ID refused ${credentialKind} (${reason}): check tenant, client id and secret`;
  }
  if (e.statusCode === 401) return `${doing} failed: Azure rejected the access token of ${credentialKind} (${e.code ?? 401}: ${first})`;
  if (e.statusCode === 403) {
    return `${doing} failed: ${credentialKind} lacks permission (${e.code ?? 403}: ${first}): grant the role described in the source's README`;
  }
  if (/long-running operation has failed/.test(first)) return `${doing} failed: Azure reports the operation failed (${first.replace(/^.*has failed\.\s*/, '')})`;
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT') return `${doing} failed: cannot reach Azure (${e.code})`;
  return `${doing} failed: ${e.code ?? e.name ?? 'error'}${e.statusCode ? ` (HTTP ${e.statusCode})` : ''}: ${first}`;
}

function isNotFound(error: unknown): boolean {
  return (error as AzureErrorShape)?.statusCode === 404;
}

interface SnapshotRecord {
  id?: string;
  name?: string;
  time_created?: string;
  provisioning_state?: string;
  disk_size_gb?: number;
  incremental?: boolean;
}

function recordOf(s: Snapshot): SnapshotRecord {
  return { id: s.id, name: s.name, time_created: s.timeCreated?.toISOString(), provisioning_state: s.provisioningState, disk_size_gb: s.diskSizeGB, incremental: s.incremental };
}

export function create(o: SourceOptions<ReturnType<typeof AzureManagedDiskOptions>>): Source {
  let session: { client: ComputeManagementClient; kind: string } | undefined;
  const connect = async () => {
    if (!session) {
      const { ComputeManagementClient } = await import('@azure/arm-compute');
      const { credential, kind } = await azureCredential(o);
      const tlsOptions = tlsOptionsFor(o);
      const client = new ComputeManagementClient(credential, o.subscription_id, {
        ...(o.endpoint ? { endpoint: o.endpoint, credentials: { scopes: [`${new URL(o.endpoint).origin}/.default`] } } : {}),
        ...(tlsOptions ? { tlsOptions } : {}),
      });
      session = { client, kind };
    }
    return session;
  };
  const fail = (doing: string, error: unknown) =>
    error instanceof SourceError ? error : new SourceError(describeAzureError(doing, error, session?.kind ?? 'the credential'), { plugin: o.id, cause: safeCause(error) });

  async function sourceDisk(client: ComputeManagementClient, signal: AbortSignal) {
    try {
      return await client.disks.get(o.source_resource_group, o.disk_name, { abortSignal: signal });
    } catch (error) {
      if (isNotFound(error)) {
        throw new SourceError(`managed disk ${o.disk_name} not found in resource group ${o.source_resource_group} of subscription ${o.subscription_id}`, { plugin: o.id });
      }
      throw fail(`reading disk ${o.disk_name}`, error);
    }
  }

  return {
    async check(ctx: SourceContext): Promise<void> {
      const { client } = await connect();
      const disk = await sourceDisk(client, ctx.signal);
      ctx.logger.info(`source ${o.id}: disk ${disk.id} (${disk.location}, ${disk.diskSizeGB ?? '?'} GB) is reachable`);
    },
    async *open(ctx: SourceContext): AsyncIterable<Artifact> {
      const { client } = await connect();
      const log = ctx.logger;
      const disk = await sourceDisk(client, ctx.signal);
      if (!disk.id || !disk.location) throw new SourceError(`Azure returned disk ${o.disk_name} without id or location`, { plugin: o.id });
      const started = new Date();
      const name = snapshotName(o.disk_name, o.id, started);
      log.info(`creating snapshot ${name} of disk ${disk.id} in ${o.destination_resource_group}`);
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(o.timeout * 1000)]);
      let made: Snapshot;
      try {
        const poller = client.snapshots.createOrUpdate(
          o.destination_resource_group,
          name,
          {
            location: disk.location,
            creationData: { createOption: 'Copy', sourceResourceId: disk.id },
            incremental: o.incremental ?? false,
            tags: { [TAG_SOURCE]: o.id, [TAG_HOST]: ctx.job.hostname, [TAG_DISK]: disk.id },
          },
          { abortSignal: signal },
        );
        made = await poller.pollUntilDone({ abortSignal: signal });
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (signal.aborted) throw new SourceError(`snapshot ${name} was not ready after ${o.timeout} s (Azure goes on creating it); raise timeout if this is normal`, { plugin: o.id });
        throw fail(`creating snapshot ${name} in ${o.destination_resource_group}`, error);
      }
      log.info(`snapshot ${made.id ?? name} ${made.provisioningState ?? 'created'}`);

      const warnings: string[] = [];
      const deleted: SnapshotRecord[] = [];
      if (o.retain_snapshots !== undefined) {
        try {
          const ours: Snapshot[] = [];
          for await (const s of client.snapshots.listByResourceGroup(o.destination_resource_group, { abortSignal: ctx.signal })) {
            // Never a snapshot we did not make: our tag and this disk as its source, both.
            if (s.tags?.[TAG_SOURCE] !== o.id) continue;
            if (s.creationData?.sourceResourceId?.toLowerCase() !== disk.id.toLowerCase()) continue;
            ours.push(s);
          }
          ours.sort((a, b) => (b.timeCreated?.getTime() ?? 0) - (a.timeCreated?.getTime() ?? 0));
          for (const old of ours.slice(o.retain_snapshots)) {
            if (!old.name || old.name === made.name) continue;
            if (old.provisioningState && !['Succeeded', 'Failed'].includes(old.provisioningState)) {
              log.info(`keeping snapshot ${old.name} beyond retain_snapshots: it is ${old.provisioningState}`);
              continue;
            }
            try {
              await client.snapshots.delete(o.destination_resource_group, old.name, { abortSignal: ctx.signal }).pollUntilDone({ abortSignal: ctx.signal });
              log.info(`deleted snapshot ${old.name} (${old.timeCreated?.toISOString()}), beyond retain_snapshots ${o.retain_snapshots}`);
              deleted.push(recordOf(old));
            } catch (error) {
              if (isNotFound(error)) continue;
              const message = `could not delete old snapshot ${old.name}: ${fail('deleting', error).message}`;
              warnings.push(message);
              log.warn(message);
            }
          }
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          const message = `pruning snapshots in ${o.destination_resource_group} failed: ${fail('listing snapshots', error).message}`;
          warnings.push(message);
          log.warn(message);
        }
      }
      const record = {
        source: o.id,
        type: 'azure-managed-disk',
        hostname: ctx.job.hostname,
        subscription_id: o.subscription_id,
        disk: { id: disk.id, name: disk.name, location: disk.location, disk_size_gb: disk.diskSizeGB },
        created_at: started.toISOString(),
        snapshot: recordOf(made),
        retain_snapshots: o.retain_snapshots ?? null,
        deleted_snapshots: deleted,
      };
      yield { name: `${o.id}.json`, stream: Readable.from([Buffer.from(`${JSON.stringify(record, null, 2)}\n`)]), done: Promise.resolve(), warnings };
    },
  };
}
