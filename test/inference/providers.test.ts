import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { providerKinds, type Host } from '../../src/inference/providers.js';
import {
  loadSession,
  providerUnavailable,
  type LoadedSession,
  type SessionOptions,
} from '../../src/inference/session.js';
import { logLines, runCli, runProcess } from '../helpers/cli.js';
import { smallDataset, tempDir } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';

const DEMO_DIR = path.join(ROOT, 'models', 'demo');
const DEMO_MODEL = path.join(DEMO_DIR, 'model.onnx');

/** Collects log records in memory. */
function memoryLogger(): { log: pino.Logger; records: { level: number; msg: string; provider?: string }[] } {
  const records: { level: number; msg: string; provider?: string }[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void records.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { log, records };
}

/** A described box: files that exist, folders' listings, what onnxruntime-node bundles. */
function fakeHost(o: {
  arch?: string;
  files?: string[];
  dirs?: Record<string, string[]>;
  bundled?: string[];
  env?: NodeJS.ProcessEnv;
  ldCache?: string;
}): Host {
  const arch = o.arch ?? 'x64';
  const files = new Set(o.files ?? []);
  return {
    platform: 'linux',
    arch,
    env: { HOME: '/home/u', ...o.env },
    ortDir: `/app/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}`,
    bundled: new Set(o.bundled ?? (arch === 'x64' ? ['cpu', 'webgpu'] : ['cpu'])),
    exists: (f) => files.has(f),
    list: (d) => o.dirs?.[d] ?? [],
    read: (f) => (f === '/etc/ld.so.cache' && o.ldCache ? Buffer.from(o.ldCache) : undefined),
  };
}

const ORT_X64 = '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';
const VULKAN_OK = {
  files: ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1'],
  dirs: { '/usr/share/vulkan/icd.d': ['lvp_icd.json', 'radeon_icd.json', 'intel_icd.json'] },
};

describe('provider detection: each reason in one line, with what to do', () => {
  const why = (p: 'cuda' | 'webgpu', h: Host): string | undefined => providerKinds[p].unavailable(h);

  it('cuda on x64: no NVIDIA driver and no provider library are both named, each with its fix', () => {
    const both = why('cuda', fakeHost({}));
    expect(both).toMatch(
      /no NVIDIA driver \(\/proc\/driver\/nvidia\/version is absent; install the NVIDIA driver/,
    );
    expect(both).toMatch(
      /libonnxruntime_providers_cuda\.so is missing; run scripts\/install-cuda-provider\.sh/,
    );
    expect(both).not.toMatch(/\n/);
    const driverOnly = why('cuda', fakeHost({ files: ['/proc/driver/nvidia/version'] }));
    expect(driverOnly).toMatch(/^the CUDA provider library is not installed/);
    const libOnly = why('cuda', fakeHost({ files: [`${ORT_X64}/libonnxruntime_providers_cuda.so`] }));
    expect(libOnly).toMatch(/^no NVIDIA driver/);
    expect(
      why(
        'cuda',
        fakeHost({ files: ['/proc/driver/nvidia/version', `${ORT_X64}/libonnxruntime_providers_cuda.so`] }),
      ),
    ).toBeUndefined();
  });

  it('cuda on arm64: a Jetson is pointed at docs/gpu.md, other arm64 boxes at cpu, a source build is tried', () => {
    expect(why('cuda', fakeHost({ arch: 'arm64', files: ['/etc/nv_tegra_release'] }))).toMatch(
      /Jetson .*the Jetson path in docs\/gpu\.md/,
    );
    expect(why('cuda', fakeHost({ arch: 'arm64' }))).toMatch(
      /CPU provider only and this is no Jetson: use cpu/,
    );
    const built =
      '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime_providers_cuda.so';
    expect(why('cuda', fakeHost({ arch: 'arm64', files: ['/etc/nv_tegra_release', built] }))).toBeUndefined();
  });

  it('webgpu: not bundled on arm64, no Vulkan loader, no Vulkan driver, each with its fix', () => {
    expect(why('webgpu', fakeHost({ arch: 'arm64', ...VULKAN_OK }))).toMatch(
      /linux\/arm64 has no WebGPU provider: use cpu, or cuda via the Jetson path in docs\/gpu\.md/,
    );
    expect(why('webgpu', fakeHost({ dirs: VULKAN_OK.dirs }))).toBe(
      'no Vulkan loader (libvulkan.so.1 not found): apt-get install libvulkan1, or run scripts/install-deps.sh',
    );
    expect(why('webgpu', fakeHost({ files: VULKAN_OK.files }))).toMatch(
      /^no Vulkan driver \(no \*\.json in \/usr\/share\/vulkan\/icd\.d or \/etc\/vulkan\/icd\.d\): install the GPU's driver, or mesa-vulkan-drivers >= 25 from bookworm-backports/,
    );
    expect(why('webgpu', fakeHost(VULKAN_OK))).toBeUndefined();
    // The loader found through ld.so.cache or LD_LIBRARY_PATH counts as well as a default folder.
    expect(why('webgpu', fakeHost({ dirs: VULKAN_OK.dirs, ldCache: '\0libvulkan.so.1\0' }))).toBeUndefined();
    expect(
      why(
        'webgpu',
        fakeHost({
          dirs: VULKAN_OK.dirs,
          files: ['/opt/vk/libvulkan.so.1'],
          env: { LD_LIBRARY_PATH: '/opt/vk' },
        }),
      ),
    ).toBeUndefined();
    // Drivers the environment names replace the folders: none of them existing is no driver.
    expect(
      why('webgpu', fakeHost({ ...VULKAN_OK, env: { VK_DRIVER_FILES: '/nonexistent/icd.json' } })),
    ).toMatch(
      /^no Vulkan driver \(none of the drivers VK_DRIVER_FILES\/VK_ICD_FILENAMES names exists: \/nonexistent\/icd\.json\)/,
    );
  });

  it('webgpu on lavapipe is marked software; a GPU with its device present is not', () => {
    const software = providerKinds.webgpu.software!;
    expect(software(fakeHost(VULKAN_OK))).toBe('software Vulkan: lavapipe');
    expect(
      software(fakeHost({ ...VULKAN_OK, dirs: { ...VULKAN_OK.dirs, '/dev/dri': ['renderD128'] } })),
    ).toBe(undefined);
    const nvidia = { '/usr/share/vulkan/icd.d': ['lvp_icd.json'], '/etc/vulkan/icd.d': ['nvidia_icd.json'] };
    expect(software(fakeHost({ dirs: nvidia, files: ['/proc/driver/nvidia/version'] }))).toBeUndefined();
    expect(software(fakeHost({ dirs: nvidia }))).toBe('software Vulkan: lavapipe');
  });

  it("onnxruntime's multi-line failures become one line with a fix", () => {
    const adapter = providerKinds.webgpu.explain!(
      '/onnxruntime_src/webgpu_context.cc:136 lambda was false. Failed to get a WebGPU adapter: No supported adapters\n',
    );
    expect(adapter).toMatch(/^no WebGPU adapter \(No supported adapters\): .*mesa-vulkan-drivers/);
    expect(providerKinds.cuda.explain!('libcudnn.so.9: cannot open shared\nobject file')).toMatch(
      /^libcudnn\.so\.9: cannot open shared object file \(the CUDA provider needs the CUDA 12 and cuDNN 9/,
    );
  });
});

describe('provider order and fall-through, loading for real', () => {
  const loaded: LoadedSession[] = [];
  afterAll(async () => {
    await Promise.all(loaded.map((l) => l.session.release()));
  });

  // This box's facts decide which provider must win; CI boxes have no NVIDIA driver.
  const cudaWhy = providerUnavailable('cuda');
  const webgpuWhy = providerUnavailable('webgpu');

  it.runIf(cudaWhy)('cuda, webgpu, cpu without CUDA: webgpu loads, cuda says why in one line', async () => {
    expect(webgpuWhy, 'webgpu must work here: run scripts/install-deps.sh (as root)').toBeUndefined();
    const { log, records } = memoryLogger();
    const opts: SessionOptions = { providers: ['cuda', 'webgpu', 'cpu'], threads: 1 };
    const a = await loadSession(DEMO_MODEL, opts, log);
    const b = await loadSession(DEMO_MODEL, opts, log);
    loaded.push(a, b);
    expect([a.provider, b.provider]).toEqual(['webgpu', 'webgpu']);
    const cudaLines = records.filter((r) => r.msg.startsWith('execution provider cuda not used: '));
    expect(cudaLines).toHaveLength(1);
    expect(cudaLines[0].msg).toBe(`execution provider cuda not used: ${cudaWhy}`);
    const loadedLines = records.filter((r) => r.msg.startsWith('model loaded on webgpu'));
    expect(loadedLines).toHaveLength(2);
    if (a.software)
      expect(loadedLines[0].msg).toMatch(/\(software Vulkan: \w+ — for tests, not production speed\)$/);
  });

  it.runIf(cudaWhy)('cuda, cpu without CUDA: cpu loads', async () => {
    const { log, records } = memoryLogger();
    const s = await loadSession(DEMO_MODEL, { providers: ['cuda', 'cpu'], threads: 1 }, log);
    loaded.push(s);
    expect(s.provider).toBe('cpu');
    expect(s.software).toBeUndefined();
    expect(records.map((r) => r.msg)).toEqual([
      `execution provider cuda not used: ${cudaWhy}`,
      'model loaded on cpu',
    ]);
  });

  it('webgpu that passes detection but fails to load (a driver with no device) falls through to cpu with one warning', async () => {
    // In a child process: a failed WebGPU start stays failed for the life of the process.
    const icdDir = tempDir('icd');
    const icd = path.join(icdDir, 'broken_icd.json');
    mkdirSync(icdDir, { recursive: true });
    writeFileSync(
      icd,
      JSON.stringify({
        file_format_version: '1.0.0',
        ICD: { library_path: '/nonexistent/libvulkan_broken.so', api_version: '1.3.0' },
      }),
    );
    const data = await smallDataset(1);
    const r = await runCli(['eval', '--recipe', DEMO_DIR, '--dataset', data], {
      INSPECTD_PROVIDERS: 'webgpu,cpu',
      INSPECTD_LOG_PRETTY: 'never',
      VK_DRIVER_FILES: icd,
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = logLines(r.stderr);
    const failed = lines.filter((l) => l.msg.startsWith('execution provider webgpu failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0].level).toBe(40);
    expect(failed[0].msg).toMatch(
      /^execution provider webgpu failed, trying the next: no WebGPU adapter \(No supported adapters\): /,
    );
    expect(lines.filter((l) => l.msg === 'model loaded on cpu')).toHaveLength(1);
  });
});

describe('inference.providers in the configuration', () => {
  it('accepts cuda, webgpu and cpu in any order', () => {
    expect(loadConfig(undefined, { INSPECTD_PROVIDERS: 'webgpu,cpu' }).inference.providers).toEqual([
      'webgpu',
      'cpu',
    ]);
    expect(loadConfig(undefined, {}).inference.providers).toEqual(['cuda', 'cpu']);
  });

  it('an unknown, repeated or empty list fails at start-up naming the setting, the value and what is allowed', () => {
    const allowed = 'allowed: a non-empty list drawn from cuda, webgpu, cpu, each at most once';
    expect(() => loadConfig(undefined, { INSPECTD_PROVIDERS: 'cuda,tpu' })).toThrow(
      new RegExp(
        `inference\\.providers: got "cuda,tpu" \\(from environment variable INSPECTD_PROVIDERS\\); ${allowed}`,
      ),
    );
    expect(() => loadConfig(undefined, { INSPECTD_PROVIDERS: 'cpu,cpu' })).toThrow(
      /got "cpu,cpu".*each at most once/,
    );
    const file = path.join(tempDir('providers'), 'c.json');
    writeFileSync(file, JSON.stringify({ inference: { providers: [] } }));
    expect(() => loadConfig(file, {})).toThrow(
      new RegExp(`inference\\.providers: got \\[\\]; ${allowed}; fix: set inference\\.providers to`),
    );
  });
});

describe('scripts/install-cuda-provider.sh offline, into a scratch folder', () => {
  const SCRIPT = path.join(ROOT, 'scripts', 'install-cuda-provider.sh');
  const LIBS = [
    'libonnxruntime_providers_cuda.so',
    'libonnxruntime_providers_shared.so',
    'libonnxruntime_providers_tensorrt.so',
  ];

  /** A stand-in for onnxruntime-linux-x64-gpu-<version>.tgz: the release's layout, placeholder libraries. */
  async function fakeRelease(version: string): Promise<{ file: string; sha: string }> {
    const dir = tempDir('ort-gpu');
    const top = `onnxruntime-linux-x64-gpu-${version}`;
    mkdirSync(path.join(dir, top, 'lib'), { recursive: true });
    for (const lib of [...LIBS, `libonnxruntime.so.${version}`])
      writeFileSync(path.join(dir, top, 'lib', lib), `placeholder ${lib}\n`);
    const file = path.join(dir, `${top}.tgz`);
    const tar = await runProcess('tar', ['-czf', file, '-C', dir, top]);
    expect(tar.code, tar.stderr).toBe(0);
    return { file, sha: createHash('sha256').update(readFileSync(file)).digest('hex') };
  }
  const install = (...args: string[]) => runProcess('bash', [SCRIPT, ...args]);
  const ORT_VERSION = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

  it('refuses an archive whose sha256 differs, and installs nothing', async () => {
    const { file, sha } = await fakeRelease(ORT_VERSION);
    const dest = tempDir('dest');
    const wrong = sha.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const r = await install('--archive', file, '--sha256', wrong, '--dest', dest);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refused: ${file} has sha256 ${sha}, not the expected ${wrong}`);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('refuses a release of another onnxruntime version', async () => {
    const { file, sha } = await fakeRelease('1.2.3');
    const r = await install('--archive', file, '--sha256', sha, '--dest', tempDir('dest'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`is onnxruntime 1.2.3, but node_modules has onnxruntime-node ${ORT_VERSION}`);
    expect(r.stderr).toContain(`bring onnxruntime-linux-x64-gpu-${ORT_VERSION}.tgz`);
  });

  it('with the right sha256 extracts the provider libraries, then says what the runtime lacks', async () => {
    const { file, sha } = await fakeRelease(ORT_VERSION);
    const dest = tempDir('dest');
    const r = await install('--archive', file, '--sha256', sha.toUpperCase(), '--dest', dest);
    // 0 on a box with the NVIDIA driver, CUDA 12 and cuDNN 9; 3 (installed, not usable yet) elsewhere.
    expect([0, 3], r.stdout + r.stderr).toContain(r.code);
    expect(readdirSync(dest).sort()).toEqual(LIBS);
    for (const lib of LIBS) expect(readFileSync(path.join(dest, lib), 'utf8')).toBe(`placeholder ${lib}\n`);
    if (r.code === 3)
      expect(r.stdout).toMatch(/libcudnn\.so\.9: cuDNN 9 for CUDA 12|no NVIDIA driver is loaded/);
  });

  it('without --sha256, or with an unknown option, is a usage error (exit 2)', async () => {
    const { file } = await fakeRelease(ORT_VERSION);
    const r = await install('--archive', file, '--dest', tempDir('dest'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--archive needs --sha256 HEX/);
    expect((await install('--bogus')).code).toBe(2);
  });
});
