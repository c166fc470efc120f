/** Injection tokens of the gateway's own settings. */
export const RPC_TIMEOUT_MS = Symbol('RpcTimeoutMs');
export const SSE_HEARTBEAT_MS = Symbol('SseHeartbeatMs');
export const SSE_IDLE_MS = Symbol('SseIdleMs');
export const LOAD_SHEDDING = Symbol('LoadShedding');
export const GATEWAY_LIMITS = Symbol('GatewayLimits');
export const LAST_USED_FLUSH_MS = Symbol('LastUsedFlushMs');
/** The web console's build (apps/console/dist); null: none, `/` answers 404. */
export const CONSOLE_DIR = Symbol('ConsoleDir');
/** The platform's default tenant limits (WEFT_TENANT_…); a tenant's own override them. */
export const TENANT_LIMIT_DEFAULTS = Symbol('TenantLimitDefaults');
/** Whether RequestLog writes a line per request (`WEFT_REQUEST_LOG`). */
export const REQUEST_LOG = Symbol('RequestLog');
