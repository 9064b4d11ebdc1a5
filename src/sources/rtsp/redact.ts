/**
 * Credentials never reach a log line or an error: camera URLs carry them (rtsp://user:pass@host/...), and
 * ffmpeg echoes the URL in its messages. Everything the RTSP source logs goes through these.
 */

/** scheme://userinfo@ — greedy up to the last "@" before the path, as ffmpeg's URL splitter reads it. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s'"?#@]*(?:@[^/\s'"?#@]*)*@/gi;

const MASK = '***:***@';

/** The URL with any user name and password replaced by `***:***`. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, `$1${MASK}`);
}

/** The user and password in a URL, as written (percent-encoded) and decoded: what ffmpeg may print. */
export function secretsOf(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url);
  if (!m) return [];
  const out = new Set<string>();
  const info = m[1];
  out.add(info);
  const colon = info.indexOf(':');
  const parts = colon < 0 ? [info] : [info.slice(0, colon), info.slice(colon + 1)];
  for (const p of parts) {
    out.add(p);
    try {
      out.add(decodeURIComponent(p));
    } catch {
      // not valid percent-encoding: the raw form is all ffmpeg can print
    }
  }
  // Very short strings would mask ordinary words of ffmpeg's messages; inside URLs they are masked anyway.
  return [...out].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

/** A redactor for one camera: URLs' userinfo masked, then its own user and password wherever they appear. */
export function redactorFor(url: string): (text: string) => string {
  const secrets = secretsOf(url);
  return (text: string): string => {
    let out = redactUrl(text);
    for (const s of secrets) out = out.split(s).join('***');
    return out;
  };
}
