import { dataOf } from '../../apps/console/src/pages/credentials/fields';

/** The console's credential form turns its fields into the `data` the API checks. */
describe('the credential form’s data', () => {
  it('splits lists by line and leaves empty optional fields out', () => {
    expect(
      dataOf('http.bearer', {
        token: ' tok en ',
        allowedHosts: ' api.example.com \n\n*.example.org',
      }),
    ).toEqual({ token: ' tok en ', allowedHosts: ['api.example.com', '*.example.org'] });
  });

  it('nests fields, and leaves out an object none of whose fields is filled', () => {
    expect(dataOf('kafka', { brokers: 'k1:9092', 'sasl.mechanism': '' })).toEqual({
      brokers: ['k1:9092'],
    });
    expect(
      dataOf('kafka', {
        brokers: 'k1:9092\nk2:9092',
        'sasl.mechanism': 'scram-sha-512',
        'sasl.username': 'app',
        'sasl.password': 'pw',
      }),
    ).toEqual({
      brokers: ['k1:9092', 'k2:9092'],
      sasl: { mechanism: 'scram-sha-512', username: 'app', password: 'pw' },
    });
  });

  it('sends numbers as numbers and checkboxes as booleans', () => {
    expect(dataOf('smtp', { host: 'smtp.example.com', port: '587' })).toEqual({
      host: 'smtp.example.com',
      port: 587,
      secure: false,
    });
    expect(dataOf('smtp', { host: 'smtp.example.com', port: '465', secure: true })).toMatchObject({
      secure: true,
    });
  });
});
