/**
 * Limits of the gateway's edge against slow and hostile clients (docs/reliability.md § Overload).
 * The load-shedding bounds are in http/load-shedding.ts.
 */
export interface GatewayLimits {
  /**
   * Longest a client may take to send one whole request, headers and body
   * (GATEWAY_REQUEST_TIMEOUT_MS); it is answered 408 and its connection closed. Responses,
   * event streams included, are not bounded by it.
   */
  requestTimeoutMs: number;
  /**
   * Open connections from one remote address (GATEWAY_MAX_CONNECTIONS_PER_ADDRESS); the next
   * is closed at once. 0: no cap. Behind a proxy or load balancer that does not keep the
   * client's address, every connection comes from the proxy: raise it or turn it off.
   */
  maxConnectionsPerAddress: number;
  /** Event streams one tenant may hold open at once (GATEWAY_MAX_EVENT_STREAMS_PER_TENANT). */
  maxEventStreamsPerTenant: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  requestTimeoutMs: 10_000,
  maxConnectionsPerAddress: 64,
  maxEventStreamsPerTenant: 20,
};
