/**
 * Username/password for channels that log in (smtp, prometheus, elasticsearch), written once.
 * The original's files have both shapes: `credentials: { username, password }` and flat
 * `username` / `password`; either is accepted, not both.
 */
import { z } from 'zod';
import { secret } from '../config/fields.js';
import { lazySchema } from '../plugin.js';

export const LoginCredentials = lazySchema(() =>
  z
    .strictObject({
      username: z.string().min(1).describe('User name.'),
      password: secret('Password.').optional(),
    })
    .describe('Login as { "username": ..., "password": ... } (the original tool\'s shape).'),
);

/** Spread into a plugin schema, inside its builder: `credentials`, `username`, `password`. */
export const loginFields = lazySchema(() => ({
  credentials: LoginCredentials().optional(),
  username: z.string().min(1).optional().describe('User name (flat form of credentials.username).'),
  password: secret('Password (flat form of credentials.password).').optional(),
}));

export interface Login {
  username: string;
  password: string;
}

interface LoginOptions {
  credentials?: { username: string; password?: string } | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** Problems for `problems()`: both shapes given, or half a login. */
export function loginProblems(options: LoginOptions): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  if (options.credentials && (options.username !== undefined || options.password !== undefined)) {
    problems.push({ key: 'credentials', message: 'give either credentials { username, password } or username/password, not both' });
  }
  const login = options.credentials ?? { username: options.username, password: options.password };
  if (login.username && login.password === undefined) problems.push({ key: options.credentials ? 'credentials.password' : 'password', message: 'required when a username is given' });
  if (!login.username && login.password !== undefined) problems.push({ key: 'username', message: 'required when a password is given' });
  return problems;
}

/** The login to use, or undefined for none. */
export function loginOf(options: LoginOptions): Login | undefined {
  const username = options.credentials?.username ?? options.username;
  const password = options.credentials?.password ?? options.password;
  if (!username || password === undefined) return undefined;
  return { username, password };
}
