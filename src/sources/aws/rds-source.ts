/**
 * The Source both RDS snapshot plugins are: leftovers of crashed runs removed, newest
 * automated snapshot restored to a temporary instance, waited for, dumped by the engine's
 * dump code (src/sources/sql/), and the instance deleted on every path.
 */
import { SourceError, describeError } from '../../errors.js';
import { secretFilesPerDir, type SecretFiles } from '../sql/secret-files.js';
import type { Artifact, Source, SourceContext } from '../types.js';
import { RdsTemporaryInstances, type RdsEndpoint, type RdsInstanceSettings } from './rds-instance.js';

export interface RdsDumpSpec {
  /** RDS engine names this plugin can dump (DBSnapshot.Engine). */
  engines: readonly string[];
  /** What to tell the operator when the engine is another one. */
  otherEngineHint: (engine: string) => string;
  /** The dump of the restored instance. */
  dump(endpoint: RdsEndpoint, ctx: SourceContext, files: SecretFiles): AsyncIterable<Artifact>;
}

export function createRdsDumpSource(settings: RdsInstanceSettings, spec: RdsDumpSpec): Source {
  const filesFor = secretFilesPerDir();
  let session: RdsTemporaryInstances | undefined;
  let removal: { error?: unknown } | undefined;

  const connect = async (ctx: SourceContext) => {
    session ??= await RdsTemporaryInstances.connect(settings, { hostname: ctx.job.hostname, job: ctx.job.name }, ctx.logger);
    return session;
  };
  const checkEngine = (engine: string | undefined) => {
    if (engine && !spec.engines.includes(engine)) {
      throw new SourceError(`RDS instance ${settings.instancename} runs ${engine}: ${spec.otherEngineHint(engine)}`, { plugin: settings.id });
    }
  };
  const remove = async (rds: RdsTemporaryInstances, ctx: SourceContext) => {
    try {
      await rds.removePending(ctx.signal.aborted);
      removal = {};
    } catch (error) {
      removal = { error };
      ctx.logger.error(describeError(error));
    }
  };

  return {
    async check(ctx: SourceContext): Promise<void> {
      const rds = await connect(ctx);
      const live = await rds.describeSource(ctx.signal);
      checkEngine(live.Engine);
      const snapshot = await rds.newestAutomatedSnapshot(ctx.signal);
      ctx.logger.info(`source ${settings.id}: newest automated snapshot of ${settings.instancename} is ${snapshot.DBSnapshotIdentifier} (${snapshot.SnapshotCreateTime?.toISOString()})`);
    },
    async *open(ctx: SourceContext): AsyncIterable<Artifact> {
      const rds = await connect(ctx);
      try {
        await rds.removeLeftovers(ctx.signal);
        const snapshot = await rds.newestAutomatedSnapshot(ctx.signal);
        checkEngine(snapshot.Engine);
        await rds.restore(snapshot, new Date(), ctx.signal);
        const endpoint = await rds.waitAvailable(ctx.signal);
        yield* spec.dump(endpoint, ctx, filesFor(ctx));
      } finally {
        // At once, not at cleanup: the instance is billed by the hour.
        await remove(rds, ctx);
      }
    },
    async cleanup(ctx: SourceContext): Promise<void> {
      await filesFor(ctx).removeAll();
      if (!session) return;
      try {
        // Normally done when the dump ended; here when open() never got that far.
        if (session.pending && !removal) await remove(session, ctx);
        if (session.pending && removal?.error) throw removal.error;
      } finally {
        session.destroy();
        session = undefined;
      }
    },
  };
}
