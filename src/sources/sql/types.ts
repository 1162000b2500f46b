/** A problem a plugin's `problems()` hook reports, located by its key. */
export interface KeyProblem {
  key: string;
  message: string;
}
