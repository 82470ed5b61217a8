import yazl from 'yazl';

/** A zip of `mb` MiB of zeros in one deflated entry: about 1 KB of zip per MB it expands to. */
export async function zipBomb(mb: number, name = 'zeros.bin'): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.alloc(mb * 1024 * 1024), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The same bomb whose central directory lies: it declares `declared` bytes for the entry, so a check of
 * the declared sizes alone lets it through, while its data still inflates to `mb` MiB.
 */
export async function lyingZipBomb(mb: number, declared: number): Promise<Buffer> {
  const zip = await zipBomb(mb);
  const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  if (central < 0) throw new Error('no central directory header');
  zip.writeUInt32LE(declared, central + 24); // uncompressed size (APPNOTE 4.3.12)
  return zip;
}
