// Conn objects made by the SSH transport: a forwarded channel (encrypted between here and the
// gateway), or a direct transport's Conn relabelled as made by 'ssh'.
import type { Conn } from '../lib/transport.js'
import type { ChannelStream } from './ssh-channel-stream.js'

/** A Conn over one SSH channel. close() ends our side; a peer that never ends it is dropped after closeTimeout. */
export function channelConn(stream: ChannelStream, remoteAddress: string, remotePort: number, closeTimeout: number): Conn {
  let closeTimer: NodeJS.Timeout | undefined
  stream.once('close', () => clearTimeout(closeTimer))
  return {
    stream,
    transport: 'ssh',
    remoteAddress,
    remotePort,
    encrypted: true,
    flowControlled: true,
    // ChannelStream's write callback comes once ssh2 has copied the bytes into SSH packets.
    copiesWrites: true,
    close() {
      if (stream.destroyed || closeTimer !== undefined) return
      stream.end()
      closeTimer = setTimeout(() => stream.destroy(), closeTimeout).unref()
    },
    destroy(err?: Error) {
      stream.destroy(err)
    },
  }
}

/** The same connection, reported as made by the 'ssh' transport (for hosts reached directly). */
export function relabel(c: Conn): Conn {
  return {
    stream: c.stream,
    transport: 'ssh',
    remoteAddress: c.remoteAddress,
    remotePort: c.remotePort,
    encrypted: c.encrypted,
    peerCertificate: c.peerCertificate,
    flowControlled: c.flowControlled,
    readInto: c.readInto,
    copiesWrites: c.copiesWrites,
    close: () => c.close(),
    destroy: (err?: Error) => c.destroy(err),
  }
}
