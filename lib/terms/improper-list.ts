// Erlang's improper lists ([a, b | Tail] where Tail is not a list). OTP 24+ uses one as the tag
// of every gen:call ([alias | Ref]), which a node must echo back verbatim: they are terms.

/** The brand every ImproperList carries, from either build of the package (see PID_BRAND). */
export const IMPROPER_LIST_BRAND: unique symbol = Symbol.for('netkernel.ImproperList')

/** `[items… | tail]`: at least one item, and a tail that is not a proper list. */
export class ImproperList {
  constructor(
    readonly items: readonly unknown[],
    readonly tail: unknown,
  ) {}

  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Branded)[IMPROPER_LIST_BRAND] === true
  }
}

type Branded = { [IMPROPER_LIST_BRAND]?: true }
Object.defineProperty(ImproperList.prototype, IMPROPER_LIST_BRAND, { value: true })
