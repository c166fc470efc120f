export { resolveAdminKey } from './admin/admin-key';
export { configSchema, defaultPort, type GatewayConfig } from './config';
export { gatewayDatabase } from './database';
export { GatewayModule, type GatewayDeps } from './gateway.module';
export { LISTEN_BACKLOG, listenGateway } from './http/http-server';
export { requestLogEnv } from './http/request-log';
export { openApiDocument } from './openapi/openapi.document';
export { tenantLimitDefaultsOf, tenantLimitEnv } from './tenants/tenant-limits';
