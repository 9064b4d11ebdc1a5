import {
  bool,
  int,
  items,
  listOf,
  matching,
  msToSec,
  nonEmpty,
  oneOf,
  port,
  renamed,
  required,
  retired,
  seconds,
  text,
  type Infer,
} from '../../core/settings.js';

/**
 * The `opcua` section of the configuration, declared beside the sink. Nothing here loads node-opcua, so
 * checking a configuration stays cheap.
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

/** A NodeId in its string form: ns=<index>; or nsu=<uri>; then i=, s=, g= or b=. */
export const NODE_ID =
  /^(?:(?:ns=\d{1,5}|nsu=[^;]+);)?(?:i=\d{1,10}|s=.+|g=[0-9a-fA-F-]{36}|b=[A-Za-z0-9+/=]+)$/;
const nodeIdOrEmpty = () =>
  matching(
    new RegExp(`${NODE_ID.source}|^$`),
    'a NodeId like "ns=3;s=Cell1.Verdict" or "ns=2;i=1001", or "" (not written)',
  );

/** The PLC nodes client mode writes for one camera ("" = not written). */
const plcNodes = {
  camera: {
    doc: 'The camera id whose verdicts go to these nodes.',
    format: nonEmpty('a camera id'),
    default: required<string>(),
  },
  verdict: {
    doc: 'Verdict node: OK = true (1, or "OK" in a String node).',
    format: nodeIdOrEmpty(),
    default: '',
  },
  score: { doc: 'Score node (Float or Double).', format: nodeIdOrEmpty(), default: '' },
  resultId: { doc: 'ResultId node (String), written last.', format: nodeIdOrEmpty(), default: '' },
  partId: { doc: 'PartId node (String).', format: nodeIdOrEmpty(), default: '' },
};
export type PlcNodes = Infer<typeof plcNodes>;

export const opcuaSettings = {
  enabled: {
    doc: 'Run the OPC UA server (Machine Vision model per camera, flat PLC tags, trigger handshake; docs/OPCUA.md).',
    format: bool(),
    default: false,
    env: 'INSPECTD_OPCUA_ENABLED',
  },
  host: {
    doc: 'OPC UA server: listen address (localhost only by default; 0.0.0.0 = every interface).',
    format: text(),
    default: '127.0.0.1',
    env: 'INSPECTD_OPCUA_HOST',
  },
  port: {
    doc: 'OPC UA server: TCP port (4840 is the registered OPC UA port; 0 = any free port, logged).',
    format: port(),
    default: 4840,
    env: 'INSPECTD_OPCUA_PORT',
  },
  endpointPath: {
    doc: 'Path of the endpoint URL: opc.tcp://<host>:<port><endpointPath>.',
    format: matching(/^(\/[A-Za-z0-9_.-]+)*\/?$/, 'a path like /inspectd (letters, digits, _ . -)'),
    default: '/inspectd',
  },
  securityModes: {
    doc: 'Message security modes offered: None, Sign, SignAndEncrypt. None only where the network is trusted (the localhost demo).',
    format: listOf(SECURITY_MODES),
    default: ['Sign', 'SignAndEncrypt'],
  },
  securityPolicies: {
    doc: 'Security policies offered with Sign and SignAndEncrypt (None is offered only with securityModes None).',
    format: listOf(SECURITY_POLICIES),
    default: ['Basic256Sha256'],
  },
  allowAnonymous: {
    doc: 'Accept anonymous sessions. Off by default: clients log in with a user of usersFile.',
    format: bool(),
    default: false,
  },
  x509Users: {
    doc: 'Offer X509 user certificates as a login. Only certificates in pkiDir/user/trusted/certs log in (an unknown one lands in pkiDir/user/rejected). Off: no X509 user token is offered or accepted.',
    format: bool(),
    default: false,
  },
  usersFile: {
    doc: 'File of OPC UA users, one "name:scrypt$..." line each (docs/OPCUA.md says how to hash a password); under systemd $CREDENTIALS_DIRECTORY/opcua-users.',
    format: text(),
    default: '',
    env: 'INSPECTD_OPCUA_USERS_FILE',
  },
  pkiDir: {
    doc: 'Certificate store: server/ (own certificate and key, trusted/ and rejected/ client certificates) and client/ (client mode). Created at first start.',
    format: text(),
    default: 'var/opcua-pki',
    env: 'INSPECTD_OPCUA_PKI_DIR',
  },
  autoAcceptClientCertificates: {
    doc: 'Trust every client certificate (testing only). Off: unknown certificates land in pkiDir/server/rejected until copied to trusted/certs (then deleted from rejected).',
    format: bool(),
    default: false,
  },
  initialMode: {
    doc: 'Cameras at start: continuous (inspect every frame, VisionStateMachine Operational/ContinuousExecution) or triggered (only StartSingleJob and the Trigger tag; Operational/Ready).',
    format: oneOf(['continuous', 'triggered']),
    default: 'continuous',
  },
  maxResults: retired('results are looked up in the journal; journal.* sets how long they are kept'),
  maxSessions: {
    doc: 'Sessions at most, of all clients together; beyond, CreateSession is refused (BadTooManySessions) after sessions abandoned by their clients are closed to make room.',
    format: int(1, 10_000),
    default: 50,
  },
  maxSessionsPerClient: {
    doc: 'Sessions at most from one client address, so one client cannot take them all.',
    format: int(1, 10_000),
    default: 10,
  },
  maxSessionTimeoutSec: {
    doc: 'Longest session timeout granted, whatever a client asks (a client may ask for 50 minutes): a session left without a close is gone this long after its last request.',
    format: seconds(1, 3600),
    default: 60,
  },
  heartbeatSec: {
    doc: 'Period of the Heartbeat tag (a counter a PLC watches to know inspectd is alive).',
    format: seconds(0.1, 60),
    default: 1,
  },
  minPublishingIntervalSec: {
    doc: 'Shortest publishing interval granted to subscriptions: the floor of the verdict-to-notification latency (docs/OPCUA.md has measurements). Lower costs CPU per subscriber.',
    format: seconds(0.01, 10),
    default: 0.05,
  },
  minPublishingIntervalMs: renamed('minPublishingIntervalSec', msToSec, 'in seconds, not milliseconds'),
  client: {
    enabled: {
      doc: "Client mode: write each verdict into nodes of a PLC's own OPC UA server.",
      format: bool(),
      default: false,
    },
    endpointUrl: {
      doc: "Client mode: the PLC's endpoint, e.g. opc.tcp://192.168.10.5:4840.",
      format: matching(/^(opc\.tcp:\/\/[^/\s]+.*)?$/, 'an opc.tcp:// URL (or "" when client mode is off)'),
      default: '',
      env: 'INSPECTD_OPCUA_CLIENT_URL',
    },
    securityMode: {
      doc: 'Client mode: message security mode (None, Sign, SignAndEncrypt).',
      format: oneOf(SECURITY_MODES),
      default: 'SignAndEncrypt',
    },
    securityPolicy: {
      doc: 'Client mode: security policy (None only with securityMode None).',
      format: oneOf(SECURITY_POLICIES),
      default: 'Basic256Sha256',
    },
    username: { doc: 'Client mode: user name at the PLC; empty = anonymous.', format: text(), default: '' },
    password: {
      doc: 'Client mode: password (prefer passwordFile).',
      format: text(),
      default: '',
      sensitive: true,
      env: 'INSPECTD_OPCUA_CLIENT_PASSWORD',
    },
    passwordFile: {
      doc: 'Client mode: file holding the password (with systemd: LoadCredential).',
      format: text(),
      default: '',
      env: 'INSPECTD_OPCUA_CLIENT_PASSWORD_FILE',
    },
    acceptUnknownServerCertificate: {
      doc: "Client mode: trust the PLC's certificate on first contact. Off: put it in pkiDir/client/trusted/certs.",
      format: bool(),
      default: false,
    },
    nodes: {
      doc: 'Client mode: the PLC NodeIds to write, per camera: [{"camera": "cam1", "verdict": "ns=3;s=Cam1.OK", "score": "...", "resultId": "...", "partId": "..."}]; verdict is written as OK = true (1, or "OK" in a String node).',
      format: items(plcNodes, 'camera node mapping', 'camera'),
      default: [] as PlcNodes[],
    },
    reconnectMaxSec: {
      doc: 'Client mode: longest wait between reconnection attempts (they back off up to it, forever).',
      format: seconds(1, 600),
      default: 10,
    },
    reconnectMaxDelaySec: renamed('reconnectMaxSec'),
    sessionTimeoutSec: {
      doc: 'Client mode: requested session timeout; the session is kept alive and renewed after a reconnect.',
      format: seconds(5, 3600),
      default: 60,
    },
  },
};

export type OpcuaSettings = Infer<typeof opcuaSettings>;
export type OpcuaClientSettings = OpcuaSettings['client'];
