// Byte-level tests of the EPMD protocol: no sockets, hex in, objects out (and back).
import t from 'tap'
import {
  createRequestParser,
  decodeAlive2Response,
  decodeKillResponse,
  decodeNamesResponse,
  decodePort2Response,
  decodeRequest,
  decodeStopResponse,
  encodeAlive2Response,
  encodeDumpResponse,
  encodeNamesResponse,
  encodePort2Response,
  encodeRequest,
  nodeNameProblem,
  MAX_REQUEST_SIZE,
  type EpmdRequest,
} from '../lib/epmd/protocol.js'
import { createPortMapperTable, oldCreation } from '../lib/epmd/port-mapper-table.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// ALIVE2_REQ for "foo", port 4747, type 77, proto 0, versions 6/5, no extra.
const ALIVE_FOO = hex('0010 78 128b 4d 00 0006 0005 0003 666f6f 0000')

t.test('ALIVE2_REQ encodes as OTP lays it out', async t => {
  const req: EpmdRequest = {
    type: 'alive2',
    name: 'foo',
    port: 4747,
    nodeType: 77,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 5,
    extra: Buffer.alloc(0),
  }
  t.same(encodeRequest(req), ALIVE_FOO)
  t.same(decodeRequest(ALIVE_FOO.subarray(2)), req)
  const withExtra = encodeRequest({ ...req, extra: Buffer.from('ABC\0\0') })
  t.same(withExtra, hex('0015 78 128b 4d 00 0006 0005 0003 666f6f 0005 4142430000'))
  t.same((decodeRequest(withExtra.subarray(2)) as { extra: Buffer }).extra, Buffer.from('ABC\0\0'))
  t.throws(() => encodeRequest({ ...req, port: 70000 }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => encodeRequest({ ...req, nodeType: 300 }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('the other requests', async t => {
  t.same(encodeRequest({ type: 'port-please2', name: 'foo' }), hex('0004 7a 666f6f'))
  t.same(encodeRequest({ type: 'names' }), hex('0001 6e'))
  t.same(encodeRequest({ type: 'dump' }), hex('0001 64'))
  t.same(encodeRequest({ type: 'kill' }), hex('0001 6b'))
  t.same(encodeRequest({ type: 'stop', name: 'foo' }), hex('0004 73 666f6f'))
  t.same(decodeRequest(hex('7a 666f6f')), { type: 'port-please2', name: 'foo' })
  t.same(decodeRequest(hex('7a 666f6f 00')), { type: 'port-please2', name: 'foo' }, 'one trailing NUL allowed')
  t.same(decodeRequest(hex('73 666f6f')), { type: 'stop', name: 'foo' })
  t.same(decodeRequest(hex('6e')), { type: 'names' })
  t.same(decodeRequest(hex('64')), { type: 'dump' })
  t.same(decodeRequest(hex('6b')), { type: 'kill' })
  const unicode = String.fromCodePoint(0x1f608)
  t.same(decodeRequest(encodeRequest({ type: 'port-please2', name: unicode }).subarray(2)), {
    type: 'port-please2',
    name: unicode,
  })
})

t.test('malformed requests are errors', async t => {
  const bad: [string, string, RegExp][] = [
    ['', 'empty', /empty request/],
    ['7a', 'PORT_PLEASE2 without name', /empty name/],
    ['7a 00', 'PORT_PLEASE2 with only a NUL', /empty name/],
    ['7a 66006f', 'NUL inside a name', /NUL/],
    ['7a ff', 'name not UTF-8', /UTF-8/],
    ['73', 'STOP without name', /empty name/],
    ['01', 'unknown tag', /unknown request tag 1/],
    // alive_req_too_small_1 / _2 of OTP's epmd_SUITE
    ['78 03e8 4d 00 0005 0005 0000', 'ALIVE2 too small (no name)', /too short/],
    ['78 03e8 4d 00 0005 0005', 'ALIVE2 too small (no name length)', /too short/],
    ['78 03e8 4d 00 0005 0005 0009 666f6f 0000', 'ALIVE2 name length beyond the body', /name length/],
    ['78 128b 4d 00 0005 0005 0005 677572 6b61 0001', 'ALIVE2 fake extra length (buffer_overrun)', /extra length/],
    ['78 128b 4d 00 0005 0005 0007 666f6f00626172 0000', 'ALIVE2 name with a NUL inside', /NUL/],
    ['78 128b 4d 00 0005 0005 0002 c328 0000', 'ALIVE2 name not UTF-8', /UTF-8/],
  ]
  for (const [h, what, msg] of bad) {
    t.throws(() => decodeRequest(hex(h)), { code: 'ERR_EPMD', message: msg }, what)
  }
})

t.test('node name rules', async t => {
  t.equal(nodeNameProblem('foo'), undefined)
  t.equal(nodeNameProblem(''), 'empty name')
  t.match(nodeNameProblem('a\0b'), /NUL/)
  t.match(nodeNameProblem('a'.repeat(256)), /255 characters/)
  t.equal(nodeNameProblem(String.fromCodePoint(0x1f600).repeat(255)), undefined, '255 four-byte characters fit')
  t.match(nodeNameProblem(Buffer.alloc(1021, 0x61)), /1020 bytes/)
  t.match(nodeNameProblem(Buffer.of(0xc0, 0x80)), /UTF-8/, 'overlong encoding')
})

t.test('incremental parser: whole, split and byte-at-a-time', async t => {
  const whole = createRequestParser()
  t.match(whole.push(ALIVE_FOO), { status: 'request', request: { type: 'alive2', name: 'foo', port: 4747 } })

  for (let cut = 0; cut <= ALIVE_FOO.length; cut++) {
    const p = createRequestParser()
    const a = p.push(ALIVE_FOO.subarray(0, cut))
    const b = p.push(ALIVE_FOO.subarray(cut))
    const results = [a, b].filter(r => r.status !== 'incomplete')
    if (cut === ALIVE_FOO.length) t.same(b, { status: 'incomplete' }, 'an empty chunk after the request is nothing')
    t.equal(results.length, 1, `split at ${cut}`)
    t.match(results[0], { status: 'request', request: { name: 'foo' } })
  }

  const slow = createRequestParser()
  let last
  for (let i = 0; i < ALIVE_FOO.length; i++) {
    last = slow.push(ALIVE_FOO.subarray(i, i + 1))
    if (i < ALIVE_FOO.length - 1) t.equal(last.status, 'incomplete')
  }
  t.match(last, { status: 'request', request: { name: 'foo' } })
  t.equal(slow.buffered, ALIVE_FOO.length)
  t.same(createRequestParser().push(new Uint8Array(0)), { status: 'incomplete' })
})

t.test('incremental parser: bad framing', async t => {
  // zero_length: ten zero bytes
  t.match(createRequestParser().push(Buffer.alloc(10)), { status: 'error', error: { message: /zero-length/ } })
  // too_large: 63000 announced
  t.match(createRequestParser().push(hex('f618 7a7a7a')), { status: 'error', error: { message: /exceeds/ } })
  const atLimit = createRequestParser()
  const lim = Buffer.alloc(2 + MAX_REQUEST_SIZE, 0x6e)
  lim.writeUInt16BE(MAX_REQUEST_SIZE, 0)
  t.match(atLimit.push(lim), { status: 'request', request: { type: 'names' } }, 'the largest request is accepted')
  t.match(createRequestParser({ maxSize: 3 }).push(hex('0004 7a666f6f')), { status: 'error' })
  // more bytes than announced in one chunk
  t.match(createRequestParser().push(hex('0001 6e 6e')), { status: 'error', error: { message: /announced 1/ } })
  // data after a complete request
  const after = createRequestParser()
  t.match(after.push(hex('0001 6e')), { status: 'request' })
  t.match(after.push(hex('00')), { status: 'error', error: { message: /after the request/ } })
  t.match(after.push(hex('00')), { status: 'error' }, 'stays failed')
  // unknown tag and malformed body come through as errors, not throws
  t.match(createRequestParser().push(hex('0001 01')), { status: 'error', error: { code: 'ERR_EPMD' } })
  // partial then end: one byte, two bytes, partial packet
  for (const h of ['00', '0003', '0064 6f6e6c79']) {
    const p = createRequestParser()
    t.equal(p.push(hex(h)).status, 'incomplete', `partial ${h}`)
    t.match(p.end(), { status: 'error', error: { message: /partial request/ } })
  }
  t.same(createRequestParser().end(), { status: 'incomplete' }, 'closing an unused parser is fine')
})

t.test('ALIVE2 responses', async t => {
  t.same(encodeAlive2Response({ result: 0, creation: 0x12345678, extended: true }), hex('76 00 12345678'))
  t.same(encodeAlive2Response({ result: 1, creation: 99, extended: false }), hex('79 01 0063'))
  t.same(decodeAlive2Response(hex('76 00 12345678')), { result: 0, creation: 0x12345678, extended: true })
  t.same(decodeAlive2Response(hex('79 00 0002')), { result: 0, creation: 2, extended: false })
  t.equal(decodeAlive2Response(hex('')), undefined)
  t.equal(decodeAlive2Response(hex('76 00 1234')), undefined)
  t.equal(decodeAlive2Response(hex('79 00')), undefined)
  t.throws(() => decodeAlive2Response(hex('41 00 0000')), { code: 'ERR_EPMD' })
})

t.test('PORT2 responses', async t => {
  const info = {
    name: 'foo',
    port: 4747,
    nodeType: 77,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 5,
    extra: Buffer.from('AB'),
  }
  const bytes = hex('77 00 128b 4d 00 0006 0005 0003 666f6f 0002 4142')
  t.same(encodePort2Response(info), bytes)
  t.same(decodePort2Response(bytes), info)
  for (let i = 0; i < bytes.length; i++) t.equal(decodePort2Response(bytes.subarray(0, i)), undefined, `prefix ${i}`)
  t.same(encodePort2Response(undefined), hex('77 01'))
  t.equal(decodePort2Response(hex('77 01')), null)
  t.throws(() => decodePort2Response(hex('78 00')), { code: 'ERR_EPMD' })
})

t.test('NAMES, DUMP, KILL and STOP responses', async t => {
  const names = encodeNamesResponse(4369, [
    { name: 'foo', port: 4747 },
    { name: 'bar', port: 1 },
  ])
  t.same(names, Buffer.concat([hex('00001111'), Buffer.from('name foo at port 4747\nname bar at port 1\n')]))
  t.same(decodeNamesResponse(names), {
    epmdPort: 4369,
    names: [
      { name: 'foo', port: 4747 },
      { name: 'bar', port: 1 },
    ],
  })
  t.same(decodeNamesResponse(Buffer.concat([hex('00000001'), Buffer.from('garbage\nname x at port 9\n')])), {
    epmdPort: 1,
    names: [{ name: 'x', port: 9 }],
  })
  t.same(decodeNamesResponse(hex('00001111')), { epmdPort: 4369, names: [] })
  t.throws(() => decodeNamesResponse(hex('0000')), { code: 'ERR_EPMD' })
  t.throws(() => decodeNamesResponse(Buffer.from('HTTP/1.1 400')), { code: 'ERR_EPMD', message: /not a NAMES reply/ })
  t.same(
    encodeDumpResponse(4369, [{ name: 'foo', port: 5, fd: 3 }]),
    Buffer.concat([hex('00001111'), Buffer.from('active name     <foo> at port 5, fd = 3\n\0')]),
  )
  t.equal(decodeKillResponse(Buffer.from('O')), undefined)
  t.equal(decodeKillResponse(Buffer.from('OK')), 'OK')
  t.equal(decodeKillResponse(Buffer.from('NO')), 'NO')
  t.throws(() => decodeKillResponse(Buffer.from('XX')), { code: 'ERR_EPMD' })
  t.equal(decodeStopResponse(Buffer.from('STOP')), undefined)
  t.equal(decodeStopResponse(Buffer.from('STOPPED')), 'STOPPED')
  t.equal(decodeStopResponse(Buffer.from('NOEXISTSTOPPED')), 'NOEXIST', 'OTP sends both after NOEXIST')
  t.throws(() => decodeStopResponse(Buffer.from('WHATEVER')), { code: 'ERR_EPMD' })
})

t.test('the port mapper table: duplicate names, fresh creations', async t => {
  let n = 0
  const values = [7, 100, 200, 0xffffffff]
  const reg = createPortMapperTable<string>({ random: () => values[n++]!, maxRemembered: 2 })
  const info = { name: 'a', port: 1, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 5, extra: Buffer.alloc(0) }
  const a1 = reg.register(info, 'conn1')!
  t.equal(a1.creation, 7)
  t.equal(reg.register(info, 'conn2'), undefined, 'name taken')
  t.equal(reg.get('a')?.owner, 'conn1')
  t.equal(reg.size, 1)
  reg.unregister('a')
  t.equal(reg.unregister('a'), undefined)
  const a2 = reg.register(info, 'conn3')!
  t.equal(a2.creation, 8, 'the next creation differs from the previous one')
  t.not(oldCreation(a1.creation), oldCreation(a2.creation), 'also after the 1..3 mapping')
  reg.unregister('a')
  // remembered names are bounded: 'a' is pushed out by two others
  for (const name of ['b', 'c']) {
    reg.register({ ...info, name }, name)
    reg.unregister(name)
  }
  t.equal(reg.register(info, 'conn4')!.creation, 0xffffffff, 'forgotten: a fresh random creation')
  reg.unregister('a')
  t.equal(reg.register(info, 'conn5')!.creation, 4, 'wraps to 4, never 0..3')
  t.same(
    reg.list().map(r => r.name),
    ['a'],
  )
  const real = createPortMapperTable<null>()
  const c = real.register(info, null)!.creation
  t.ok(c >= 4 && c <= 0xffffffff, 'default creations are 32-bit and at least 4')
})
