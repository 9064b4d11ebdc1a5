/**
 * Bootstrap registers and the GenICam XML of a GigE Vision device, read over GVCP.
 */
import { InspectdError } from '../../core/errors.js';
import { DISCOVERY_ACK_SIZE, parseBootstrapBlock, readCString, type DiscoveryInfo } from './gvcp.js';
import { GvcpRegister, type GvcpClient } from './gvcpClient.js';
import { DEFAULT_MAX_UNZIPPED, unzipSingle } from './zip.js';

/** Bootstrap register map (GigE Vision 2.x, "Bootstrap Registers"). */
export const Bootstrap = {
  VERSION: 0x0000,
  DEVICE_MODE: 0x0004,
  MAC_HIGH: 0x0008,
  MAC_LOW: 0x000c,
  CURRENT_IP: 0x0024,
  MANUFACTURER_NAME: 0x0048, // 32 bytes
  MODEL_NAME: 0x0068, // 32
  DEVICE_VERSION: 0x0088, // 32
  MANUFACTURER_INFO: 0x00a8, // 48
  SERIAL_NUMBER: 0x00d8, // 16
  USER_DEFINED_NAME: 0x00e8, // 16
  FIRST_URL: 0x0200, // 512
  SECOND_URL: 0x0400, // 512
  NUMBER_OF_NETWORK_INTERFACES: 0x0600,
  GVCP_CAPABILITY: GvcpRegister.GVCP_CAPABILITY,
  HEARTBEAT_TIMEOUT: GvcpRegister.HEARTBEAT_TIMEOUT,
  CCP: GvcpRegister.CCP,
  STREAM_CHANNEL_COUNT: 0x0904,
} as const;

export const URL_REGISTER_SIZE = 512;
/** The largest XML (or ZIP) file read from device memory. */
export const MAX_XML_FILE = 16 * 1024 * 1024;

export interface BootstrapInfo extends DiscoveryInfo {
  gvcpCapability: number;
  heartbeatTimeoutMs: number;
  streamChannels: number;
  firstUrl: string;
  secondUrl: string;
}

/** Reads the identity block (0x0000..0x00F7) and the registers the client needs, over READMEM/READREG. */
export async function readBootstrap(client: GvcpClient): Promise<BootstrapInfo> {
  const block = await client.readMemory(0, DISCOVERY_ACK_SIZE);
  const info = parseBootstrapBlock(block);
  const firstUrl = readCString(
    await client.readMemory(Bootstrap.FIRST_URL, URL_REGISTER_SIZE),
    0,
    URL_REGISTER_SIZE,
  );
  const secondUrl = readCString(
    await client.readMemory(Bootstrap.SECOND_URL, URL_REGISTER_SIZE),
    0,
    URL_REGISTER_SIZE,
  );
  return {
    ...info,
    gvcpCapability: await client.readRegister(Bootstrap.GVCP_CAPABILITY),
    heartbeatTimeoutMs: await client.readRegister(Bootstrap.HEARTBEAT_TIMEOUT),
    streamChannels: await client.readRegister(Bootstrap.STREAM_CHANNEL_COUNT),
    firstUrl,
    secondUrl,
  };
}

export type GenicamUrl =
  | {
      scheme: 'local';
      url: string;
      fileName: string;
      address: number;
      length: number;
      schemaVersion?: string;
    }
  | { scheme: 'file' | 'http' | 'other'; url: string };

const LOCAL_URL = /^local:(?:\/\/\/)?([^;?]+);(?:0x)?([0-9a-f]{1,8});(?:0x)?([0-9a-f]{1,8})(?:\?(.*))?$/i;

/**
 * Parses a GenICam URL register value. `Local:<file>;<hex address>;<hex length>[?SchemaVersion=x.y.z]`
 * (scheme case-insensitive, `///` after it tolerated, `0x` prefixes tolerated).
 */
export function parseGenicamUrl(url: string): GenicamUrl {
  const trimmed = url.trim();
  const m = LOCAL_URL.exec(trimmed);
  if (m) {
    const schema = m[4] ? /SchemaVersion=([^&]*)/i.exec(m[4])?.[1] : undefined;
    return {
      scheme: 'local',
      url: trimmed,
      fileName: m[1],
      address: parseInt(m[2], 16),
      length: parseInt(m[3], 16),
      ...(schema ? { schemaVersion: schema } : {}),
    };
  }
  if (/^file:/i.test(trimmed)) return { scheme: 'file', url: trimmed };
  if (/^https?:/i.test(trimmed)) return { scheme: 'http', url: trimmed };
  return { scheme: 'other', url: trimmed };
}

export interface GenicamXml {
  url: string;
  fileName: string;
  xml: string;
}

/** Text of an XML file as stored in device memory: UTF-8, BOM and trailing NUL padding removed. */
function xmlText(data: Buffer): string {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return data.toString('utf8', 0, end).replace(/^\uFEFF/, '');
}

/**
 * Fetches the device's GenICam XML through the first URL register: reads the file from device memory and
 * unzips it when its name ends in .zip (or it starts with a ZIP local header). `File:` and `http:` URLs (XML shipped beside the camera) are not
 * supported yet.
 */
export async function fetchGenicamXml(
  client: GvcpClient,
  opts: { maxFileBytes?: number; maxXmlBytes?: number } = {},
): Promise<GenicamXml> {
  const raw = await client.readMemory(Bootstrap.FIRST_URL, URL_REGISTER_SIZE);
  const url = readCString(raw, 0, URL_REGISTER_SIZE);
  const parsed = parseGenicamUrl(url);
  const camera = `GigE camera ${client.host}`;
  if (parsed.scheme !== 'local') {
    const fix =
      parsed.scheme === 'file' || parsed.scheme === 'http'
        ? "point the camera at its built-in XML (vendor tool: set the XML URL to 'Local:'), or file an issue with the camera model to add support for this scheme"
        : 'check the camera firmware, or file an issue with the camera model and this URL';
    throw new InspectdError(
      `${camera}: GenICam XML URL ${JSON.stringify(url)} uses a ${parsed.scheme === 'other' ? 'unknown' : `'${parsed.scheme}:'`} scheme, which is not supported (only 'Local:')`,
      { subject: 'GenICam XML URL', value: url, fix },
    );
  }
  const maxFile = opts.maxFileBytes ?? MAX_XML_FILE;
  if (parsed.length === 0 || parsed.length > maxFile)
    throw new InspectdError(
      `${camera}: GenICam XML URL ${JSON.stringify(url)} declares ${parsed.length} bytes, outside 1..${maxFile}`,
      {
        subject: 'GenICam XML URL',
        value: parsed.length,
        fix: 'check the camera firmware; report the camera model',
      },
    );
  if (parsed.address % 4 !== 0)
    throw new InspectdError(
      `${camera}: GenICam XML address 0x${parsed.address.toString(16)} is not 4-byte aligned`,
      {
        subject: 'GenICam XML URL',
        value: url,
        fix: 'report the camera model: this reader needs an aligned address',
      },
    );
  const file = await client.readMemory(parsed.address, parsed.length);
  let data = file;
  // Unzip by name, or by content: some devices (Aravis's fake camera given a .zip) serve a ZIP named .xml.
  const zipMagic = file.length >= 4 && file.readUInt32LE(0) === 0x04034b50;
  if (/\.zip$/i.test(parsed.fileName) || zipMagic) {
    data = unzipSingle(file, {
      maxBytes: opts.maxXmlBytes ?? DEFAULT_MAX_UNZIPPED,
      what: `${camera} ${parsed.fileName}`,
    }).data;
  }
  return { url, fileName: parsed.fileName, xml: xmlText(data) };
}
