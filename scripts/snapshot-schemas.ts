/**
 * Regenerates the expected schemas (`src/releases/<release>/<dialect>/schema.json`) that the upgrade's
 * checkpoints compare staging with: for every release and engine, a fresh scratch database is built with
 * the release scripts alone, introspected and dropped. Run after changing any release script:
 *
 *   npx vite-node scripts/snapshot-schemas.ts
 *
 * PostgreSQL and MariaDB/MySQL are the local test servers (TESSERA_TEST_POSTGRES, TESSERA_TEST_MYSQL).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../src/db/connection.js';
import {
  buildSchemaSnapshot,
  renderSchemaSnapshot,
  schemaSnapshotPath,
} from '../src/releases/expected-schema.js';
import { RELEASES, shipsScripts } from '../src/releases/matrix.js';
import { DATABASE_KINDS, scratchDatabase } from '../test/helpers/databases.js';

// A release that changes code only has its predecessor's schema, and no snapshot of its own.
for (const { version } of RELEASES.filter((r) => shipsScripts(r.version))) {
  for (const kind of DATABASE_KINDS) {
    const scratch = await scratchDatabase(kind, 'snapshot');
    try {
      const database = await openDatabase<unknown>(scratch.url, scratch.home);
      try {
        const snapshot = await buildSchemaSnapshot(database, version);
        const file = schemaSnapshotPath(version, kind);
        writeFileSync(file, renderSchemaSnapshot(snapshot));
        console.log(`${path.relative(process.cwd(), file)}: ${snapshot.tables.length} tables`);
      } finally {
        await database.close();
      }
    } finally {
      await scratch.drop();
    }
  }
}
