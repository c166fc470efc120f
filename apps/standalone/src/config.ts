import { z } from 'zod';
import { egressAllowSchema } from '@weft/egress';
import { requestLogEnv, tenantLimitEnv } from '@weft/gateway';
import { env, serviceEnv } from '@weft/runtime';
import { breakerEnv } from '@weft/worker';

/** Standalone mode's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  /** Circuit breakers of the providers steps call (fallback credentials). */
  ...breakerEnv,
  /** Default tenant limits: WEFT_TENANT_REQUESTS_PER_SECOND, …_RUNS_PER_SECOND, …_CONCURRENT_RUNS. */
  ...tenantLimitEnv,
  /** WEFT_REQUEST_LOG: one log line per API request (`on`, the default) or none (`off`). */
  ...requestLogEnv,
  PORT: env.port(3000),
  WEFT_DATA_DIR: z.string().min(1).default('./.weft'),
  WEFT_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Generated into the data folder when unset; see libs/secrets for the format. */
  WEFT_SECRET_KEY: z.string().min(1).optional(),
  /**
   * Hosts or CIDRs that steps may reach despite the SSRF guard (e.g. `127.0.0.1/32`): the
   * integration and ai services' one list.
   */
  WEFT_EGRESS_ALLOW: egressAllowSchema,
  /** Where people reach this Weft (approval links point here); `http://127.0.0.1:{PORT}` if unset. */
  WEFT_PUBLIC_URL: z.url().optional(),
  /** Port of the embedded PostgreSQL; 0 picks a free one at each start. */
  WEFT_EMBEDDED_PG_PORT: env.port(0),
});
export type StandaloneConfig = z.infer<typeof configSchema>;
