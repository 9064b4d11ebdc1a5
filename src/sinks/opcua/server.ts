import path from 'node:path';
import {
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  Subscription,
  type UserManagerOptions,
  UserTokenType,
} from 'node-opcua';
import { nodesets } from 'node-opcua-nodesets';
import type { Logger } from 'pino';
import { InspectdError } from '../../core/errors.js';
import { VERSION } from '../../core/version.js';
import type { OpcuaSettings, SecurityModeName, SecurityPolicyName } from './settings.js';
import { patchServerTransport } from './transportPatch.js';
import { keepTrusted } from './trustStore.js';
import { loadUsers, verifyUser } from '../../core/users.js';

export const securityMode = (m: SecurityModeName): MessageSecurityMode => MessageSecurityMode[m];
export const securityPolicy = (p: SecurityPolicyName): SecurityPolicy => SecurityPolicy[p];

/**
 * The user check node-opcua calls at ActivateSession (off the event loop: scrypt runs on the thread pool);
 * every refusal is logged with the user name.
 */
function userManager(users: Map<string, string>, log: Logger): UserManagerOptions {
  return {
    isValidUserAsync(
      username: string,
      password: string,
      done: (err: Error | null, ok?: boolean) => void,
    ): void {
      verifyUser(users, username, password).then(
        (ok) => {
          if (!ok) log.warn({ user: username }, `OPC UA: login refused for user "${username}"`);
          done(null, ok);
        },
        (e: unknown) => done(e as Error),
      );
    },
  };
}

/**
 * The OPC UA server with the Machine Vision nodeset loaded, not yet started. Security comes from the settings
 * only: node-opcua's own defaults (None and anonymous allowed) are never used.
 */
export async function createServer(s: OpcuaSettings, line: string, log: Logger): Promise<OPCUAServer> {
  // No client write may end the process (transportPatch.ts says how one could).
  patchServerTransport();
  const users = s.usersFile ? loadUsers(s.usersFile, 'opcua.usersFile') : new Map<string, string>();
  if (!s.allowAnonymous && users.size === 0)
    throw new InspectdError(
      'OPC UA server: nobody could log in (allowAnonymous is off and there are no users)',
      {
        subject: 'opcua.usersFile',
        fix: 'set opcua.usersFile to a file of users (docs/OPCUA.md), or allowAnonymous: true on a trusted network',
      },
    );
  const modes = s.securityModes.map(securityMode);
  // SecurityPolicy None pairs with mode None only; Sign and SignAndEncrypt use the configured policies.
  const policies = s.securityPolicies.filter((p) => p !== 'None').map(securityPolicy);
  if (s.securityModes.includes('None')) policies.unshift(SecurityPolicy.None);
  if (modes.some((m) => m !== MessageSecurityMode.None) && !policies.some((p) => p !== SecurityPolicy.None))
    throw new InspectdError('OPC UA server: Sign/SignAndEncrypt need a security policy other than None', {
      subject: 'opcua.securityPolicies',
      value: s.securityPolicies,
      fix: 'add Basic256Sha256 to opcua.securityPolicies',
    });
  const pki = new OPCUACertificateManager({
    rootFolder: path.resolve(s.pkiDir, 'server'),
    automaticallyAcceptUnknownCertificate: s.autoAcceptClientCertificates,
    name: 'inspectd',
  });
  await pki.initialize();
  keepTrusted(pki);
  // User certificates (X509 identity tokens) are checked against pkiDir/user only, never against
  // node-opcua's default store under the home directory (which accepted any self-signed one).
  const userPki = new OPCUACertificateManager({
    rootFolder: path.resolve(s.pkiDir, 'user'),
    automaticallyAcceptUnknownCertificate: false,
    name: 'inspectd-users',
  });
  keepTrusted(userPki);
  // node-opcua keeps this floor in a static: one server per process, so setting it here is safe.
  Subscription.minimumPublishingInterval = s.minPublishingIntervalSec * 1000;
  const wildcard = s.host === '0.0.0.0' || s.host === '::';
  return new OPCUAServer({
    host: s.host,
    port: s.port,
    // Endpoint URLs name the host clients dialled; on every interface, the machine's name.
    hostname: wildcard ? undefined : s.host,
    resourcePath: s.endpointPath === '/' ? '' : s.endpointPath.replace(/\/$/, ''),
    nodeset_filename: [nodesets.standard, nodesets.machineVision],
    securityModes: modes,
    securityPolicies: policies,
    allowAnonymous: s.allowAnonymous,
    userManager: userManager(users, log),
    serverCertificateManager: pki,
    userCertificateManager: userPki,
    buildInfo: {
      productName: 'inspectd',
      productUri: 'urn:inspectd',
      manufacturerName: 'inspectd',
      softwareVersion: VERSION,
    },
    serverInfo: {
      applicationUri: `urn:inspectd:${line}`,
      productUri: 'urn:inspectd',
      applicationName: { text: `inspectd ${line}`, locale: 'en' },
    },
    maxConnectionsPerEndpoint: 20,
    // 0: every change of a tag reaches subscribers with a sampling interval of 0, none is folded into the
    // next (a trigger handshake must not lose a short ResultValid pulse or one of two quick results).
    serverCapabilities: { minSupportedSampleRate: 0 },
  });
}

/**
 * Endpoints without the X509 user token policy (node-opcua offers it on every endpoint): with no policy to name,
 * an X509 identity token is refused at ActivateSession.
 */
export function withoutX509Users(server: OPCUAServer): void {
  for (const endpoint of server.endpoints)
    for (const d of endpoint.endpointDescriptions())
      d.userIdentityTokens = (d.userIdentityTokens ?? []).filter(
        (t) => t.tokenType !== UserTokenType.Certificate,
      );
}
