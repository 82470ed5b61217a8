/**
 * Splits a migration script into statements on top-level semicolons, skipping comments and respecting
 * quoted strings and identifiers. Recording progress per statement needs statements, not files.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i] as string;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
      current += '\n';
      continue;
    }
    if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      if (end === -1) throw new Error('unterminated /* comment in migration script');
      i = end + 2;
      current += ' ';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n) {
        if (script[j] === c) {
          if (script[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        if (script[j] === '\\' && c === "'") j += 1;
        j += 1;
      }
      if (j >= n) throw new Error(`unterminated ${c} quote in migration script`);
      current += script.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === ';') {
      if (current.trim().length > 0) statements.push(current.trim());
      current = '';
      i += 1;
      continue;
    }
    current += c;
    i += 1;
  }
  if (current.trim().length > 0) statements.push(current.trim());
  return statements;
}
