/**
 * Hold-back arithmetic shared by the streaming parsers: how much of a buffer's tail must wait for
 * the next chunk because it may be the start of a marker or half of a surrogate pair.
 * @module
 */

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
export function _partialTagLength(text: string, tag: string): number {
  for (let k = Math.min(text.length, tag.length - 1); k > 0; k--) {
    if (text.endsWith(tag.slice(0, k))) return k;
  }
  return 0;
}

/** `end`, moved back by one when the code unit before it is a high surrogate awaiting its pair. */
export function _surrogateSafeEnd(text: string, end: number): number {
  if (end === 0) return 0;
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}
