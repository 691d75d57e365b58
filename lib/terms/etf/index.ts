// Erlang's External Term Format: netkernel's own codec (encoder, decoder, distribution header).
export * as ETF_TAGS from './tags.js'
export { EtfEncoder, type EtfEncoderOptions } from './etf-encoder.js'
export { EtfDecoder, etfDecodeError, type EtfDecoderOptions } from './etf-decoder.js'
export { AtomCache, ATOM_CACHE_SIZE, readDistHeader } from './dist-header.js'
