/**
 * Who the azure-managed-disk source is in Azure: the service principal of the original tool
 * (TENANT_ID, CLIENT_ID, CLIENT_KEY in the environment, or the job-file keys), else the
 * standard Azure credential chain (AZURE_* variables, workload or managed identity, Azure CLI).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { TokenCredential } from '@azure/identity';
import { SourceError } from '../../errors.js';
import { redactor } from '../../secrets.js';

export interface AzureIdentitySettings {
  id: string;
  tenant_id?: string;
  client_id?: string;
  client_secret?: string;
  authority_host?: string;
  ca_file?: string;
}

export interface ServicePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** The service principal from the job file or the original's variables; undefined when none is configured. */
export function servicePrincipal(o: AzureIdentitySettings, env: NodeJS.ProcessEnv = process.env): ServicePrincipal | undefined {
  const tenantId = o.tenant_id ?? env.TENANT_ID;
  const clientId = o.client_id ?? env.CLIENT_ID;
  const clientSecret = o.client_secret ?? env.CLIENT_KEY;
  redactor.add(clientSecret);
  const given = [tenantId, clientId, clientSecret].filter((v) => v !== undefined && v !== '').length;
  if (given === 0) return undefined;
  if (given < 3) {
    const missing = [
      !tenantId && 'tenant_id (or TENANT_ID)',
      !clientId && 'client_id (or CLIENT_ID)',
      !clientSecret && 'client_secret (or CLIENT_KEY)',
    ].filter(Boolean);
    throw new SourceError(`incomplete service principal: missing ${missing.join(', ')}; give all three, or none to use the standard Azure credential chain`, { plugin: o.id });
  }
  return { tenantId: tenantId!, clientId: clientId!, clientSecret: clientSecret! };
}

/** TLS settings for a private CA: the system roots plus the operator's certificates. */
export function tlsOptionsFor(o: AzureIdentitySettings): { ca: string[] } | undefined {
  if (!o.ca_file) return undefined;
  let pem: string;
  try {
    pem = readFileSync(o.ca_file, 'utf8');
  } catch (error) {
    throw new SourceError(`cannot read ca_file ${o.ca_file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { plugin: o.id });
  }
  return { ca: [...rootCertificates, pem] };
}

export async function azureCredential(o: AzureIdentitySettings): Promise<{ credential: TokenCredential; kind: string }> {
  const identity = await import('@azure/identity');
  const tlsOptions = tlsOptionsFor(o);
  const common = {
    ...(o.authority_host ? { authorityHost: o.authority_host, disableInstanceDiscovery: true } : {}),
    ...(tlsOptions ? { tlsOptions } : {}),
  };
  const sp = servicePrincipal(o);
  if (sp) {
    return { credential: new identity.ClientSecretCredential(sp.tenantId, sp.clientId, sp.clientSecret, common), kind: `service principal ${sp.clientId}` };
  }
  return { credential: new identity.DefaultAzureCredential(common), kind: 'the Azure credential chain' };
}
