// Private helper shared by the tokenizer and the chat template: special-token fields of
// `tokenizer_config.json` come either as a string or as an added-token object.

/** The text of a special-token field: a string, or an object's string `content`; else null. */
export function _tokenText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (
    value !== null && typeof value === "object" &&
    typeof (value as { content?: unknown }).content === "string"
  ) {
    return (value as { content: string }).content;
  }
  return null;
}
