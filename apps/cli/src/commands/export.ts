import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allWorkflows, connect } from '../context';
import type { Schema } from '@cfworker/json-schema';
import { ok } from '../api/client';
import { fileNameOf, formatDefinition, inSchemaOrder } from '../definitions';
import { printJson } from '../output';

export interface ExportOptions {
  dir: string;
  format: 'json' | 'yaml';
  json?: boolean;
}

/**
 * `weft export`: each active workflow's latest definition, as it was saved (keys in the
 * schema's order), in `<name>.weft.json` (or .weft.yaml); `weft apply` reads them back as
 * unchanged.
 */
export async function exportWorkflows(options: ExportOptions): Promise<number> {
  const api = connect();
  const workflows = await allWorkflows(api);
  // Served without a key; the same as the committed schemas/workflow.json.
  const schema = (await ok(api.GET('/v1/schemas/workflow.json'))) as unknown as Schema;
  mkdirSync(options.dir, { recursive: true });
  const written: { name: string; version: number; file: string }[] = [];
  const taken = new Set<string>();
  for (const workflow of [...workflows].sort((a, b) => a.name.localeCompare(b.name))) {
    let file = fileNameOf(workflow.name, options.format);
    // Two names that differ only by characters a file name cannot hold get the id to tell them apart.
    if (taken.has(file)) file = fileNameOf(`${workflow.name}-${workflow.id}`, options.format);
    taken.add(file);
    const path = join(options.dir, file);
    writeFileSync(
      path,
      formatDefinition(inSchemaOrder(workflow.definition, schema), options.format),
    );
    written.push({ name: workflow.name, version: workflow.version, file: path });
  }
  if (options.json) printJson(written);
  else {
    for (const { name, version, file } of written)
      console.log(`wrote ${file} (${name} v${version})`);
    console.log(`Exported ${written.length} workflow${written.length === 1 ? '' : 's'}.`);
  }
  return 0;
}
