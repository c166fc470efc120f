// `npm run migrate`, and what the Kubernetes migration Job and the compose `migrate` service run
// (`node tools/migrate.cjs`, in the standalone image, which holds every service's migrations):
// applies every service's pending migrations, each under its advisory lock.
//
// It connects to DATABASE_DIRECT_URL, or DATABASE_URL when that is unset: the lock is held by a
// session, which a transaction-mode PgBouncer does not keep, so the direct URL must reach
// PostgreSQL itself (or a session-mode pool). Exits 0 when every schema is up to date.
'use strict';
const { applyMigrations } = require('@weft/persistence');

const services = {
  gateway: () => require('@weft/gateway').gatewayDatabase,
  workflow: () => require('@weft/workflow').workflowDatabase,
  integration: () => require('@weft/integration').integrationDatabase,
  ai: () => require('@weft/ai').aiDatabase,
};

/** The URL migrations use; empty strings count as unset, as in the services' configuration. */
function migrationUrl(env = process.env) {
  const url = env.DATABASE_DIRECT_URL || env.DATABASE_URL;
  if (!url) throw new Error('neither DATABASE_DIRECT_URL nor DATABASE_URL is set');
  return url;
}

async function main() {
  const url = migrationUrl();
  for (const [service, database] of Object.entries(services)) {
    const applied = await applyMigrations(database(), url, `weft-migrate-${service}`);
    console.log(`${service}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`migrate failed: ${error.message}`);
    process.exit(1);
  });
}

module.exports = { migrationUrl, services };
