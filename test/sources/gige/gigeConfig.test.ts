/** A `gige` camera in a configuration: defaults filled in, every bad value reported with its key at once. */
import { describe, expect, it } from 'vitest';
import {
  formatProblem,
  migrateSettings,
  validateSettings,
  type SettingProblem,
} from '../../../src/core/settings.js';
import { sourceKinds } from '../../../src/sources/index.js';
import { hostAddressFor } from '../../../src/sources/gige/hostAddress.js';

const gige = sourceKinds.gige;

describe('gige camera configuration', () => {
  it('fills in the documented defaults and the live-camera queue policy', () => {
    const problems: SettingProblem[] = [];
    const options = validateSettings(
      gige.settings,
      { address: '192.168.10.20', trigger: 'software' },
      'cameras[0].source',
      problems,
    );
    expect(problems).toEqual([]);
    expect(gige.defaultDropPolicy).toBe('drop-oldest');
    expect(options).toMatchObject({
      address: '192.168.10.20',
      trigger: 'software',
      packetSize: 1400,
      resend: 'auto',
      features: {},
    });
  });

  it('lists every bad setting with its key path and what is allowed', () => {
    const problems: SettingProblem[] = [];
    validateSettings(
      gige.settings,
      {
        address: '192.168.10.300',
        trigger: 'hardware',
        packetSize: 20000,
        features: { GevSCPD: [1] },
        exposure: 100,
      },
      'cameras[0].source',
      problems,
    );
    const byKey = Object.fromEntries(problems.map((p) => [p.path, formatProblem(p)]));
    expect(Object.keys(byKey).sort()).toEqual(
      [
        'cameras[0].source.address',
        'cameras[0].source.exposure',
        'cameras[0].source.features',
        'cameras[0].source.packetSize',
        'cameras[0].source.trigger',
      ].sort(),
    );
    expect(byKey['cameras[0].source.address']).toMatch(/IPv4 address/);
    expect(byKey['cameras[0].source.trigger']).toMatch(/off, software/);
    expect(byKey['cameras[0].source.exposure']).toMatch(/no setting of this name.*exposureUs/);
  });

  it('still accepts the old millisecond names, in seconds, with a warning', () => {
    const given = { address: '192.168.10.20', reconnectMinMs: 200, frameTimeoutMs: 400 };
    const warnings: string[] = [];
    const problems: SettingProblem[] = [];
    migrateSettings(gige.settings, given, 'source', warnings, problems);
    const options = validateSettings(gige.settings, given, 'source', problems);
    expect(problems).toEqual([]);
    expect(options).toMatchObject({ reconnectMinSec: 0.2, frameTimeoutSec: 0.4 });
    expect(warnings.join('\n')).toMatch(
      /source.reconnectMinMs is renamed source.reconnectMinSec \(in seconds/,
    );
  });
});

describe('stream destination address', () => {
  const ifaces = [
    { name: 'lo', address: '127.0.0.1', netmask: '255.0.0.0' },
    { name: 'eth0', address: '10.0.0.5', netmask: '255.255.255.0' },
    { name: 'eth1', address: '192.168.10.1', netmask: '255.255.255.0' },
  ];
  it('is the interface on the camera subnet', () => {
    expect(hostAddressFor('192.168.10.20', ifaces)).toBe('192.168.10.1');
    expect(hostAddressFor('10.0.0.77', ifaces)).toBe('10.0.0.5');
    expect(hostAddressFor('127.0.0.1', ifaces)).toBe('127.0.0.1');
  });
  it('names the interfaces when none is on the camera subnet', () => {
    expect(() => hostAddressFor('172.16.0.9', ifaces)).toThrow(/no network interface.*172\.16\.0\.9/);
    try {
      hostAddressFor('172.16.0.9', ifaces);
    } catch (e) {
      expect((e as { details: { fix: string } }).details.fix).toMatch(
        /eth1 192\.168\.10\.1\/255\.255\.255\.0/,
      );
    }
  });
});
