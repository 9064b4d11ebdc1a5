/** A `gige` camera in a configuration: defaults filled in, every bad value reported with its key at once. */
import { describe, expect, it } from 'vitest';
import { validateCameras } from '../../../src/config/cameras.js';
import type { Problem } from '../../../src/config/options.js';
import { hostAddressFor } from '../../../src/sources/gige/hostAddress.js';

describe('gige camera configuration', () => {
  it('fills in the documented defaults and the live-camera queue policy', () => {
    const problems: Problem[] = [];
    const [cam] = validateCameras(
      [
        {
          id: 'line1',
          recipe: 'demo',
          source: { type: 'gige', address: '192.168.10.20', trigger: 'software' },
        },
      ],
      problems,
    );
    expect(problems).toEqual([]);
    expect(cam.queue.policy).toBe('drop-oldest');
    expect(cam.source.options).toMatchObject({
      address: '192.168.10.20',
      trigger: 'software',
      packetSize: 1400,
      resend: 'auto',
      features: {},
    });
  });

  it('lists every bad setting with its key path and what is allowed', () => {
    const problems: Problem[] = [];
    validateCameras(
      [
        {
          id: 'line1',
          recipe: 'demo',
          source: {
            type: 'gige',
            address: '192.168.10.300',
            trigger: 'hardware',
            packetSize: 20000,
            features: { GevSCPD: [1] },
            exposure: 100,
          },
        },
      ],
      problems,
    );
    const byKey = Object.fromEntries(problems.map((p) => [p.key, p.message]));
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
    expect(byKey['cameras[0].source.exposure']).toMatch(/unknown setting.*exposureUs/);
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
