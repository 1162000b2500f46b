/**
 * The AWS Query protocol shared by the RDS and EC2 fakes, as the AWS API references document
 * it: a POST of application/x-www-form-urlencoded parameters (`Action`, `Version`, members by
 * name, lists as `Name.member.N` / `Name.<LocationName>.N` (RDS) or `Name.N` (EC2), structures
 * as `Name.N.Field`), signed with Signature Version 4; XML answers in the service's namespace.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FakeRequest } from './http.js';

export class QueryParams {
  constructor(readonly all: URLSearchParams) {}

  get(name: string): string | undefined {
    return this.all.get(name) ?? undefined;
  }

  bool(name: string): boolean | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : v === 'true';
  }

  int(name: string): number | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : Number(v);
  }

  /** Values of a list of strings at `prefix.1`, `prefix.2`, ... (in order, stopping at the first gap). */
  list(prefix: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.get(`${prefix}.${i}`);
      if (v === undefined) return out;
      out.push(v);
    }
  }

  /** A list of structures at `prefix.N.<field>`: each one's fields by name (with nested prefixes). */
  structs(prefix: string): QueryParams[] {
    const out: QueryParams[] = [];
    for (let i = 1; ; i++) {
      const head = `${prefix}.${i}.`;
      const sub = new URLSearchParams();
      for (const [k, v] of this.all) if (k.startsWith(head)) sub.append(k.slice(head.length), v);
      if ([...sub.keys()].length === 0) return out;
      out.push(new QueryParams(sub));
    }
  }
}

export interface SignedRequest {
  params: QueryParams;
  accessKeyId: string;
  region: string;
  service: string;
}

/**
 * Reads a Query request: form body, SigV4 Authorization header
 * (`AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request, SignedHeaders=..., Signature=...`).
 * Returns undefined when the request is not one (the caller answers 400/403).
 */
export function readQueryRequest(req: FakeRequest): SignedRequest | { problem: string; status: number; code: string } {
  if (req.method !== 'POST') return { status: 400, code: 'InvalidAction', problem: 'Query requests are POSTs to /' };
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded')) return { status: 400, code: 'MalformedQueryString', problem: `unexpected content-type ${type}` };
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(auth);
  if (!m) return { status: 403, code: 'MissingAuthenticationToken', problem: 'Request is missing Authentication Token' };
  if (!req.headers['x-amz-date']) return { status: 403, code: 'IncompleteSignature', problem: 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.' };
  return { params: new QueryParams(new URLSearchParams(req.body.toString('utf8'))), accessKeyId: m[1]!, region: m[2]!, service: m[3]! };
}

export function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | XmlValue[];
export interface XmlNode {
  [element: string]: XmlValue;
}

/** Elements from an object: arrays repeat the element (wrap them in the list element yourself), undefined is left out. */
export function xml(node: XmlNode): string {
  let out = '';
  for (const [name, value] of Object.entries(node)) out += element(name, value);
  return out;
}

function element(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('');
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') return `<${name}>${xml(value)}</${name}>`;
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

export function sendXml(res: ServerResponse, status: number, body: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

/** RDS (awsQuery): `<XResponse><XResult>…</XResult><ResponseMetadata><RequestId/></ResponseMetadata></XResponse>`. */
export function queryResult(res: ServerResponse, namespace: string, action: string, result: XmlNode): void {
  sendXml(res, 200, `<${action}Response xmlns="${namespace}"><${action}Result>${xml(result)}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`);
}

/** RDS (awsQuery) errors: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function queryError(res: ServerResponse, namespace: string, status: number, code: string, message: string): void {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  sendXml(res, status, `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
}

/** EC2 (ec2Query): `<XResponse><requestId/>…</XResponse>`, no Result wrapper. */
export function ec2Result(res: ServerResponse, namespace: string, action: string, body: XmlNode): void {
  sendXml(res, 200, `<${action}Response xmlns="${namespace}"><requestId>${randomUUID()}</requestId>${xml(body)}</${action}Response>`);
}

/** EC2 errors: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`. */
export function ec2Error(res: ServerResponse, status: number, code: string, message: string): void {
  sendXml(res, status, `<Response><Errors><Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`);
}
