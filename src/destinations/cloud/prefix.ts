/** Normalises a `prefix` option to "" or "a/b/" (no leading slash, one trailing slash). */
export function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}
