/** A registry row's content as text: drivers hand BLOBs back as Buffers or byte arrays. */
export function contentText(content: Uint8Array | string): string {
  if (typeof content === 'string') return content;
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
}
