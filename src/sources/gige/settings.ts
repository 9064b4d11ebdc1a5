/** The `gige` camera settings of a configuration: documented, checked, defaulted. */
import {
  bool,
  int,
  ipv4OrEmpty,
  msToSec,
  num,
  oneOf,
  renamed,
  seconds,
  text,
  valueMap,
} from '../../core/settings.js';
import type { Group, Infer } from '../../core/settings.js';

const IN_SECONDS = 'in seconds, not milliseconds';

export const gigeSettings = {
  address: {
    doc: 'Camera IPv4 address (unicast: works across subnets and on loopback). "" = find the camera by `serial` (broadcast).',
    default: '',
    format: ipv4OrEmpty(),
  },
  serial: {
    doc: 'Camera serial number: finds it by broadcast when `address` is "", else checked at connect (a swapped camera is refused).',
    default: '',
    format: text(),
  },
  interfaceAddress: {
    doc: 'This host\'s address on the camera network (stream destination). "" = the interface on the camera\'s subnet.',
    default: '',
    format: ipv4OrEmpty(),
  },
  pixelFormat: {
    doc: 'GenICam PixelFormat to set (Mono8, Mono10, Mono12, Mono10Packed, Mono12Packed, BayerRG8/GB8/GR8/BG8, RGB8, BGR8). "" = keep the camera\'s.',
    default: '',
    format: text(),
  },
  width: {
    doc: "Image width (Width feature); 0 = keep the camera's.",
    default: 0,
    format: int(0, 65535),
  },
  height: {
    doc: "Image height (Height feature); 0 = keep the camera's.",
    default: 0,
    format: int(0, 65535),
  },
  offsetX: {
    doc: "ROI offset (OffsetX); -1 = keep the camera's.",
    default: -1,
    format: int(-1, 65535),
  },
  offsetY: {
    doc: "ROI offset (OffsetY); -1 = keep the camera's.",
    default: -1,
    format: int(-1, 65535),
  },
  exposureUs: {
    doc: "Exposure in microseconds (ExposureTime, or ExposureTimeAbs on GigE Vision 1.x cameras); 0 = keep the camera's.",
    default: 0,
    format: num(0, 1e8),
  },
  gain: {
    doc: "Gain (Gain in dB, or GainRaw counts where only that exists); -1 = keep the camera's.",
    default: -1,
    format: num(-1, 1e6),
  },
  frameRate: {
    doc: "Free-run frame rate (AcquisitionFrameRate); 0 = keep the camera's.",
    default: 0,
    format: num(0, 100000),
  },
  trigger: {
    doc: 'off: free run, every frame inspected; software: one frame per trigger (OPC UA trigger handshake, TriggerSoftware).',
    default: 'off',
    format: oneOf(['off', 'software']),
  },
  features: {
    doc: 'Further GenICam features set by name after the above, in order, e.g. {"GevSCPD": 1000, "BalanceWhiteAuto": "Off"}.',
    default: {},
    format: valueMap(),
  },
  packetSize: {
    doc: 'GVSP packet size in bytes on the wire; 1400 fits a 1500 MTU, use 8000+ with jumbo frames (fewer packets, less CPU).',
    default: 1400,
    format: int(576, 9000),
  },
  extendedIds: {
    doc: 'GigE Vision 2.x 64-bit block ids: auto = only where the camera cannot send 16-bit ones, on, off.',
    default: 'auto',
    format: oneOf(['auto', 'on', 'off']),
  },
  packetSizeTest: {
    doc: "At connect, check packetSize with the camera's test packet and lower it when it does not arrive (an MTU on the way).",
    default: true,
    format: bool(),
  },
  packetDelay: {
    doc: "Inter-packet delay (SCPD) in camera timestamp ticks, to spread bursts for a slow switch or NIC; -1 = keep the camera's.",
    default: -1,
    format: int(-1, 2 ** 31 - 1),
  },
  resend: {
    doc: 'Ask missing packets again (PACKETRESEND): auto = when the camera says it can, always, never.',
    default: 'auto',
    format: oneOf(['auto', 'always', 'never']),
  },
  frameTimeoutSec: {
    doc: 'A frame still incomplete this long after its first packet is given up (counted as incomplete).',
    default: 0.4,
    format: seconds(0.01, 60),
  },
  recvBufferBytes: {
    doc: 'UDP receive buffer asked for the stream; the kernel caps it at net.core.rmem_max (a warning says the sysctl).',
    default: 32 * 1024 * 1024,
    format: int(65536, 1 << 30),
  },
  stallTimeoutSec: {
    doc: 'Free run: no frame for this long while the camera still answers = restart the stream; 0 = off.',
    default: 10,
    format: seconds(0, 3600),
  },
  reconnectMinSec: {
    doc: 'First wait before reconnecting a lost camera; doubles per failed try up to reconnectMaxSec.',
    default: 0.5,
    format: seconds(0.05, 600),
  },
  reconnectMaxSec: {
    doc: 'Longest wait between reconnect tries.',
    default: 10,
    format: seconds(0.05, 3600),
  },
  controlTimeoutSec: {
    doc: "GVCP: how long one command waits for the camera's answer before a retry.",
    default: 0.5,
    format: seconds(0.02, 30),
  },
  frameTimeoutMs: renamed('frameTimeoutSec', msToSec, IN_SECONDS),
  stallTimeoutMs: renamed('stallTimeoutSec', msToSec, IN_SECONDS),
  reconnectMinMs: renamed('reconnectMinSec', msToSec, IN_SECONDS),
  reconnectMaxMs: renamed('reconnectMaxSec', msToSec, IN_SECONDS),
  controlTimeoutMs: renamed('controlTimeoutSec', msToSec, IN_SECONDS),
} satisfies Group;

export type GigeSettings = Infer<typeof gigeSettings>;

/** What the source gets: the settings, and for test devices only, the camera's GVCP port (3956 otherwise). */
export type GigeOptions = GigeSettings & { port?: number };
