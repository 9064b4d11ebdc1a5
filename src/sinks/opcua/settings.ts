import type convict from 'convict';

/**
 * The `opcua` section of the configuration: its type and its convict schema, declared once here beside the
 * sink and mounted by src/config/schema.ts. Nothing here loads node-opcua, so checking a config stays cheap.
 */

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export const SECURITY_POLICIES = [
  'None',
  'Basic256Sha256',
  'Aes128_Sha256_RsaOaep',
  'Aes256_Sha256_RsaPss',
] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

/** The PLC nodes client mode writes for one camera (any may be left out). */
export interface PlcNodes {
  camera: string;
  verdict?: string;
  score?: string;
  resultId?: string;
  partId?: string;
}

export interface OpcuaClientSettings {
  enabled: boolean;
  endpointUrl: string;
  securityMode: SecurityModeName;
  securityPolicy: SecurityPolicyName;
  username: string;
  password: string;
  passwordFile: string;
  acceptUnknownServerCertificate: boolean;
  nodes: PlcNodes[];
  reconnectMaxDelaySec: number;
  sessionTimeoutSec: number;
}

export interface OpcuaSettings {
  enabled: boolean;
  host: string;
  port: number;
  endpointPath: string;
  securityModes: SecurityModeName[];
  securityPolicies: SecurityPolicyName[];
  allowAnonymous: boolean;
  usersFile: string;
  pkiDir: string;
  autoAcceptClientCertificates: boolean;
  initialMode: 'continuous' | 'triggered';
  maxResults: number;
  heartbeatSec: number;
  minPublishingIntervalMs: number;
  client: OpcuaClientSettings;
}

/** A NodeId in its string form: ns=<index>; or nsu=<uri>; then i=, s=, g= or b=. */
export const NODE_ID =
  /^(?:(?:ns=\d{1,5}|nsu=[^;]+);)?(?:i=\d{1,10}|s=.+|g=[0-9a-fA-F-]{36}|b=[A-Za-z0-9+/=]+)$/;
const NODE_KEYS = ['verdict', 'score', 'resultId', 'partId'] as const;

const listOf =
  (allowed: readonly string[], what: string) =>
  (v: unknown): void => {
    if (!Array.isArray(v) || v.length === 0)
      throw new Error(
        `must be a non-empty list of ${what} (${allowed.join(', ')}), got ${JSON.stringify(v)}`,
      );
    const bad = v.filter((x) => !allowed.includes(x as string));
    if (bad.length)
      throw new Error(
        `unknown ${what} ${bad.map((b) => JSON.stringify(b)).join(', ')}; allowed: ${allowed.join(', ')}`,
      );
  };

/** Checks the list of camera -> PLC nodes; every problem in one line (convict keeps one message per key). */
export function checkPlcNodes(v: unknown): void {
  if (!Array.isArray(v))
    throw new Error(`must be a list of {camera, verdict, score, resultId, partId}, got ${JSON.stringify(v)}`);
  const problems: string[] = [];
  const seen = new Set<string>();
  v.forEach((item: unknown, i) => {
    const at = `[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${at}: must be an object {camera, verdict, score, resultId, partId}`);
      return;
    }
    const { camera, ...nodes } = item as Record<string, unknown>;
    if (typeof camera !== 'string' || !camera) problems.push(`${at}.camera: must name a camera id`);
    else if (seen.has(camera)) problems.push(`${at}.camera: "${camera}" is listed twice`);
    else seen.add(camera);
    const entries = Object.entries(nodes);
    if (!entries.length) problems.push(`${at}: name at least one of ${NODE_KEYS.join(', ')}`);
    for (const [k, id] of entries) {
      if (!(NODE_KEYS as readonly string[]).includes(k))
        problems.push(`${at}.${k}: unknown key; allowed: camera, ${NODE_KEYS.join(', ')}`);
      else if (typeof id !== 'string' || !NODE_ID.test(id))
        problems.push(
          `${at}.${k}: ${JSON.stringify(id)} is not a NodeId like "ns=3;s=Cell1.Verdict" or "ns=2;i=1001"`,
        );
    }
  });
  if (problems.length) throw new Error(problems.join('; '));
}

const between = (min: number, max: number) => (v: unknown) => {
  if (typeof v !== 'number' || !(v >= min && v <= max))
    throw new Error(`must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
};

export const opcuaSchema: convict.Schema<OpcuaSettings> = {
  enabled: {
    doc: 'Run the OPC UA server (Machine Vision model per camera, flat PLC tags, trigger handshake; docs/OPCUA.md).',
    format: Boolean,
    default: false,
    env: 'INSPECTD_OPCUA_ENABLED',
  },
  host: {
    doc: 'OPC UA server: listen address (localhost only by default; 0.0.0.0 = every interface).',
    format: String,
    default: '127.0.0.1',
    env: 'INSPECTD_OPCUA_HOST',
  },
  port: {
    doc: 'OPC UA server: TCP port (4840 is the registered OPC UA port; 0 = any free port, logged).',
    format: 'port',
    default: 4840,
    env: 'INSPECTD_OPCUA_PORT',
  },
  endpointPath: {
    doc: 'Path of the endpoint URL: opc.tcp://<host>:<port><endpointPath>.',
    format: (v: unknown) => {
      if (typeof v !== 'string' || !/^(\/[A-Za-z0-9_.-]+)*\/?$/.test(v))
        throw new Error(`must be a path like /inspectd (letters, digits, _ . -), got ${JSON.stringify(v)}`);
    },
    default: '/inspectd',
  },
  securityModes: {
    doc: 'Message security modes offered: None, Sign, SignAndEncrypt. None only where the network is trusted (the localhost demo).',
    format: listOf(SECURITY_MODES, 'security modes'),
    default: ['Sign', 'SignAndEncrypt'],
  },
  securityPolicies: {
    doc: 'Security policies offered with Sign and SignAndEncrypt (None is offered only with securityModes None).',
    format: listOf(SECURITY_POLICIES, 'security policies'),
    default: ['Basic256Sha256'],
  },
  allowAnonymous: {
    doc: 'Accept anonymous sessions. Off by default: clients log in with a user of usersFile.',
    format: Boolean,
    default: false,
  },
  usersFile: {
    doc: 'File of OPC UA users, one "name:scrypt$..." line each (docs/OPCUA.md says how to hash a password); under systemd $CREDENTIALS_DIRECTORY/opcua-users.',
    format: String,
    default: '',
    env: 'INSPECTD_OPCUA_USERS_FILE',
  },
  pkiDir: {
    doc: 'Certificate store: server/ (own certificate and key, trusted/ and rejected/ client certificates) and client/ (client mode). Created at first start.',
    format: String,
    default: 'var/opcua-pki',
    env: 'INSPECTD_OPCUA_PKI_DIR',
  },
  autoAcceptClientCertificates: {
    doc: 'Trust every client certificate (testing only). Off: unknown certificates land in pkiDir/server/rejected until moved to trusted.',
    format: Boolean,
    default: false,
  },
  initialMode: {
    doc: 'Cameras at start: continuous (inspect every frame, VisionStateMachine Operational/ContinuousExecution) or triggered (only StartSingleJob and the Trigger tag; Operational/Ready).',
    format: ['continuous', 'triggered'],
    default: 'continuous',
  },
  maxResults: {
    doc: 'Results kept per camera for GetResultById and GetResultListFiltered; the oldest go first.',
    format: (v: unknown) => {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 1_000_000)
        throw new Error(`must be an integer from 1 to 1000000, got ${JSON.stringify(v)}`);
    },
    default: 1000,
  },
  heartbeatSec: {
    doc: 'Period of the Heartbeat tag (a counter a PLC watches to know inspectd is alive).',
    format: between(0.1, 60),
    default: 1,
  },
  minPublishingIntervalMs: {
    doc: 'Shortest publishing interval granted to subscriptions: the floor of the verdict-to-notification latency (docs/OPCUA.md has measurements). Lower costs CPU per subscriber.',
    format: between(10, 10_000),
    default: 50,
  },
  client: {
    enabled: {
      doc: "Client mode: write each verdict into nodes of a PLC's own OPC UA server.",
      format: Boolean,
      default: false,
    },
    endpointUrl: {
      doc: "Client mode: the PLC's endpoint, e.g. opc.tcp://192.168.10.5:4840.",
      format: (v: unknown) => {
        if (typeof v !== 'string' || (v !== '' && !/^opc\.tcp:\/\/[^/\s]+/.test(v)))
          throw new Error(
            `must be an opc.tcp:// URL (or "" when client mode is off), got ${JSON.stringify(v)}`,
          );
      },
      default: '',
      env: 'INSPECTD_OPCUA_CLIENT_URL',
    },
    securityMode: {
      doc: 'Client mode: message security mode (None, Sign, SignAndEncrypt).',
      format: [...SECURITY_MODES],
      default: 'SignAndEncrypt',
    },
    securityPolicy: {
      doc: 'Client mode: security policy (None only with securityMode None).',
      format: [...SECURITY_POLICIES],
      default: 'Basic256Sha256',
    },
    username: { doc: 'Client mode: user name at the PLC; empty = anonymous.', format: String, default: '' },
    password: {
      doc: 'Client mode: password (prefer passwordFile).',
      format: String,
      default: '',
      sensitive: true,
      env: 'INSPECTD_OPCUA_CLIENT_PASSWORD',
    },
    passwordFile: {
      doc: 'Client mode: file holding the password (with systemd: LoadCredential).',
      format: String,
      default: '',
      env: 'INSPECTD_OPCUA_CLIENT_PASSWORD_FILE',
    },
    acceptUnknownServerCertificate: {
      doc: "Client mode: trust the PLC's certificate on first contact. Off: put it in pkiDir/client/trusted/certs.",
      format: Boolean,
      default: false,
    },
    nodes: {
      doc: 'Client mode: the PLC NodeIds to write, per camera: [{"camera": "cam1", "verdict": "ns=3;s=Cam1.OK", "score": "...", "resultId": "...", "partId": "..."}]; verdict is written as OK = true (1, or "OK" in a String node).',
      format: checkPlcNodes,
      default: [],
    },
    reconnectMaxDelaySec: {
      doc: 'Client mode: longest wait between reconnection attempts (they back off up to it, forever).',
      format: between(1, 600),
      default: 10,
    },
    sessionTimeoutSec: {
      doc: 'Client mode: requested session timeout; the session is kept alive and renewed after a reconnect.',
      format: between(5, 3600),
      default: 60,
    },
  },
};
