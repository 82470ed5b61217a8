/**
 * A command line to show in a message, each word quoted for a POSIX shell only when it needs it, so that
 * what the user copies runs as shown whatever a database or role name holds.
 */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}

function shellWord(word: string): string {
  if (/^[A-Za-z0-9_.,:=@%+/-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
