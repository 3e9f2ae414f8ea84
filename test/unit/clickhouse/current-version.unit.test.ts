/**
 * The ClickHouse that compose.yaml runs is the version the chdb tier proves the SQL on
 * (scripts/ensure-chdb.sh pins chdb-core, whose engine shares its version number).
 */
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '../../..');

test("compose.yaml's ClickHouse image is the chdb tier's engine version (26.x, same major.minor)", () => {
  const pinned = /^CHDB_CORE_VERSION=(\d+)\.(\d+)\.\d+$/m.exec(readFileSync(join(root, 'scripts/ensure-chdb.sh'), 'utf8'));
  const image = /image: clickhouse\/clickhouse-server:(\d+)\.(\d+)\b/.exec(readFileSync(join(root, 'compose.yaml'), 'utf8'));
  expect(pinned?.[1]).toBe('26');
  expect(image?.slice(1, 3)).toEqual(pinned?.slice(1, 3));
});
