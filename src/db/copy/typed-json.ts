import { TesseraError } from '../../errors.js';

/**
 * Values in a dump line. JSON has strings, finite numbers, booleans and null; everything else a database
 * returns is an object with one tagged member, so that a restore puts back exactly what was read.
 */
export type DumpValue =
  | string
  | number
  | boolean
  | null
  | { $bytes: string }
  | { $number: string }
  | { $date: string };

export function encodeValue(value: unknown): DumpValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: String(value) };
    case 'bigint':
      return { $number: value.toString() };
  }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return { $date: value.toISOString() };
  throw new TesseraError('INTERNAL', `A value of type ${typeof value} cannot be written to a dump.`);
}

export function decodeValue(value: DumpValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  if ('$bytes' in value) return Buffer.from(value.$bytes, 'base64');
  if ('$date' in value) return new Date(value.$date);
  const text = value.$number;
  return /^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text)) ? BigInt(text) : Number(text);
}

export function encodeRow(row: readonly unknown[]): string {
  return JSON.stringify(row.map(encodeValue));
}

export function decodeRow(line: string): unknown[] {
  const values = JSON.parse(line) as DumpValue[];
  return values.map(decodeValue);
}
