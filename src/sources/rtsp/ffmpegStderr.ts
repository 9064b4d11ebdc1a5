/**
 * ffmpeg's stderr turned into facts and useful log lines: the input codec and size, the output size (the
 * frame size when the camera's own is used), the problem that ended a run (auth, 404, refused, codec...),
 * decode warnings counted rather than logged, and the last lines kept (credentials masked) for a failure.
 */

export type ProblemKind =
  | 'auth'
  | 'forbidden'
  | 'not-found'
  | 'server'
  | 'refused'
  | 'unreachable'
  | 'dns'
  | 'transport'
  | 'no-video'
  | 'decoder-missing'
  | 'hwaccel'
  | 'ffmpeg-args'
  | 'bad-stream';

export interface Problem {
  kind: ProblemKind;
  /** What happened, in words, for the log line. */
  summary: string;
  /** What to do about it. */
  fix: string;
}

interface Rule extends Problem {
  test: RegExp;
}

/** First match wins; the order puts specific messages before generic ones. */
const RULES: readonly Rule[] = [
  {
    kind: 'auth',
    test: /401 Unauthorized|authorization failed/i,
    summary: 'the camera refused the credentials (401 Unauthorized)',
    fix: 'check the user name and password in the URL (rtsp://user:password@host/...; percent-encode @ : / in them)',
  },
  {
    kind: 'forbidden',
    test: /403 Forbidden/i,
    summary: 'the camera denied access to this stream (403 Forbidden)',
    fix: "check the user's rights on the camera and the stream path",
  },
  {
    kind: 'not-found',
    test: /404 Not Found/i,
    summary: 'the camera has no stream at this path (404 Not Found)',
    fix: "check the path in the URL against the camera's documentation (e.g. /stream1, /Streaming/Channels/101)",
  },
  {
    kind: 'transport',
    test: /Unsupported transport|Nonmatching transport/i,
    summary: 'the camera does not accept this RTSP transport',
    fix: 'set transport to the other value (tcp or udp)',
  },
  {
    kind: 'server',
    test: /Server returned 5\d\d|method \w+ failed: 5\d\d/i,
    summary: 'the camera reported an internal error (5xx)',
    fix: 'the camera may be overloaded (too many clients) or need a reboot',
  },
  {
    kind: 'refused',
    test: /Connection refused/i,
    summary: 'nothing accepts connections at this host and port (connection refused)',
    fix: 'check the host and port in the URL (RTSP is usually 554) and that the camera is on',
  },
  {
    kind: 'dns',
    test: /Failed to resolve hostname|Name or service not known|Temporary failure in name resolution/i,
    summary: 'the camera host name does not resolve',
    fix: 'check the host name in the URL, or use the IP address',
  },
  {
    kind: 'unreachable',
    test: /Connection timed out|No route to host|Network is unreachable|Host is unreachable/i,
    summary: 'the camera cannot be reached (timed out or no route)',
    fix: 'check the network path to the camera (cable, VLAN, firewall) and its address',
  },
  {
    kind: 'decoder-missing',
    test: /Unknown decoder|Decoder \(codec [^)]*\) not found|Decoder not found/i,
    summary: 'this ffmpeg has no decoder for the stream or the chosen preset',
    fix: 'pick another hwaccel preset (or none), or an ffmpeg built with that decoder (ffmpeg -decoders)',
  },
  {
    kind: 'hwaccel',
    test: /Device creation failed|Failed setup for format|Cannot load libcuda|Could not dynamically load CUDA|hwaccel initiali[sz]ation returned error|No VA display found|Failed to initialise VAAPI|No device available for decoder/i,
    summary: 'hardware decoding could not start',
    fix: 'set hwaccel to none, or install the GPU driver and give the service access to the device',
  },
  {
    kind: 'no-video',
    test: /matches no streams|does not contain any stream|Could not find codec parameters/i,
    summary: 'the stream has no usable video track',
    fix: 'check the stream path: some cameras serve audio-only or metadata streams on other paths',
  },
  {
    kind: 'ffmpeg-args',
    test: /Unrecognized option|Option \S+ not found|Error splitting the argument list|No such filter|Error (?:re)?initiali[sz]ing filter|Invalid argument$/i,
    summary: 'ffmpeg rejected its arguments',
    fix: 'check inputArgs/outputArgs (and that this ffmpeg supports them: ffmpeg -h full)',
  },
  {
    kind: 'bad-stream',
    test: /Invalid data found when processing input/i,
    summary: 'the camera sent data ffmpeg cannot read as a video stream',
    fix: 'check that the URL points to an RTSP video stream (H.264/H.265/MJPEG)',
  },
];

/** Decode hiccups: counted (packet loss shows up here), never one log line each. */
const DECODE_WARNING =
  /error while decoding|concealing \d+|non-existing PPS|no frame!|RTP: missed|corrupt decoded frame|left block unavailable|Missing reference picture|co located POCs unavailable|max delay reached/i;

/** The problem a stderr line reports, or undefined. */
export function classifyLine(line: string): Problem | undefined {
  const r = RULES.find((x) => x.test.test(line));
  return r && { kind: r.kind, summary: r.summary, fix: r.fix };
}

export const isDecodeWarning = (line: string): boolean => DECODE_WARNING.test(line);

export interface VideoStream {
  codec: string;
  width: number;
  height: number;
}

/** `Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 25 fps` -> parts. */
export function parseVideoStream(line: string): VideoStream | undefined {
  const m = /^\s*Stream #\d+:\d+\S*: Video: ([^\s,]+)/.exec(line);
  if (!m) return undefined;
  // The size is a ", WxH" field; a codec tag like "0x18424752" never follows a comma.
  const s = /, (\d+)x(\d+)(?=[\s,[]|$)/.exec(line);
  if (!s) return undefined;
  return { codec: m[1], width: Number(s[1]), height: Number(s[2]) };
}

/** One ffmpeg run's stderr, fed in chunks. */
export class FfmpegStderr {
  input: VideoStream | undefined;
  output: VideoStream | undefined;
  /** The first problem seen this run. */
  problem: Problem | undefined;
  /** The line that showed it (credentials masked). */
  problemLine: string | undefined;
  decodeWarnings = 0;

  private readonly lines: string[] = [];
  private partial = '';
  private section: 'none' | 'input' | 'output' = 'none';

  constructor(
    private readonly redact: (s: string) => string,
    private readonly onOutput: (v: VideoStream) => void = () => {},
    private readonly keep = 40,
  ) {}

  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split(/\r\n|\n|\r/);
    this.partial = parts.pop() ?? '';
    // A runaway line without newline (never seen, but bounded): treat it as a line.
    if (this.partial.length > 8192) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const line of parts) this.line(line);
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  /** The last lines (credentials masked), oldest first. */
  tail(): string[] {
    return [...this.lines];
  }

  private line(raw: string): void {
    if (!raw.trim()) return;
    const line = this.redact(raw);
    if (isDecodeWarning(line)) {
      this.decodeWarnings++;
    } else {
      this.lines.push(line);
      if (this.lines.length > this.keep) this.lines.shift();
    }
    if (/^Input #\d+/.test(line)) this.section = 'input';
    else if (/^Output #\d+/.test(line)) this.section = 'output';
    else if (/^Stream mapping:/.test(line)) this.section = 'none';
    const v = this.section === 'none' ? undefined : parseVideoStream(line);
    if (v && this.section === 'input' && !this.input) this.input = v;
    if (v && this.section === 'output' && !this.output) {
      this.output = v;
      this.onOutput(v);
    }
    if (!this.problem) {
      const p = classifyLine(line);
      if (p) {
        this.problem = p;
        this.problemLine = line.trim();
      }
    }
  }
}
