import { describe, expect, it } from 'vitest';
import type { ConfigKeySpec } from '../../src/config/key-spec.js';
import { CONFIG_FORMAT, CONFIG_KEYS, configKeyRows } from '../../src/config/keys.js';
import { parseConfig } from '../../src/config/load.js';
import { peekInteger } from '../../src/config/peek.js';
import { defaultConfigText } from '../../src/config/schema.js';

describe('the config key table', () => {
  it('holds defaults its own rules accept, and limits that name integer keys', () => {
    const rows = new Map<string, ConfigKeySpec>(configKeyRows());
    for (const [name, spec] of rows) {
      if (spec.type === 'integer') {
        expect(spec.default, name).toBeGreaterThanOrEqual(spec.min);
        expect(spec.default, name).toBeLessThanOrEqual(spec.max);
        if (spec.atMost) expect(rows.get(spec.atMost)?.type, name).toBe('integer');
      }
      if (spec.type === 'choice') expect(spec.choices, name).toContain(spec.default);
    }
  });

  it("is what a first start's file holds and what the loader assumes of an empty [section]", () => {
    const written = parseConfig(defaultConfigText());
    const assumed = parseConfig(`format = "${CONFIG_FORMAT}"\n`);
    expect(written).toEqual(assumed);
    expect(assumed.cluster.heartbeatSeconds).toBe(CONFIG_KEYS['cluster.heartbeat_seconds'].default);
  });
});

describe('peekInteger (an old home read by the upgrade)', () => {
  const heartbeat = (source: string) => peekInteger(source, 'cluster.heartbeat_seconds');
  const fallback = CONFIG_KEYS['cluster.heartbeat_seconds'].default;

  it('reads a value the server would accept', () => {
    expect(heartbeat('format = "2.1"\n[cluster]\nheartbeat_seconds = 3\n')).toBe(3);
  });

  it("takes the table's default for a config of 1.x, a refused value, or text that is not TOML", () => {
    expect(heartbeat('[http]\nport = 9763\n')).toBe(fallback);
    expect(heartbeat('[cluster]\nheartbeat_seconds = 0\n')).toBe(fallback);
    expect(heartbeat('[cluster]\nheartbeat_seconds = "ten"\n')).toBe(fallback);
    expect(heartbeat('[cluster\n')).toBe(fallback);
    expect(heartbeat('')).toBe(fallback);
  });
});
