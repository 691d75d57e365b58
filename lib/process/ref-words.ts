// The random words of this node's refs.
//
// A ref is how a reply finds its request: a call's answer is `{Ref, Reply}` sent to the
// caller's pid, a monitor's DOWN names its ref, and user protocols tag requests the same way
// (make_ref/0). Pids are sequential and easy to guess; with refs sequential too, any connected
// peer allowed to send to a process could answer a call it never saw, in the server's place,
// by trying the next few refs. Each ref therefore carries 64 bits from the system's CSPRNG
// beside its counter: a peer can name only the refs it was given. (Erlang/OTP's refs are
// counters; its peers are trusted. This node's peers are trusted only as far as its signal
// policy says: docs/robustness.md.)
//
// The words come from a pool filled by one randomFillSync call per POOL / 2 refs, so a ref
// costs two array reads, not a system call.
import { randomFillSync } from 'node:crypto'

const POOL = 1024
const pool = new Uint32Array(POOL)
let next = POOL

/** A uniformly random 32-bit word from the system's CSPRNG. */
export function randomWord(): number {
  if (next === POOL) {
    randomFillSync(pool)
    next = 0
  }
  return pool[next++] as number
}
