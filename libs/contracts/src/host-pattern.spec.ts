import { AllowedHosts, hostAllowed, parseHostPattern } from './host-pattern';

describe('parseHostPattern', () => {
  it.each([
    ['*', { any: true }],
    ['api.example.com', { any: false, host: 'api.example.com', subdomains: false }],
    ['API.Example.COM.', { any: false, host: 'api.example.com', subdomains: false }],
    ['*.example.com', { any: false, host: 'example.com', subdomains: true }],
    [
      'api.example.com:8443',
      { any: false, host: 'api.example.com', subdomains: false, port: 8443 },
    ],
    ['*.example.com:443', { any: false, host: 'example.com', subdomains: true, port: 443 }],
    ['127.0.0.1:8080', { any: false, host: '127.0.0.1', subdomains: false, port: 8080 }],
    ['[::1]', { any: false, host: '[::1]', subdomains: false }],
    ['[0:0::1]:8080', { any: false, host: '[::1]', subdomains: false, port: 8080 }],
    ['bücher.de', { any: false, host: 'xn--bcher-kva.de', subdomains: false }],
  ])('reads %j', (text, pattern) => {
    expect(parseHostPattern(text)).toEqual(pattern);
  });

  it.each([
    ['', /not a host pattern/],
    ['https://api.example.com', /not a host pattern/],
    ['api.example.com/path', /not a host pattern/],
    ['user@api.example.com', /not a host pattern/],
    ['api.*.com', /not a host pattern/],
    ['**.example.com', /not a host pattern/],
    ['*example.com', /not a host pattern/],
    ['::1', /not a host pattern/],
    ['api.example.com:0', /port must be 1 to 65535/],
    ['api.example.com:70000', /port must be 1 to 65535/],
    ['api.example.com:', /not a host pattern/],
    ['*.com', /at least two labels/],
    ['*.10.0.0.1', /not an IP address/],
    ['*.[::1]', /not a host pattern|not an IP address/],
    ['exa mple.com', /not a host pattern/],
  ])('refuses %j', (text, message) => {
    expect(() => parseHostPattern(text)).toThrow(message);
  });
});

describe('hostAllowed', () => {
  const allowed = (patterns: string[], url: string) => hostAllowed(patterns, new URL(url));

  it('matches an exact host on its scheme’s default port only, unless a port is given', () => {
    expect(allowed(['api.example.com'], 'https://api.example.com/v1?x=1')).toBe(true);
    expect(allowed(['api.example.com'], 'http://API.example.com./')).toBe(true);
    expect(allowed(['api.example.com'], 'https://api.example.com:443/')).toBe(true);
    expect(allowed(['api.example.com'], 'https://api.example.com:8443/')).toBe(false);
    expect(allowed(['api.example.com'], 'https://evil.com/?api.example.com')).toBe(false);
    expect(allowed(['api.example.com'], 'https://api.example.com.evil.com/')).toBe(false);
    expect(allowed(['api.example.com'], 'https://example.com/')).toBe(false);
    expect(allowed(['api.example.com'], 'https://x.api.example.com/')).toBe(false);
    expect(allowed(['api.example.com:8443'], 'https://api.example.com:8443/')).toBe(true);
    expect(allowed(['api.example.com:8443'], 'https://api.example.com/')).toBe(false);
    expect(allowed(['api.example.com:443'], 'https://api.example.com/')).toBe(true);
    expect(allowed(['api.example.com:443'], 'http://api.example.com/')).toBe(false);
  });

  it('matches every subdomain of a wildcard, at any depth, but not the domain itself', () => {
    expect(allowed(['*.example.com'], 'https://api.example.com/')).toBe(true);
    expect(allowed(['*.example.com'], 'https://a.b.example.com/')).toBe(true);
    expect(allowed(['*.example.com'], 'https://example.com/')).toBe(false);
    expect(allowed(['*.example.com'], 'https://badexample.com/')).toBe(false);
    expect(allowed(['*.example.com'], 'https://api.example.com.evil.com/')).toBe(false);
    expect(allowed(['*.example.com:8080'], 'http://api.example.com:8080/')).toBe(true);
    expect(allowed(['*.example.com:8080'], 'http://api.example.com/')).toBe(false);
  });

  it('matches IP literals as URL spells them', () => {
    expect(allowed(['127.0.0.1:8080'], 'http://127.0.0.1:8080/')).toBe(true);
    expect(allowed(['127.0.0.1:8080'], 'http://0x7f.1:8080/')).toBe(true);
    expect(allowed(['127.0.0.1:8080'], 'http://127.0.0.1:8081/')).toBe(false);
    expect(allowed(['[::1]:8080'], 'http://[0::1]:8080/')).toBe(true);
    expect(allowed(['[::1]'], 'http://127.0.0.1/')).toBe(false);
  });

  it('matches anything for * and nothing for no patterns', () => {
    expect(allowed(['*'], 'http://echo.attacker.example:9999/')).toBe(true);
    expect(allowed([], 'https://api.example.com/')).toBe(false);
    expect(allowed(['a.example.com', 'b.example.com'], 'https://b.example.com/')).toBe(true);
  });
});

describe('AllowedHosts', () => {
  it('requires at least one valid pattern, naming each bad one', () => {
    expect(AllowedHosts.safeParse(['*']).success).toBe(true);
    expect(AllowedHosts.safeParse([]).success).toBe(false);
    const missing = AllowedHosts.safeParse(undefined);
    expect(missing.error?.issues[0]?.message).toMatch(/^required: the hosts/);
    const bad = AllowedHosts.safeParse(['ok.example.com', 'http://x']);
    expect(bad.error?.issues.map((issue) => issue.path)).toEqual([[1]]);
  });
});
