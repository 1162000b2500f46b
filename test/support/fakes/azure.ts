/**
 * Local fakes of Microsoft Entra ID (the v2.0 endpoints a confidential client uses) and of
 * Azure Resource Manager's Microsoft.Compute disks and snapshots, over HTTPS (the Azure SDK
 * sends bearer tokens over https only), written to the documentation:
 *
 * Entra ID ("Microsoft identity platform and the OAuth 2.0 client credentials flow", OpenID
 * Connect discovery): GET /{tenant}/v2.0/.well-known/openid-configuration, and POST
 * /{tenant}/oauth2/v2.0/token with grant_type=client_credentials, client_id, client_secret,
 * scope=<resource>/.default, answering {token_type: "Bearer", expires_in, access_token} or
 * 400/401 {error: "invalid_client" | "unauthorized_client", error_description: "AADSTS…", error_codes}.
 *
 * ARM (Compute REST API "Disks - Get", "Snapshots - Create Or Update | Get | Delete | List By
 * Resource Group", and "Track asynchronous Azure operations"): every request carries
 * api-version and `Authorization: Bearer`; resources are {id, name, type, location, tags, sku,
 * properties}; errors {error: {code, message}}; list pages {value, nextLink}. PUT and DELETE
 * of a snapshot answer 202 Accepted with Azure-AsyncOperation (a status monitor answering
 * {status: "InProgress" | "Succeeded" | "Failed", error?}) and Location (202 while running, then
 * 200), plus Retry-After; the status turns after `asyncPolls` reads.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestCertificates } from '../tls.js';
import { readBody, sendJson } from './http.js';

export interface FakeAzureOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptionId: string;
  /** Status monitor reads answered InProgress before the operation finishes. */
  asyncPolls?: number;
  /** New snapshots fail (the operation ends "Failed"). */
  failSnapshots?: boolean;
  /** Items per page of list answers. */
  pageSize?: number;
}

export interface FakeArmResource {
  id: string;
  name: string;
  type: string;
  location: string;
  tags?: Record<string, string>;
  sku?: { name: string; tier?: string };
  properties: Record<string, unknown>;
}

interface Operation {
  id: string;
  location: string;
  kind: 'create' | 'delete';
  resourceId: string;
  reads: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  started: Date;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

export class FakeAzure {
  readonly resources = new Map<string, FakeArmResource>();
  readonly operations = new Map<string, Operation>();
  /** "METHOD /path" of every request (no query string). */
  readonly calls: string[] = [];
  readonly tokenRequests: Record<string, string>[] = [];
  private readonly tokens = new Set<string>();
  private server?: Server;
  url = '';

  constructor(readonly options: FakeAzureOptions) {}

  resourceGroupId(rg: string): string {
    return `/subscriptions/${this.options.subscriptionId}/resourceGroups/${rg}`;
  }

  addDisk(rg: string, name: string, location: string, sizeGb: number): FakeArmResource {
    const disk: FakeArmResource = {
      id: `${this.resourceGroupId(rg)}/providers/Microsoft.Compute/disks/${name}`,
      name,
      type: 'Microsoft.Compute/disks',
      location,
      sku: { name: 'Premium_LRS', tier: 'Premium' },
      properties: {
        creationData: { createOption: 'Empty' },
        diskSizeGB: sizeGb,
        diskSizeBytes: sizeGb * 1024 ** 3,
        uniqueId: randomUUID(),
        provisioningState: 'Succeeded',
        diskState: 'Attached',
        timeCreated: new Date(Date.now() - 100 * 86_400_000).toISOString(),
      },
    };
    this.resources.set(disk.id.toLowerCase(), disk);
    return disk;
  }

  addSnapshot(rg: string, name: string, source: FakeArmResource, timeCreated: Date, tags?: Record<string, string>): FakeArmResource {
    const snapshot: FakeArmResource = {
      id: `${this.resourceGroupId(rg)}/providers/Microsoft.Compute/snapshots/${name}`,
      name,
      type: 'Microsoft.Compute/snapshots',
      location: source.location,
      tags,
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      properties: {
        creationData: { createOption: 'Copy', sourceResourceId: source.id, sourceUniqueId: source.properties.uniqueId },
        diskSizeGB: source.properties.diskSizeGB,
        timeCreated: timeCreated.toISOString(),
        provisioningState: 'Succeeded',
        incremental: false,
        uniqueId: randomUUID(),
        diskState: 'Unattached',
      },
    };
    this.resources.set(snapshot.id.toLowerCase(), snapshot);
    return snapshot;
  }

  snapshotsIn(rg: string): FakeArmResource[] {
    const prefix = `${this.resourceGroupId(rg)}/providers/Microsoft.Compute/snapshots/`.toLowerCase();
    return [...this.resources.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  }

  async start(certificates: TestCertificates): Promise<this> {
    this.server = createServer({ key: certificates.key, cert: certificates.cert }, (raw, res) => {
      readBody(raw)
        .then((body) => this.handle(raw, body, res))
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalServerError', message: `fake failed: ${(error as Error).message}` } });
          else res.destroy();
        });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private armError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    sendJson(res, status, { error: { code, message } }, { 'x-ms-request-id': randomUUID(), ...headers });
  }

  private handle(raw: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const url = new URL(raw.url ?? '/', this.url);
    const method = raw.method ?? 'GET';
    this.calls.push(`${method} ${url.pathname}`);
    let m: RegExpExecArray | null;

    // ---- Microsoft Entra ID ----
    if ((m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname)) && method === 'GET') {
      const tenant = m[1]!;
      if (tenant !== this.options.tenantId) return sendJson(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant}' not found.`, error_codes: [90002] });
      const base = `${this.url}/${tenant}`;
      return sendJson(res, 200, {
        issuer: `${base}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        jwks_uri: `${this.url}/${tenant}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
      });
    }
    if ((m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname)) && method === 'POST') {
      const form = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
      this.tokenRequests.push(form);
      if (m[1] !== this.options.tenantId) return sendJson(res, 400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${m[1]}' not found.`, error_codes: [90002] });
      if (form.grant_type !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: The app requested an unsupported grant type.', error_codes: [70003] });
      if (!form.scope?.endsWith('/.default')) return sendJson(res, 400, { error: 'invalid_scope', error_description: 'AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.', error_codes: [1002012] });
      if (form.client_id !== this.options.clientId) {
        return sendJson(res, 400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.client_id}' was not found in the directory.`, error_codes: [700016] });
      }
      if (form.client_secret !== this.options.clientSecret) {
        return sendJson(res, 401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${form.client_id}'.`, error_codes: [7000215] });
      }
      const token = randomBytes(24).toString('base64url');
      this.tokens.add(token);
      return sendJson(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
    }

    // ---- Azure Resource Manager ----
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion || !API_VERSION.test(apiVersion)) return this.armError(res, 400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    const auth = String(raw.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ')) {
      return this.armError(res, 401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", { 'www-authenticate': `Bearer authorization_uri="${this.url}/${this.options.tenantId}", error="invalid_token"` });
    }
    if (!this.tokens.has(auth.slice('Bearer '.length))) return this.armError(res, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    const sub = `/subscriptions/${this.options.subscriptionId}`;
    if (!url.pathname.toLowerCase().startsWith(sub.toLowerCase() + '/')) {
      return this.armError(res, 404, 'SubscriptionNotFound', `The subscription '${url.pathname.split('/')[2]}' could not be found.`);
    }

    if ((m = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/DiskOperations\/([^/]+)$/i.exec(url.pathname)) && method === 'GET') {
      const op = this.operations.get(m[2]!);
      if (!op) return this.armError(res, 404, 'NotFound', 'The operation was not found.');
      return this.operationStatus(op, url.searchParams.get('monitor') === 'true', res);
    }
    const rg = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(disks|snapshots)(?:\/([^/]+))?$/i.exec(url.pathname);
    if (!rg) return this.armError(res, 404, 'InvalidResourceType', `The resource type could not be found in the namespace for api version '${apiVersion}'.`);
    const [, group, kind, name] = rg as unknown as [string, string, string, string | undefined];
    const id = `${this.resourceGroupId(group)}/providers/Microsoft.Compute/${kind}${name ? `/${name}` : ''}`;
    const existing = name ? this.resources.get(id.toLowerCase()) : undefined;
    const notFound = () => this.armError(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/${kind}/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);

    if (!name && method === 'GET') return this.list(kind.toLowerCase(), group, url, res);
    if (method === 'GET') return existing ? sendJson(res, 200, existing) : notFound();
    if (kind.toLowerCase() !== 'snapshots') return this.armError(res, 405, 'MethodNotAllowed', 'The fake only changes snapshots.');
    if (method === 'PUT') return this.putSnapshot(id, group, name!, body, res);
    if (method === 'DELETE') {
      if (!existing) return sendJson(res, 204, {});
      return this.accept(res, this.newOperation('delete', existing.id, existing.location), 202);
    }
    return this.armError(res, 405, 'MethodNotAllowed', `${method} is not supported`);
  }

  private list(kind: string, group: string, url: URL, res: ServerResponse): void {
    const prefix = `${this.resourceGroupId(group)}/providers/Microsoft.Compute/${kind}/`.toLowerCase();
    const all = [...this.resources.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
    const size = this.options.pageSize ?? 100;
    const start = Number(url.searchParams.get('$skiptoken') ?? '0');
    const page = all.slice(start, start + size);
    const next = new URL(url.href);
    next.searchParams.set('$skiptoken', String(start + size));
    sendJson(res, 200, { value: page, ...(start + size < all.length ? { nextLink: next.href } : {}) });
  }

  private putSnapshot(id: string, group: string, name: string, body: Buffer, res: ServerResponse): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9]$/.test(name)) {
      return this.armError(res, 400, 'InvalidResourceName', `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`);
    }
    let request: { location?: string; tags?: Record<string, string>; properties?: { creationData?: { createOption?: string; sourceResourceId?: string }; incremental?: boolean } };
    try {
      request = JSON.parse(body.toString('utf8')) as typeof request;
    } catch {
      return this.armError(res, 400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
    }
    if (!request.location) return this.armError(res, 400, 'LocationRequired', 'The location property is required for this definition.');
    const creation = request.properties?.creationData;
    if (!creation?.createOption) return this.armError(res, 400, 'InvalidParameter', "Required parameter 'creationData.createOption' is missing (null).");
    const source = creation.sourceResourceId ? this.resources.get(creation.sourceResourceId.toLowerCase()) : undefined;
    if (creation.createOption === 'Copy' && !source) return this.armError(res, 404, 'NotFound', `Resource ${creation.sourceResourceId} is not found.`);
    if (source && source.location.toLowerCase() !== request.location.toLowerCase()) {
      return this.armError(res, 400, 'InvalidParameter', `The source resource is in location '${source.location}'; the snapshot must be created in the same location.`);
    }
    const snapshot = this.addSnapshot(group, name, source!, new Date(), request.tags);
    snapshot.properties.incremental = request.properties?.incremental ?? false;
    snapshot.properties.provisioningState = 'Creating';
    this.accept(res, this.newOperation('create', snapshot.id, snapshot.location), 202, snapshot);
  }

  private newOperation(kind: Operation['kind'], resourceId: string, location: string): Operation {
    const op: Operation = { id: randomUUID(), location: location.toLowerCase(), kind, resourceId, reads: 0, status: 'InProgress', started: new Date() };
    this.operations.set(op.id, op);
    return op;
  }

  private monitorUrl(op: Operation, location: boolean): string {
    return `${this.url}/subscriptions/${this.options.subscriptionId}/providers/Microsoft.Compute/locations/${op.location}/DiskOperations/${op.id}?${location ? 'monitor=true&' : ''}api-version=2025-01-02`;
  }

  private accept(res: ServerResponse, op: Operation, status: number, resource?: FakeArmResource): void {
    const headers = { 'azure-asyncoperation': this.monitorUrl(op, false), location: this.monitorUrl(op, true), 'retry-after': '1', 'x-ms-request-id': randomUUID() };
    if (resource) sendJson(res, status, resource, headers);
    else {
      res.writeHead(status, { ...headers, 'content-length': '0' });
      res.end();
    }
  }

  /** Time passes one status read at a time. */
  private advance(op: Operation): void {
    op.reads++;
    if (op.status !== 'InProgress' || op.reads <= (this.options.asyncPolls ?? 1)) return;
    const resource = this.resources.get(op.resourceId.toLowerCase());
    if (op.kind === 'delete') {
      this.resources.delete(op.resourceId.toLowerCase());
      op.status = 'Succeeded';
    } else if (this.options.failSnapshots) {
      if (resource) resource.properties.provisioningState = 'Failed';
      op.status = 'Failed';
    } else {
      if (resource) resource.properties.provisioningState = 'Succeeded';
      op.status = 'Succeeded';
    }
  }

  private operationStatus(op: Operation, asLocation: boolean, res: ServerResponse): void {
    this.advance(op);
    if (asLocation) {
      if (op.status === 'InProgress') return this.accept(res, op, 202);
      if (op.status === 'Failed') return this.armError(res, 500, 'InternalOperationError', 'The snapshot could not be created.');
      const resource = this.resources.get(op.resourceId.toLowerCase());
      return resource && op.kind === 'create' ? sendJson(res, 200, resource) : (res.writeHead(200, { 'content-length': '0' }), void res.end());
    }
    const body: Record<string, unknown> = { name: op.id, status: op.status, startTime: op.started.toISOString() };
    if (op.status !== 'InProgress') body.endTime = new Date().toISOString();
    if (op.status === 'Failed') body.error = { code: 'InternalOperationError', message: 'The snapshot could not be created.' };
    if (op.status === 'Succeeded' && op.kind === 'create') body.properties = { output: this.resources.get(op.resourceId.toLowerCase()) };
    const headers: Record<string, string> = op.status === 'InProgress' ? { 'retry-after': '1' } : {};
    sendJson(res, 200, body, headers);
  }
}
