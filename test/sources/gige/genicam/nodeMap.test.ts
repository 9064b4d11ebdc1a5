import { describe, expect, it } from 'vitest';
import { InspectdError } from '../../../../src/core/errors.js';
import { NodeMap } from '../../../../src/sources/gige/genicam/nodeMap.js';
import { MemoryPort } from '../../../../src/sources/gige/genicam/port.js';

const doc = (body: string): string =>
  `<?xml version="1.0"?><RegisterDescription ModelName="T" VendorName="T">${body}<Port Name="Device"/></RegisterDescription>`;

const reg = (name: string, address: number, extra = '', length = 4): string => `
  <IntReg Name="${name}"><Address>0x${address.toString(16)}</Address><Length>${length}</Length>
    <AccessMode>RW</AccessMode><pPort>Device</pPort>${extra}</IntReg>`;

async function rejection(p: Promise<unknown>): Promise<InspectdError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InspectdError);
  return e as InspectdError;
}

describe('GenICam node map on hand-written XML', () => {
  it('reads and writes IntReg in both endianesses and signs', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(
        reg('BE', 0x10, '<Endianess>BigEndian</Endianess>') +
          reg('LE', 0x20, '<Endianess>LittleEndian</Endianess>') +
          reg('DefaultLE', 0x20) +
          reg('S16', 0x30, '<Sign>Signed</Sign><Endianess>BigEndian</Endianess>', 2) +
          reg('U64', 0x40, '<Endianess>BigEndian</Endianess>', 8),
      ),
      port,
    );
    port.set(0x10, Buffer.from([0x12, 0x34, 0x56, 0x78]));
    port.set(0x20, Buffer.from([0x12, 0x34, 0x56, 0x78]));
    expect(await map.getInteger('BE')).toBe(0x12345678);
    expect(await map.getInteger('LE')).toBe(0x78563412);
    expect(await map.getInteger('DefaultLE')).toBe(0x78563412);
    await map.setInteger('LE', 0x01020304);
    expect(port.get(0x20, 4)).toEqual(Buffer.from([4, 3, 2, 1]));
    port.set(0x30, Buffer.from([0xff, 0xfe]));
    expect(await map.getInteger('S16')).toBe(-2);
    await map.setInteger('S16', -300);
    expect(port.get(0x30, 2).readInt16BE(0)).toBe(-300);
    expect(await map.integerRange('S16')).toEqual({ min: -32768, max: 32767, inc: 1 });
    expect((await rejection(map.setInteger('S16', 40000))).message).toMatch(
      /S16: 40000 is out of range -32768\.\.32767/,
    );
    await map.setInteger('U64', 2 ** 40 + 5);
    expect(port.get(0x40, 8).readBigUInt64BE(0)).toBe(2n ** 40n + 5n);
    expect(await map.getInteger('U64')).toBe(2 ** 40 + 5);
  });

  it('reads and writes MaskedIntReg fields (LSB/MSB, Bit, sign) without touching the other bits', async () => {
    const port = new MemoryPort();
    const masked = (name: string, bits: string, endian: string, sign = 'Unsigned'): string => `
      <MaskedIntReg Name="${name}"><Address>0x100</Address><Length>4</Length><AccessMode>RW</AccessMode>
        <pPort>Device</pPort>${bits}<Sign>${sign}</Sign><Endianess>${endian}</Endianess></MaskedIntReg>`;
    const map = NodeMap.fromXml(
      doc(
        masked('LeLow', '<LSB>0</LSB><MSB>7</MSB>', 'LittleEndian') +
          masked('LeMid', '<LSB>8</LSB><MSB>15</MSB>', 'LittleEndian', 'Signed') +
          masked('LeBit', '<Bit>31</Bit>', 'LittleEndian') +
          // Big-endian: bit 0 is the most significant bit, so LSB=31 MSB=24 is the low byte.
          masked('BeLow', '<LSB>31</LSB><MSB>24</MSB>', 'BigEndian') +
          masked('BeTopBit', '<Bit>0</Bit>', 'BigEndian'),
      ),
      port,
    );
    port.set(0x100, Buffer.from([0x11, 0xfe, 0x00, 0x80])); // little-endian 0x8000fe11
    expect(await map.getInteger('LeLow')).toBe(0x11);
    expect(await map.getInteger('LeMid')).toBe(-2);
    expect(await map.getInteger('LeBit')).toBe(1);
    expect(await map.integerRange('LeMid')).toEqual({ min: -128, max: 127, inc: 1 });
    await map.setInteger('LeLow', 0xab);
    expect(port.get(0x100, 4)).toEqual(Buffer.from([0xab, 0xfe, 0x00, 0x80]));
    await map.setInteger('LeMid', -1);
    await map.setInteger('LeBit', 0);
    expect(port.get(0x100, 4)).toEqual(Buffer.from([0xab, 0xff, 0x00, 0x00]));
    expect((await rejection(map.setInteger('LeLow', 256))).message).toMatch(/256 is out of range 0\.\.255/);

    port.set(0x100, Buffer.from([0x80, 0x00, 0x00, 0x42])); // big-endian 0x80000042
    expect(await map.getInteger('BeLow')).toBe(0x42);
    expect(await map.getInteger('BeTopBit')).toBe(1);
    await map.setInteger('BeLow', 0x7f);
    await map.setInteger('BeTopBit', 0);
    expect(port.get(0x100, 4)).toEqual(Buffer.from([0x00, 0x00, 0x00, 0x7f]));
  });

  it('expands StructReg entries into masked fields', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`<StructReg Comment="S"><Address>0x1f0</Address><Length>4</Length><AccessMode>RW</AccessMode>
        <pPort>Device</pPort><Endianess>BigEndian</Endianess>
        <StructEntry Name="Hi"><LSB>15</LSB><MSB>0</MSB><Sign>Signed</Sign></StructEntry>
        <StructEntry Name="Lo"><LSB>31</LSB><MSB>16</MSB></StructEntry>
        <StructEntry Name="B15"><Bit>15</Bit></StructEntry></StructReg>`),
      port,
    );
    port.setU32BE(0x1f0, 0xfffe0003);
    expect(await map.getInteger('Hi')).toBe(-2);
    expect(await map.getInteger('Lo')).toBe(3);
    expect(await map.getInteger('B15')).toBe(0);
    await map.setInteger('B15', 1);
    expect(port.getU32BE(0x1f0)).toBe(0xffff0003);
    expect(map.features().find((f) => f.name === 'Lo')).toEqual({ name: 'Lo', type: 'StructEntry' });
  });

  it('checks Integer Min/Max/Inc, pMin/pMax from other registers, and names the allowed range', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        <Integer Name="Width"><pValue>WidthReg</pValue><Min>16</Min><pMax>SensorWidth</pMax><Inc>8</Inc></Integer>
        ${reg('WidthReg', 0x0, '<Endianess>BigEndian</Endianess>')}
        <Integer Name="SensorWidth"><pValue>SensorWidthReg</pValue></Integer>
        <IntReg Name="SensorWidthReg"><Address>4</Address><Length>4</Length><AccessMode>RO</AccessMode>
          <pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
        <Integer Name="Gain"><pValue>GainReg</pValue><pMin>GainMin</pMin><pMax>GainMax</pMax></Integer>
        ${reg('GainReg', 0x8, '<Sign>Signed</Sign>')}
        <Integer Name="GainMin"><Value>-10</Value></Integer>
        <Integer Name="GainMax"><Value>0x20</Value></Integer>`),
      port,
    );
    port.setU32BE(4, 1024);
    expect(await map.integerRange('Width')).toEqual({ min: 16, max: 1024, inc: 8 });
    await map.setInteger('Width', 640);
    expect(port.getU32BE(0)).toBe(640);
    expect(await map.getInteger('Width')).toBe(640);
    const e = await rejection(map.setInteger('Width', 2000));
    expect(e.message).toBe('GenICam feature Width: 2000 is out of range 16..1024 (step 8)');
    expect(e.details).toMatchObject({ subject: 'Width', value: 2000 });
    expect(e.describe()).toMatch(/fix: choose a value in 16\.\.1024 \(step 8\)/);
    expect((await rejection(map.setInteger('Width', 20))).message).toMatch(/20 is out of range/);
    expect((await rejection(map.setInteger('Width', 1.5))).message).toMatch(/1\.5 is not an integer/);
    port.setU32BE(4, 512); // the range follows the device
    expect((await rejection(map.setInteger('Width', 640))).message).toMatch(/16\.\.512/);
    expect(port.getU32BE(0)).toBe(640);
    await map.setInteger('Gain', -10);
    expect(await map.getInteger('Gain')).toBe(-10);
    expect((await rejection(map.setInteger('Gain', 33))).message).toMatch(/-10\.\.32/);
    // Integer with a local Value is writable and remembers.
    await map.setInteger('GainMax', 5);
    expect((await rejection(map.setInteger('Gain', 6))).message).toMatch(/-10\.\.5/);
  });

  it('refuses by access mode: RO, WO, pIsLocked, pIsAvailable, pIsImplemented, ImposedAccessMode', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        <Integer Name="RoFeat"><pValue>RoReg</pValue></Integer>
        <IntReg Name="RoReg"><Address>0</Address><Length>4</Length><AccessMode>RO</AccessMode><pPort>Device</pPort></IntReg>
        <Integer Name="WoFeat"><pValue>WoReg</pValue></Integer>
        <IntReg Name="WoReg"><Address>4</Address><Length>4</Length><AccessMode>WO</AccessMode><pPort>Device</pPort></IntReg>
        <Integer Name="Locked"><pIsLocked>Lock</pIsLocked><pValue>RwReg</pValue></Integer>
        ${reg('RwReg', 8)}
        <Integer Name="Lock"><Value>1</Value></Integer>
        <Integer Name="Hidden"><pIsAvailable>Avail</pIsAvailable><Value>3</Value></Integer>
        <Integer Name="Avail"><Value>0</Value></Integer>
        <Integer Name="Absent"><pIsImplemented>Impl</pIsImplemented><Value>3</Value></Integer>
        <Integer Name="Impl"><Value>0</Value></Integer>
        <Integer Name="Imposed"><ImposedAccessMode>RO</ImposedAccessMode><pValue>RwReg</pValue></Integer>`),
      port,
    );
    expect(await map.accessMode('RoFeat')).toBe('RO');
    expect((await rejection(map.setInteger('RoFeat', 1))).message).toBe(
      'GenICam feature RoFeat: is read-only (RO), cannot be written',
    );
    expect((await rejection(map.getInteger('WoFeat'))).message).toMatch(
      /WoFeat: is write-only \(WO\), cannot be read/,
    );
    await map.setInteger('WoFeat', 7);
    expect(port.getU32BE(4)).toBe(0x07000000); // little-endian default
    expect(await map.accessMode('Locked')).toBe('RO');
    expect((await rejection(map.setInteger('Locked', 1))).message).toMatch(/read-only/);
    await map.setInteger('Lock', 0);
    expect(await map.accessMode('Locked')).toBe('RW');
    await map.setInteger('Locked', 1);
    expect(await map.isAvailable('Hidden')).toBe(false);
    expect((await rejection(map.getInteger('Hidden'))).message).toMatch(/not available now/);
    expect(await map.isImplemented('Absent')).toBe(false);
    expect((await rejection(map.getInteger('Absent'))).message).toMatch(/not implemented/);
    expect(await map.accessMode('Imposed')).toBe('RO');
    const missing = await rejection(map.getInteger('Widht'));
    expect(missing.message).toBe('GenICam feature Widht does not exist on this camera');
    expect(map.has('RoFeat')).toBe(true);
    expect(map.has('Nope')).toBe(false);
    expect((await rejection(map.getFloat('RoReg').then(() => map.getEnum('RoFeat')))).message).toMatch(
      /RoFeat: is a Integer, not an enumeration/,
    );
  });

  it('converts through Converter and IntConverter both ways, with pVariable, and derives the range', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        <Float Name="FrameRate"><pValue>FrameRateConv</pValue></Float>
        <Converter Name="FrameRateConv"><FormulaTo>1000000 / FROM</FormulaTo><FormulaFrom>1000000 / TO</FormulaFrom>
          <pValue>Period</pValue></Converter>
        <Integer Name="Period"><pValue>PeriodReg</pValue><Min>1000</Min><Max>1000000</Max></Integer>
        ${reg('PeriodReg', 0x10, '<Endianess>BigEndian</Endianess>')}
        <IntConverter Name="Scaled"><pVariable Name="K">Factor</pVariable>
          <FormulaTo>FROM * K + 1</FormulaTo><FormulaFrom>(TO - 1) / K</FormulaFrom><pValue>RawReg</pValue></IntConverter>
        <Integer Name="Factor"><Value>3</Value></Integer>
        ${reg('RawReg', 0x20, '', 2)}`),
      port,
    );
    await map.setFloat('FrameRate', 50);
    expect(port.getU32BE(0x10)).toBe(20000);
    expect(await map.getFloat('FrameRate')).toBe(50);
    port.setU32BE(0x10, 3000);
    expect(await map.getFloat('FrameRate')).toBeCloseTo(333.333, 2);
    expect(await map.floatRange('FrameRate')).toEqual({ min: 1, max: 1000 });
    expect((await rejection(map.setFloat('FrameRate', 2000))).message).toMatch(
      /2000 is out of range 1\.\.1000/,
    );
    await map.setInteger('Scaled', 10);
    expect(port.get(0x20, 2).readUInt16LE(0)).toBe(31);
    expect(await map.getInteger('Scaled')).toBe(10);
    expect(await map.integerRange('Scaled')).toEqual({ min: 0, max: 21844, inc: 1 });
  });

  it('evaluates SwissKnife and IntSwissKnife with pVariable, Constant and Expression, read-only', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        ${reg('W', 0, '<Endianess>BigEndian</Endianess>')}${reg('H', 4, '<Endianess>BigEndian</Endianess>')}
        <IntSwissKnife Name="Payload"><pVariable Name="WIDTH">W</pVariable><pVariable Name="HEIGHT">H</pVariable>
          <Constant Name="BPP">2</Constant><Expression Name="PIX">WIDTH * HEIGHT</Expression>
          <Formula>PIX * BPP / 3</Formula></IntSwissKnife>
        <SwissKnife Name="Ratio"><pVariable Name="WIDTH">W</pVariable><pVariable Name="HEIGHT">H</pVariable>
          <Formula>WIDTH / HEIGHT</Formula></SwissKnife>
        <IntSwissKnife Name="Unused"><pVariable Name="A">Missing</pVariable><Formula>5</Formula></IntSwissKnife>`),
      port,
    );
    port.setU32BE(0, 640);
    port.setU32BE(4, 481);
    expect(await map.getInteger('Payload')).toBe(Math.trunc((640 * 481 * 2) / 3));
    expect(await map.getFloat('Ratio')).toBeCloseTo(640 / 481, 12);
    expect(await map.getInteger('Unused')).toBe(5); // variables the formula does not read are not fetched
    expect((await rejection(map.setInteger('Payload', 1))).message).toMatch(/read-only/);
  });

  it('maps Enumeration entries by name, lists available ones, and refuses unknown or unavailable entries', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        <Enumeration Name="PixelFormat">
          <EnumEntry Name="EnumEntry_PixelFormat_Mono8"><Value>0x01080001</Value></EnumEntry>
          <EnumEntry Name="Mono16"><Value>17825799</Value></EnumEntry>
          <EnumEntry Name="EnumEntry_PixelFormat_RGB8"><pIsAvailable>Never</pIsAvailable><Value>35127316</Value></EnumEntry>
          <EnumEntry Name="Weird"><Symbolic>Bayer</Symbolic><Value>3</Value></EnumEntry>
          <pValue>PfReg</pValue></Enumeration>
        ${reg('PfReg', 0x40, '<Endianess>BigEndian</Endianess>')}
        <Integer Name="Never"><Value>0</Value></Integer>
        <Enumeration Name="Local"><EnumEntry Name="A"><Value>1</Value></EnumEntry>
          <EnumEntry Name="B"><Value>2</Value></EnumEntry><Value>2</Value></Enumeration>`),
      port,
    );
    port.setU32BE(0x40, 0x01080001);
    expect(await map.getEnum('PixelFormat')).toBe('Mono8');
    expect(await map.enumEntries('PixelFormat')).toEqual(['Mono8', 'Mono16', 'Bayer']);
    await map.setEnum('PixelFormat', 'Mono16');
    expect(port.getU32BE(0x40)).toBe(17825799);
    expect(await map.getEnumValue('PixelFormat')).toBe(17825799);
    await map.setEnum('PixelFormat', 'Bayer');
    expect(await map.getEnum('PixelFormat')).toBe('Bayer');
    const e = await rejection(map.setEnum('PixelFormat', 'Mono12'));
    expect(e.message).toBe(
      'GenICam feature PixelFormat: "Mono12" is not an entry; allowed: Mono8, Mono16, Bayer',
    );
    expect(e.describe()).toMatch(/fix: use one of: Mono8, Mono16, Bayer/);
    expect((await rejection(map.setEnum('PixelFormat', 'RGB8'))).message).toMatch(
      /"RGB8" is not available now/,
    );
    port.setU32BE(0x40, 99);
    expect((await rejection(map.getEnum('PixelFormat'))).message).toMatch(
      /reports value 99, which is none of the entries/,
    );
    expect(await map.getEnum('Local')).toBe('B');
    await map.setEnum('Local', 'A');
    expect(await map.getEnum('Local')).toBe('A');
  });

  it('runs Commands, reads and writes Booleans with On/OffValue, StringReg, FloatReg and Register', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        <Command Name="Start"><pValue>CmdReg</pValue><CommandValue>1</CommandValue></Command>
        <Command Name="Stop"><pValue>CmdReg</pValue><pCommandValue>StopValue</pCommandValue></Command>
        <Integer Name="StopValue"><Value>0x10</Value></Integer>
        <IntReg Name="CmdReg"><Address>0x0</Address><Length>4</Length><AccessMode>WO</AccessMode><pPort>Device</pPort>
          <Endianess>BigEndian</Endianess></IntReg>
        <Boolean Name="Test"><pValue>TestReg</pValue><OnValue>321</OnValue><OffValue>123</OffValue></Boolean>
        ${reg('TestReg', 0x4, '<Endianess>BigEndian</Endianess>')}
        <Boolean Name="Flag"><Value>0</Value></Boolean>
        <StringReg Name="Name"><Address>0x100</Address><Length>8</Length><AccessMode>RW</AccessMode><pPort>Device</pPort></StringReg>
        <FloatReg Name="F32"><Address>0x200</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort>
          <Endianess>BigEndian</Endianess></FloatReg>
        <FloatReg Name="F64"><Address>0x210</Address><Length>8</Length><AccessMode>RW</AccessMode><pPort>Device</pPort></FloatReg>
        <Float Name="Exposure"><pValue>F64</pValue><Min>10</Min><Max>1e6</Max></Float>
        <Register Name="Raw"><Address>0x100</Address><Length>3</Length><AccessMode>RO</AccessMode><pPort>Device</pPort></Register>
        <Category Name="Root"><pFeature>Start</pFeature><pFeature>Test</pFeature></Category>`),
      port,
    );
    await map.execute('Start');
    expect(port.getU32BE(0)).toBe(1);
    await map.execute('Stop');
    expect(port.getU32BE(0)).toBe(0x10);
    expect((await rejection(map.execute('Test'))).message).toMatch(/is a Boolean, not a command/);

    port.setU32BE(4, 123);
    expect(await map.getBoolean('Test')).toBe(false);
    await map.setBoolean('Test', true);
    expect(port.getU32BE(4)).toBe(321);
    expect(await map.getBoolean('Test')).toBe(true);
    await map.setBoolean('Test', false);
    expect(port.getU32BE(4)).toBe(123);
    expect(await map.getBoolean('Flag')).toBe(false);
    await map.setBoolean('Flag', true);
    expect(await map.getBoolean('Flag')).toBe(true);

    await map.setString('Name', 'cam1');
    expect(await map.getString('Name')).toBe('cam1');
    expect(port.get(0x100, 8)).toEqual(Buffer.from('cam1\0\0\0\0'));
    expect((await rejection(map.setString('Name', 'much too long'))).message).toMatch(/13 bytes, over 8/);
    expect(await map.getBytes('Raw')).toEqual(Buffer.from('cam'));

    await map.setFloat('F32', 1.5);
    expect(port.get(0x200, 4).readFloatBE(0)).toBe(1.5);
    expect(await map.getFloat('F32')).toBe(1.5);
    await map.setFloat('Exposure', 1234.5);
    expect(port.get(0x210, 8).readDoubleLE(0)).toBe(1234.5);
    expect(await map.getFloat('Exposure')).toBe(1234.5);
    expect((await rejection(map.setFloat('Exposure', 5))).message).toMatch(/5 is out of range 10\.\.1000000/);
    expect(map.categoryFeatures('Root')).toEqual(['Start', 'Test']);
  });

  it('computes register addresses from pAddress, an inline IntSwissKnife and pIndex with Offset', async () => {
    const port = new MemoryPort();
    const map = NodeMap.fromXml(
      doc(`
        <IntReg Name="Indexed"><Address>0x300</Address><pIndex Offset="0x20">Selector</pIndex><Length>4</Length>
          <AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
        <Integer Name="Selector"><Value>0</Value></Integer>
        <IntReg Name="Based"><pAddress>Base</pAddress><IntSwissKnife><pVariable Name="S">Selector</pVariable>
          <Formula>S * 4 + 0x10</Formula></IntSwissKnife><Length>4</Length><AccessMode>RW</AccessMode>
          <pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
        <Integer Name="Base"><Value>0x1000</Value></Integer>`),
      port,
    );
    await map.setInteger('Indexed', 5);
    await map.setInteger('Selector', 2);
    await map.setInteger('Indexed', 7);
    expect(port.getU32BE(0x300)).toBe(5);
    expect(port.getU32BE(0x340)).toBe(7);
    await map.setInteger('Based', 9);
    expect(port.getU32BE(0x1000 + 2 * 4 + 0x10)).toBe(9);
  });

  it('ends a reference cycle with an error, and refuses a non-GenICam root', async () => {
    const map = NodeMap.fromXml(
      doc(`<Integer Name="A"><pValue>B</pValue></Integer><Integer Name="B"><pValue>A</pValue></Integer>
        <Integer Name="C"><pValue>Nowhere</pValue></Integer>`),
      new MemoryPort(),
    );
    expect((await rejection(map.getInteger('A'))).message).toMatch(/nested deeper than 64.*cycle/);
    expect((await rejection(map.getInteger('C'))).message).toMatch(
      /node Nowhere is referenced but not defined/,
    );
    expect(() => NodeMap.fromXml('<html/>', new MemoryPort())).toThrow(/not <RegisterDescription>/);
  });
});
