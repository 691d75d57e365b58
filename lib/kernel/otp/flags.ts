// Erlang/OTP distribution flags (erts dist.h, kernel dist.hrl), as bigints: the handshake
// sends them as a 64-bit field, and V4_NC, SPAWN and ALIAS lie above bit 31. What a real OTP
// 25 node requires and accepts is measured in docs/protocol.md ("Erlang/OTP handshake").
//
// What this node offers (DFLAGS_OFFERED): OTP 25's mandatory set, the digest that stands for
// it, and the optional flags whose signals the OTP wire handles. PUBLISHED is added by the
// handshake for a node visible toward OTP (one that runs global: docs/global.md); a hidden
// node offers none, as erl -hidden. ALIAS: ALIAS_SEND both ways (a gen_server reply to an OTP
// caller goes to the call's alias; proc.send(alias) to an OTP process's alias; Alias ! Msg to
// a proc.alias() here). Never NAME_ME (a dynamic name is not offered).
//
// What a peer must offer (checkPeerFlags): OTP 25's mandatory 11 flags, or
// MANDATORY_25_DIGEST, which OTP 25+ accepts in their place. UNLINK_ID and V4_NC are mandatory
// only from OTP 26 on; a peer without UNLINK_ID (an OTP 25 node may omit it) is accepted, and
// its links are then removed with the old UNLINK signal (the OTP wire handles both).

export const DFLAG = {
  PUBLISHED: 0x1n,
  ATOM_CACHE: 0x2n,
  EXTENDED_REFERENCES: 0x4n,
  DIST_MONITOR: 0x8n,
  FUN_TAGS: 0x10n,
  DIST_MONITOR_NAME: 0x20n,
  HIDDEN_ATOM_CACHE: 0x40n,
  NEW_FUN_TAGS: 0x80n,
  EXTENDED_PIDS_PORTS: 0x100n,
  EXPORT_PTR_TAG: 0x200n,
  BIT_BINARIES: 0x400n,
  NEW_FLOATS: 0x800n,
  UNICODE_IO: 0x1000n,
  DIST_HDR_ATOM_CACHE: 0x2000n,
  SMALL_ATOM_TAGS: 0x4000n,
  ETS_COMPRESSED: 0x8000n,
  UTF8_ATOMS: 0x10000n,
  MAP_TAG: 0x20000n,
  BIG_CREATION: 0x40000n,
  SEND_SENDER: 0x80000n,
  BIG_SEQTRACE_LABELS: 0x100000n,
  PENDING_CONNECT: 0x200000n,
  EXIT_PAYLOAD: 0x400000n,
  FRAGMENTS: 0x800000n,
  HANDSHAKE_23: 0x1000000n,
  UNLINK_ID: 0x2000000n,
  /** Stands for the 11 flags of DFLAGS_MANDATORY_25 (0x4000000; the published docs' 1 bsl 36 is wrong). */
  MANDATORY_25_DIGEST: 0x4000000n,
  SPAWN: 1n << 32n,
  NAME_ME: 1n << 33n,
  V4_NC: 1n << 34n,
  ALIAS: 1n << 35n,
  LOCAL_EXT: 1n << 36n,
  ALTACT_SIG: 1n << 37n,
} as const

export type DflagName = keyof typeof DFLAG

const or = (...names: DflagName[]): bigint => names.reduce((acc, n) => acc | DFLAG[n], 0n)

/** OTP 25's mandatory flags (erts DFLAG_DIST_MANDATORY_25, 0x1070f94), in dist.h's order. */
export const MANDATORY_25: readonly DflagName[] = [
  'EXTENDED_REFERENCES',
  'FUN_TAGS',
  'NEW_FUN_TAGS',
  'EXTENDED_PIDS_PORTS',
  'EXPORT_PTR_TAG',
  'BIT_BINARIES',
  'NEW_FLOATS',
  'UTF8_ATOMS',
  'MAP_TAG',
  'BIG_CREATION',
  'HANDSHAKE_23',
]

export const DFLAGS_MANDATORY_25 = or(...MANDATORY_25)

/** The flags this node offers an OTP peer (docs/erlang.md), PUBLISHED aside (otp-handshake.ts adds it when visible). */
export const DFLAGS_OFFERED =
  DFLAGS_MANDATORY_25 |
  or(
    'MANDATORY_25_DIGEST',
    'UNLINK_ID',
    'V4_NC',
    'SPAWN',
    'DIST_MONITOR',
    'DIST_MONITOR_NAME',
    'EXIT_PAYLOAD',
    'SEND_SENDER',
    'SMALL_ATOM_TAGS',
    'UNICODE_IO',
    'BIG_SEQTRACE_LABELS',
    'FRAGMENTS',
    'DIST_HDR_ATOM_CACHE',
    'ALIAS',
  )

/** A peer's flags as they count: MANDATORY_25_DIGEST stands for the 11 mandatory flags (as in erts). */
export function expandFlags(flags: bigint): bigint {
  return (flags & DFLAG.MANDATORY_25_DIGEST) !== 0n ? flags | DFLAGS_MANDATORY_25 : flags
}

/** The mandatory flags a peer's `flags` lack (OTP's names, as its log prints them); empty when it may connect. */
export function missingFlags(flags: bigint): DflagName[] {
  const f = expandFlags(flags)
  return MANDATORY_25.filter(n => (f & DFLAG[n]) === 0n)
}

/** The flags a connection uses: ours and the peer's (OTP's adjust_flags: ThisFlags band OtherFlags). */
export function negotiate(ours: bigint, theirs: bigint): bigint {
  return expandFlags(ours) & expandFlags(theirs)
}

/** The names of the flags set in `flags` (known ones; unknown bits as hex). */
export function flagNames(flags: bigint): string[] {
  const out: string[] = []
  let rest = flags
  for (const [n, bit] of Object.entries(DFLAG)) {
    if ((flags & bit) !== 0n) {
      out.push(n)
      rest &= ~bit
    }
  }
  if (rest !== 0n) out.push(`0x${rest.toString(16)}`)
  return out
}

/** OTP's rendering of a list of flag names in its log: ["BIG_CREATION","MAP_TAG"]. */
export function otpFlagList(names: readonly string[]): string {
  return `[${names.map(n => JSON.stringify(n)).join(',')}]`
}
