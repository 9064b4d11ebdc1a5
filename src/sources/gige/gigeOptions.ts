/** The `gige` camera settings of a configuration: documented, checked, defaulted. */
import { checks, type OptionSpecs } from '../../config/options.js';
import type { GigeSourceOptions } from './gigeSource.js';

export type GigeCameraConfig = Omit<GigeSourceOptions, 'id' | 'port'>;

export const gigeOptionSpecs: OptionSpecs<GigeCameraConfig> = {
  address: {
    doc: 'Camera IPv4 address (unicast: works across subnets and on loopback). "" = find the camera by `serial` (broadcast).',
    default: '',
    check: checks.ipv4OrEmpty(),
  },
  serial: {
    doc: 'Camera serial number: finds it by broadcast when `address` is "", else checked at connect (a swapped camera is refused).',
    default: '',
    check: checks.string(),
  },
  interfaceAddress: {
    doc: 'This host\'s address on the camera network (stream destination). "" = the interface on the camera\'s subnet.',
    default: '',
    check: checks.ipv4OrEmpty(),
  },
  pixelFormat: {
    doc: 'GenICam PixelFormat to set (Mono8, Mono10, Mono12, Mono10Packed, Mono12Packed, BayerRG8/GB8/GR8/BG8, RGB8, BGR8). "" = keep the camera\'s.',
    default: '',
    check: checks.string(),
  },
  width: {
    doc: "Image width (Width feature); 0 = keep the camera's.",
    default: 0,
    check: checks.int(0, 65535),
  },
  height: {
    doc: "Image height (Height feature); 0 = keep the camera's.",
    default: 0,
    check: checks.int(0, 65535),
  },
  offsetX: {
    doc: "ROI offset (OffsetX); -1 = keep the camera's.",
    default: -1,
    check: checks.int(-1, 65535),
  },
  offsetY: {
    doc: "ROI offset (OffsetY); -1 = keep the camera's.",
    default: -1,
    check: checks.int(-1, 65535),
  },
  exposureUs: {
    doc: "Exposure in microseconds (ExposureTime, or ExposureTimeAbs on GigE Vision 1.x cameras); 0 = keep the camera's.",
    default: 0,
    check: checks.number(0, 1e8),
  },
  gain: {
    doc: "Gain (Gain in dB, or GainRaw counts where only that exists); -1 = keep the camera's.",
    default: -1,
    check: checks.number(-1, 1e6),
  },
  frameRate: {
    doc: "Free-run frame rate (AcquisitionFrameRate); 0 = keep the camera's.",
    default: 0,
    check: checks.number(0, 100000),
  },
  trigger: {
    doc: 'off: free run, every frame inspected; software: one frame per trigger (OPC UA trigger handshake, TriggerSoftware).',
    default: 'off',
    check: checks.oneOf(['off', 'software']),
  },
  features: {
    doc: 'Further GenICam features set by name after the above, in order, e.g. {"GevSCPD": 1000, "BalanceWhiteAuto": "Off"}.',
    default: {},
    check: checks.valueMap(),
  },
  packetSize: {
    doc: 'GVSP packet size in bytes on the wire; 1400 fits a 1500 MTU, use 8000+ with jumbo frames (fewer packets, less CPU).',
    default: 1400,
    check: checks.int(576, 9000),
  },
  extendedIds: {
    doc: 'GigE Vision 2.x 64-bit block ids: auto = only where the camera cannot send 16-bit ones, on, off.',
    default: 'auto',
    check: checks.oneOf(['auto', 'on', 'off']),
  },
  packetSizeTest: {
    doc: "At connect, check packetSize with the camera's test packet and lower it when it does not arrive (an MTU on the way).",
    default: true,
    check: checks.bool(),
  },
  packetDelay: {
    doc: "Inter-packet delay (SCPD) in camera timestamp ticks, to spread bursts for a slow switch or NIC; -1 = keep the camera's.",
    default: -1,
    check: checks.int(-1, 2 ** 31 - 1),
  },
  resend: {
    doc: 'Ask missing packets again (PACKETRESEND): auto = when the camera says it can, always, never.',
    default: 'auto',
    check: checks.oneOf(['auto', 'always', 'never']),
  },
  frameTimeoutMs: {
    doc: 'A frame still incomplete this long after its first packet is given up (counted as incomplete).',
    default: 400,
    check: checks.int(10, 60_000),
  },
  recvBufferBytes: {
    doc: 'UDP receive buffer asked for the stream; the kernel caps it at net.core.rmem_max (a warning says the sysctl).',
    default: 32 * 1024 * 1024,
    check: checks.int(65536, 1 << 30),
  },
  stallTimeoutMs: {
    doc: 'Free run: no frame for this long while the camera still answers = restart the stream; 0 = off.',
    default: 10_000,
    check: checks.int(0, 3_600_000),
  },
  reconnectMinMs: {
    doc: 'First wait before reconnecting a lost camera; doubles per failed try up to reconnectMaxMs.',
    default: 500,
    check: checks.int(50, 600_000),
  },
  reconnectMaxMs: {
    doc: 'Longest wait between reconnect tries.',
    default: 10_000,
    check: checks.int(50, 3_600_000),
  },
  controlTimeoutMs: {
    doc: "GVCP: how long one command waits for the camera's answer before a retry.",
    default: 500,
    check: checks.int(20, 30_000),
  },
};
