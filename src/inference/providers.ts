import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/**
 * The execution providers inspectd knows, one row each: what onnxruntime is given, and how to tell without
 * trying why it cannot work on this box (a failed try makes onnxruntime print alarming errors of its own, and
 * its messages name a source line, not the package to install). docs/gpu.md explains each case.
 */
export const PROVIDER_NAMES = ['cuda', 'webgpu', 'cpu'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** What the checks read of the box, so tests can describe a Jetson or a box without Vulkan. */
export interface Host {
  platform: NodeJS.Platform;
  arch: string;
  env: NodeJS.ProcessEnv;
  /** onnxruntime-node's native library folder. */
  ortDir: string;
  /** Providers this onnxruntime-node build carries in its own binary (not downloaded later). */
  bundled: ReadonlySet<string>;
  exists(file: string): boolean;
  /** File names in a folder; [] when it is missing. */
  list(dir: string): string[];
  /** A file's bytes; undefined when it cannot be read. */
  read(file: string): Buffer | undefined;
}

export interface ProviderKind {
  /** How onnxruntime-node is asked for it. */
  option: ort.InferenceSession.ExecutionProviderConfig;
  /** Why it cannot work here, with what to do, or undefined when it may. */
  unavailable(host: Host): string | undefined;
  /** Set when it would run on a software renderer, named (e.g. "software Vulkan: lavapipe"). */
  software?(host: Host): string | undefined;
  /** A load failure in one line, with a hint where onnxruntime's own words do not say what to do. */
  explain?(message: string): string;
}

/** Where onnxruntime-node keeps its native libraries (the CUDA provider goes beside them). */
export function ortBinaryDir(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return path.resolve(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** This box as it is now (read when a session loads, never per frame). */
export function thisHost(): Host {
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    ortDir: ortBinaryDir(),
    bundled: new Set(
      ort
        .listSupportedBackends()
        .filter((b) => b.bundled)
        .map((b) => b.name),
    ),
    exists: existsSync,
    list: (dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    },
    read: (file) => {
      try {
        return readFileSync(file);
      } catch {
        return undefined;
      }
    },
  };
}

const NVIDIA_DRIVER = '/proc/driver/nvidia/version';
const JETSON_RELEASE = '/etc/nv_tegra_release';
const CUDA_LIB = 'libonnxruntime_providers_cuda.so';

/** onnxruntime's messages run over lines and start with a source path; the log wants one line. */
export const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * Whether the dynamic linker can find `lib` the way dlopen looks: LD_LIBRARY_PATH, then ld.so.cache (whose
 * entries are plain strings in the file), then the default folders.
 */
export function libraryFindable(host: Host, lib: string): boolean {
  const multiarch = host.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const dirs = [
    ...(host.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    `/lib/${multiarch}`,
    `/usr/lib/${multiarch}`,
    '/lib64',
    '/usr/lib64',
    '/lib',
    '/usr/lib',
  ];
  if (dirs.some((d) => host.exists(path.join(d, lib)))) return true;
  return host.read('/etc/ld.so.cache')?.includes(lib) ?? false;
}

function cudaUnavailable(host: Host): string | undefined {
  const lib = path.join(host.ortDir, CUDA_LIB);
  // A binding built from source (the Jetson path) has the library beside it: then it is worth a try anywhere.
  const libThere = host.exists(lib);
  if (host.platform !== 'linux' || (host.arch !== 'x64' && host.arch !== 'arm64')) {
    return libThere ? undefined : `onnxruntime-node has no CUDA provider for ${host.platform}/${host.arch}`;
  }
  if (host.arch === 'arm64') {
    if (libThere) return undefined;
    return host.exists(JETSON_RELEASE)
      ? `this is a Jetson (${JETSON_RELEASE}) and the prebuilt onnxruntime-node for linux/arm64 has no CUDA provider: build it with CUDA and TensorRT (the Jetson path in docs/gpu.md), or use cpu`
      : 'onnxruntime-node for linux/arm64 has the CPU provider only and this is no Jetson: use cpu';
  }
  const noDriver = host.exists(NVIDIA_DRIVER)
    ? undefined
    : `no NVIDIA driver (${NVIDIA_DRIVER} is absent; install the NVIDIA driver for this GPU)`;
  const noLib = libThere
    ? undefined
    : `the CUDA provider library is not installed (${lib} is missing; run scripts/install-cuda-provider.sh, online or with --archive, see docs/gpu.md)`;
  return noDriver && noLib ? `${noDriver}, and ${noLib}` : (noDriver ?? noLib);
}

/** The folders the Vulkan loader reads driver manifests (ICDs) from, or the files the environment names. */
function vulkanIcds(host: Host): { files: string[]; where: string } {
  const named = host.env.VK_DRIVER_FILES ?? host.env.VK_ICD_FILENAMES;
  if (named) {
    const files = named.split(':').flatMap((f) =>
      f.endsWith('.json')
        ? host.exists(f)
          ? [f]
          : []
        : host
            .list(f)
            .filter((n) => n.endsWith('.json'))
            .map((n) => path.join(f, n)),
    );
    return { files, where: `none of the drivers VK_DRIVER_FILES/VK_ICD_FILENAMES names exists: ${named}` };
  }
  const home = host.env.HOME ?? os.homedir();
  const dirs = [
    host.env.XDG_CONFIG_HOME ?? path.join(home, '.config'),
    ...(host.env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':'),
    '/etc',
    host.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'),
    ...(host.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':'),
  ]
    .filter(Boolean)
    .map((d) => path.join(d, 'vulkan', 'icd.d'));
  const files = [...new Set(dirs)].flatMap((d) =>
    host
      .list(d)
      .filter((n) => n.endsWith('.json'))
      .map((n) => path.join(d, n)),
  );
  return { files, where: 'no *.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d' };
}

const SOFTWARE_ICDS: [RegExp, string][] = [
  [/^lvp_icd/, 'lavapipe'],
  [/swiftshader/i, 'SwiftShader'],
];

function webgpuUnavailable(host: Host): string | undefined {
  if (!host.bundled.has('webgpu')) {
    return host.arch === 'arm64'
      ? `onnxruntime-node for ${host.platform}/arm64 has no WebGPU provider: use cpu, or cuda via the Jetson path in docs/gpu.md`
      : `onnxruntime-node for ${host.platform}/${host.arch} has no WebGPU provider bundled: use cpu or cuda`;
  }
  // Elsewhere Dawn runs on D3D12 or Metal, which the system always has.
  if (host.platform !== 'linux') return undefined;
  if (!libraryFindable(host, 'libvulkan.so.1')) {
    return 'no Vulkan loader (libvulkan.so.1 not found): apt-get install libvulkan1, or run scripts/install-deps.sh';
  }
  const { files, where } = vulkanIcds(host);
  if (files.length === 0) {
    return `no Vulkan driver (${where}): install the GPU's driver, or mesa-vulkan-drivers >= 25 from bookworm-backports for software rendering (scripts/install-deps.sh)`;
  }
  return undefined;
}

/**
 * The software renderer WebGPU will land on, when no hardware driver has a device here. Dawn prefers a
 * discrete or integrated adapter over a CPU one, so software is only used when every hardware ICD lacks its
 * device: NVIDIA's needs its kernel driver, Mesa's and AMD's a DRM render node.
 */
function webgpuSoftware(host: Host): string | undefined {
  if (host.platform !== 'linux') return undefined;
  const names = vulkanIcds(host).files.map((f) => path.basename(f));
  const soft = names.map((n) => SOFTWARE_ICDS.find(([re]) => re.test(n))?.[1]).filter(Boolean);
  if (soft.length === 0) return undefined;
  const renderNode = host.list('/dev/dri').some((n) => n.startsWith('renderD'));
  const hardware = names.some(
    (n) =>
      !SOFTWARE_ICDS.some(([re]) => re.test(n)) &&
      (/nvidia/i.test(n) ? host.exists(NVIDIA_DRIVER) : renderNode),
  );
  return hardware ? undefined : `software Vulkan: ${soft[0]}`;
}

export const providerKinds: Record<ProviderName, ProviderKind> = {
  cuda: {
    option: 'cuda',
    unavailable: cudaUnavailable,
    explain: (m) =>
      /cannot open shared object file|libcu|libcudnn/.test(m)
        ? `${oneLine(m)} (the CUDA provider needs the CUDA 12 and cuDNN 9 runtime libraries on the library path: scripts/install-cuda-provider.sh says which are missing)`
        : oneLine(m),
  },
  webgpu: {
    option: { name: 'webgpu' },
    unavailable: webgpuUnavailable,
    software: webgpuSoftware,
    explain: (m) => {
      const adapter = /Failed to get a WebGPU adapter:\s*(.*)/s.exec(m);
      return adapter
        ? `no WebGPU adapter (${oneLine(adapter[1])}): the Vulkan drivers installed have no device here; install the GPU's driver, or mesa-vulkan-drivers >= 25 from bookworm-backports for software rendering`
        : oneLine(m);
    },
  },
  cpu: {
    option: 'cpu',
    unavailable: () => undefined,
  },
};
