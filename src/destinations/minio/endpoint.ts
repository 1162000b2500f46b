/** The minio destination's `endpoint` read as host and port (the plugin's checks and its instance use it). */

/** `host`, `host:port` or `[v6]:port`, without a scheme. */
export function parseEndpoint(endpoint: string): { host: string; port?: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:/\s[\]]+)(?::(\d{1,5}))?$/.exec(endpoint.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
