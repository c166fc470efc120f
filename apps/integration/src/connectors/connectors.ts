import { sharedConnectionPools } from '@weft/egress';
import { probeConnector, type Connector } from '@weft/worker';
import { emailSendConnector } from './email-send/email-send.connector';
import { httpRequestConnector } from './http-request/http-request.connector';
import { kafkaPublishConnector } from './kafka-publish/kafka-publish.connector';
import { postgresQueryConnector } from './postgres-query/postgres-query.connector';
import { rabbitmqPublishConnector } from './rabbitmq-publish/rabbitmq-publish.connector';

/**
 * Every connector the integration service's worker runs, one per step type it serves, and how
 * to close the clients they keep. Adding a connector is adding its folder and a line here.
 */
export function integrationConnectors(): { connectors: Connector[]; close(): Promise<void> } {
  const kafkaPublish = kafkaPublishConnector();
  const rabbitmqPublish = rabbitmqPublishConnector();
  const postgresQuery = postgresQueryConnector();
  const emailSend = emailSendConnector();
  return {
    connectors: [
      probeConnector('integration'),
      httpRequestConnector(),
      kafkaPublish,
      rabbitmqPublish,
      postgresQuery,
      emailSend,
    ],
    close: async () => {
      await kafkaPublish.close();
      await rabbitmqPublish.close();
      await postgresQuery.close();
      await emailSend.close();
      // http.request's kept-alive connections (the process's, shared with ai.chat in standalone
      // mode; nothing is in flight once the worker stopped).
      sharedConnectionPools.close();
    },
  };
}
