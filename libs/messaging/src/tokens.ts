/** Injection tokens for the messaging ports, so services depend on ports, not brokers. */
export const EVENT_LOG = Symbol('EventLog');
export const RPC_TRANSPORT = Symbol('RpcTransport');
