/**
 * Tags backup-runner puts on what it creates in a cloud account, so that a run recognises
 * its own resources (temporary instances to clean up, snapshots to prune) and never touches
 * anything else. Azure tag names allow ":" as well, so the same names serve there.
 */
export const TAG_TEMPORARY = 'backup-runner:temporary';
export const TAG_SOURCE = 'backup-runner:source';
export const TAG_HOST = 'backup-runner:host';
export const TAG_JOB = 'backup-runner:job';
