export {
  canonicalAddress,
  classifyAddress,
  describeAddressClass,
  type AddressClass,
} from './address-class';
export {
  egressAllowSchema,
  isAllowed,
  parseEgressAllow,
  type EgressAllowList,
} from './egress-allow';
export {
  ConnectionPools,
  sharedConnectionPools,
  type ConnectionPoolLimits,
} from './connection-pools';
export { EgressGuard, type ResolveHost } from './egress.guard';
export { EgressDenied, OutboundFailure, type OutboundFailureCode } from './errors';
export {
  describeUrl,
  sendOutbound,
  type OutboundOptions,
  type OutboundRequest,
  type OutboundResponse,
} from './outbound-request';
