// `npm run migrate`: applies every service's pending migrations to DATABASE_URL. Services also
// migrate their own schema when they start; this is for operators who want it as a step.
'use strict';
const { migrate, createDataSource } = require('@weft/persistence');

const services = {
  gateway: () => require('@weft/gateway').gatewayDatabase,
  workflow: () => require('@weft/workflow').workflowDatabase,
  integration: () => require('@weft/integration').integrationDatabase,
  ai: () => require('@weft/ai').aiDatabase,
};

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  for (const [service, database] of Object.entries(services)) {
    // Two connections: migrate() holds one for its advisory lock while TypeORM runs on another.
    const dataSource = createDataSource(database(), { url, poolSize: 2 });
    await dataSource.initialize();
    try {
      const applied = await migrate(dataSource, database().schema);
      console.log(`${service}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    } finally {
      await dataSource.destroy();
    }
  }
}

main().catch((error) => {
  console.error(`migrate failed: ${error.message}`);
  process.exit(1);
});
