/**
 * A small, dependency-free XML reader for GenICam register descriptions: elements, attributes, text,
 * comments, CDATA, processing instructions, a skipped DOCTYPE and the predefined and numeric entities.
 * Bounded: documents over `maxBytes` and nesting over `maxDepth` are refused. No DTD, no external entities.
 */
import { InspectdError } from '../../../core/errors.js';

export interface XmlElement {
  /** Local name (any `prefix:` removed). */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated direct text content (entities decoded, CDATA included), untrimmed. */
  text: string;
  /** 1-based line of the start tag, for messages. */
  line: number;
}

export interface XmlParseOptions {
  /** Largest document accepted, in UTF-16 code units (about bytes for GenICam's ASCII XML). */
  maxBytes?: number;
  maxDepth?: number;
}

export const XML_MAX_BYTES = 32 * 1024 * 1024;
export const XML_MAX_DEPTH = 64;

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined and numeric entities; an unknown entity is kept as written. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{0,15});/g, (all, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    return NAMED[ref] ?? all;
  });
}

const localName = (n: string): string => {
  const i = n.indexOf(':');
  return i >= 0 ? n.slice(i + 1) : n;
};

/** Parses `xml` and returns its root element. Throws InspectdError with a line number when malformed. */
export function parseXml(xml: string, opts: XmlParseOptions = {}): XmlElement {
  const maxBytes = opts.maxBytes ?? XML_MAX_BYTES;
  const maxDepth = opts.maxDepth ?? XML_MAX_DEPTH;
  if (xml.length > maxBytes)
    throw new InspectdError(`XML document of ${xml.length} bytes is over the ${maxBytes}-byte limit`, {
      subject: 'GenICam XML',
      value: xml.length,
      fix: 'check the camera firmware: GenICam XML files are normally well under 1 MiB',
    });
  let pos = 0;
  let line = 1;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (what: string): never => {
    throw new InspectdError(`malformed XML at line ${line}: ${what}`, {
      subject: 'GenICam XML',
      fix: 'check the camera firmware; report the camera model with its XML',
    });
  };
  const advanceTo = (end: number): void => {
    for (let i = pos; i < end; i++) if (xml.charCodeAt(i) === 10) line++;
    pos = end;
  };
  const skipPast = (marker: string, what: string): string => {
    const end = xml.indexOf(marker, pos);
    if (end < 0) fail(`unterminated ${what}`);
    const body = xml.slice(pos, end);
    advanceTo(end + marker.length);
    return body;
  };
  const addText = (t: string): void => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
    else if (t.trim() !== '') fail('text outside the root element');
  };

  if (xml.charCodeAt(0) === 0xfeff) pos = 1;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    if (lt < 0) {
      addText(decodeEntities(xml.slice(pos)));
      advanceTo(xml.length);
      break;
    }
    if (lt > pos) {
      const raw = xml.slice(pos, lt);
      advanceTo(lt);
      addText(decodeEntities(raw));
    }
    if (xml.startsWith('<!--', pos)) {
      advanceTo(pos + 4);
      skipPast('-->', 'comment');
    } else if (xml.startsWith('<![CDATA[', pos)) {
      advanceTo(pos + 9);
      addText(skipPast(']]>', 'CDATA section'));
    } else if (xml.startsWith('<?', pos)) {
      advanceTo(pos + 2);
      skipPast('?>', 'processing instruction');
    } else if (xml.startsWith('<!', pos)) {
      // DOCTYPE (with an optional internal subset in brackets): skipped, never interpreted.
      let i = pos + 2;
      let bracket = 0;
      for (; i < xml.length; i++) {
        const c = xml[i];
        if (c === '[') bracket++;
        else if (c === ']') bracket--;
        else if (c === '>' && bracket <= 0) break;
      }
      if (i >= xml.length) fail('unterminated declaration');
      advanceTo(i + 1);
    } else if (xml.startsWith('</', pos)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(pos, pos + 300));
      if (!m) fail('bad end tag');
      const top = stack.pop();
      if (!top) fail(`end tag </${m![1]}> without a start tag`);
      if (top!.name !== localName(m![1]))
        fail(`end tag </${m![1]}> closes <${top!.name}> (line ${top!.line})`);
      advanceTo(pos + m![0].length);
    } else {
      const nameMatch = /^<([A-Za-z_][\w.:-]*)/.exec(xml.slice(pos, pos + 300));
      if (!nameMatch) fail("'<' not starting a tag");
      const startLine = line;
      let i = pos + nameMatch![0].length;
      const attrs: Record<string, string> = {};
      let selfClosing = false;
      for (;;) {
        while (i < xml.length && /\s/.test(xml[i])) i++;
        if (i >= xml.length) fail(`unterminated start tag <${nameMatch![1]}>`);
        if (xml[i] === '>') {
          i++;
          break;
        }
        if (xml.startsWith('/>', i)) {
          i += 2;
          selfClosing = true;
          break;
        }
        const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml.slice(i, i + 65536));
        if (!a) {
          advanceTo(i);
          fail(`bad attribute in <${nameMatch![1]}>`);
        }
        attrs[a![1]] = decodeEntities(a![3] ?? a![4] ?? '');
        i += a![0].length;
      }
      const el: XmlElement = {
        name: localName(nameMatch![1]),
        attrs,
        children: [],
        text: '',
        line: startLine,
      };
      advanceTo(i);
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > maxDepth) fail(`elements nested deeper than ${maxDepth}`);
      }
    }
  }
  if (stack.length)
    fail(`<${stack[stack.length - 1].name}> (line ${stack[stack.length - 1].line}) is never closed`);
  if (!root) fail('no root element');
  return root!;
}
