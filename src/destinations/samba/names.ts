/** Which paths smbclient can take (the plugin's checks and its instance use it). */

/** A name smbclient's command parser passes through unchanged inside double quotes. */
export function unsafeNameProblem(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f"\\;*?<>|:]/.test(name)) return 'contains a character smbclient cannot pass (" \\ ; * ? < > | : or a control character)';
  if (name.startsWith('/') || name.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'has an empty, "." or ".." path segment';
  return undefined;
}
