import { describe, expect, it } from 'vitest';
import { InspectdError } from '../../../../src/core/errors.js';
import { decodeEntities, parseXml } from '../../../../src/sources/gige/genicam/xml.js';

describe('GenICam XML reader', () => {
  it('reads elements, attributes, text, comments, CDATA, entities and a declaration', () => {
    const root = parseXml(`\uFEFF<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE x [ <!ENTITY foo "bar"> ]>
<!-- head -->
<gen:Root a="1" b='two &amp; &#x33;' xmlns:gen="urn:x">
  <Item Name="A">x &lt; y &#65; &unknown;</Item>
  <!-- <Item Name="commented"/> -->
  <Item Name="B"/>
  <Formula><![CDATA[A<B && C>D]]></Formula>
</gen:Root>`);
    expect(root.name).toBe('Root');
    expect(root.attrs).toMatchObject({ a: '1', b: 'two & 3' });
    expect(root.children.map((c) => c.name)).toEqual(['Item', 'Item', 'Formula']);
    expect(root.children[0].text).toBe('x < y A &unknown;');
    expect(root.children[1].attrs.Name).toBe('B');
    expect(root.children[2].text).toBe('A<B && C>D');
    expect(root.children[1].line).toBe(7);
  });

  it('decodes entities without touching unknown ones', () => {
    expect(decodeEntities('&quot;&apos;&gt;&#0;&#x110000;')).toBe(`"'>&#0;&#x110000;`);
  });

  it('refuses malformed documents with the line', () => {
    const cases: [string, RegExp][] = [
      ['<a><b></a>', /closes <b>/],
      ['<a>', /never closed/],
      ['<a></a><b/>', /second root/],
      ['text', /outside the root/],
      ['<a x=1/>', /bad attribute/],
      ['<a><!-- x </a>', /unterminated comment/],
      ['', /no root/],
      ['<a>\n\n</b>', /line 3/],
    ];
    for (const [xml, re] of cases) expect(() => parseXml(xml), xml).toThrow(re);
    expect(() => parseXml('<a/>')).not.toThrow();
  });

  it('bounds size and depth', () => {
    expect(() => parseXml('<a/>'.padEnd(2000, ' '), { maxBytes: 1000 })).toThrow(/over the 1000-byte limit/);
    const deep = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n);
    expect(() => parseXml(deep(64))).not.toThrow();
    const e = (() => {
      try {
        parseXml(deep(65));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InspectdError);
    expect((e as Error).message).toMatch(/nested deeper than 64/);
  });
});
