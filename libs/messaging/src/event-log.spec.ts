import { kafkaClient } from './event-log';

describe('kafkaClient', () => {
  it('is kafkajs unless WEFT_KAFKA_CLIENT chooses @platformatic/kafka', () => {
    expect(kafkaClient({})).toBe('kafkajs');
    expect(kafkaClient({ WEFT_KAFKA_CLIENT: 'kafkajs' })).toBe('kafkajs');
    expect(kafkaClient({ WEFT_KAFKA_CLIENT: 'platformatic' })).toBe('platformatic');
  });

  it('refuses any other value rather than falling back', () => {
    expect(() => kafkaClient({ WEFT_KAFKA_CLIENT: 'rdkafka' })).toThrow(/WEFT_KAFKA_CLIENT/);
  });
});
