import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from '../http/bearer';
import { ProblemError, problemFor } from '../problem/problem';
import { scopeNeededFor, scopesAllow, type ApiKeyScope } from './api-key';
import { LastUsedRecorder } from './last-used.recorder';
import { TenantRateLimitGate } from './rate-limits';
import { TenantService } from './tenant.service';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by ApiKeyGuard: the tenant whose API key authenticated the request. */
    tenantId?: string;
    /** Set by ApiKeyGuard: the id of that key (never the key). */
    apiKeyId?: string;
    /** Set by ApiKeyGuard: what that key may do. */
    apiKeyScopes?: readonly ApiKeyScope[];
  }
}

/**
 * Admits requests bearing a tenant's live API key whose scopes allow the request's method and
 * whose tenant is within its requestsPerSecond, and records the tenant and the key on the
 * request. The scope is checked here, by method, rather
 * than declared per route, so that a new route cannot be forgotten: whatever is not GET or
 * HEAD needs `write`.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly tenants: TenantService,
    private readonly lastUsed: LastUsedRecorder,
    private readonly rateLimits: TenantRateLimitGate,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = bearerToken(request.headers.authorization);
    if (!presented)
      throw ProblemError.unauthorized('an API key is required: Authorization: Bearer <key>');
    const key = await this.tenants.resolve(presented);
    if (!key) throw ProblemError.unauthorized('the API key is not valid');
    // Whoever presents a revoked or expired key had it, so saying which costs nothing and
    // spares them guessing why a key that used to work stopped.
    if (key.revokedAt) throw ProblemError.unauthorized('the API key was revoked');
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now())
      throw ProblemError.unauthorized(`the API key expired at ${key.expiresAt.toISOString()}`);
    // A use even if the scope check below refuses it: the key is still out there in use,
    // which is what lastUsedAt is for (telling whether a key can be revoked safely).
    this.lastUsed.record(key.keyId);
    const needed = scopeNeededFor(request.method);
    if (!scopesAllow(key.scopes, needed)) throw insufficientScope(needed);
    // Before the request takes a slot in flight (AdmissionInterceptor): a tenant over its
    // rate costs the others nothing but this check.
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    await this.rateLimits.admit(request, reply, 'requests', key.tenant.id, key.limits);
    request.tenantId = key.tenant.id;
    request.apiKeyId = key.keyId;
    request.apiKeyScopes = key.scopes;
    return true;
  }
}

function insufficientScope(needed: ApiKeyScope): ProblemError {
  const { problem } = problemFor(
    'insufficient_scope',
    `this request needs an API key with the ${needed} scope`,
  );
  // RFC 6750 §3.1: the challenge names the error and the scope that would do.
  return new ProblemError(problem, {
    'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}"`,
  });
}
