/** How a byte count is spelled: the unit names, each 1024 times the one before, and decimals shown per unit. */
interface ByteUnits {
  names: readonly string[];
  /** Decimals after the number for each unit but bytes (bytes are whole). */
  decimals: readonly number[];
}

/** IEC binary units, as the upgrade's refusals and backup report read (tests assert `1.0 KiB`). */
const BINARY_UNITS: ByteUnits = {
  names: ['B', 'KiB', 'MiB', 'GiB', 'TiB'],
  decimals: [0, 1, 1, 1, 1],
};

/**
 * The same 1024 steps under JEDEC's names (KB = 1024 B), as progress lines and the upgrade's clone sizes
 * have always shown them (tests assert `1.5 KB`, `3.00 GB`): gigabytes are the largest, with two decimals.
 */
const JEDEC_UNITS: ByteUnits = {
  names: ['B', 'KB', 'MB', 'GB'],
  decimals: [0, 1, 1, 2],
};

function spell(bytes: number, units: ByteUnits): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.names.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(units.decimals[unit])} ${units.names[unit]}`;
}

/** Byte counts as operators read them in messages and reports (binary units: `1.5 KiB`). */
export function formatBytes(bytes: number): string {
  return spell(bytes, BINARY_UNITS);
}

/** Byte counts as progress lines show them (`1.5 KB`, 1024-based). */
export function formatBytesJedec(bytes: number): string {
  return spell(bytes, JEDEC_UNITS);
}
