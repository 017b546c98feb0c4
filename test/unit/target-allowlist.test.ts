import assert from 'node:assert/strict';
import { TargetAllowlist } from '../../agents/target-allowlist';

const allows = (patterns: string[], url: string) => new TargetAllowlist(patterns).refusal(new URL(url)) === undefined;

describe('the target allowlist (lt-agent --allow-target)', () => {
  it('without patterns, any target', () => {
    assert.ok(allows([], 'http://anything.example:1234/'));
  });

  it('host names exactly, in any case, and *.domain for the names below it', () => {
    assert.ok(allows(['API.example.com'], 'https://api.example.com/x'));
    assert.ok(!allows(['api.example.com'], 'https://api.example.com.evil.net/'));
    assert.ok(allows(['*.example.com'], 'http://a.b.example.com/'));
    assert.ok(!allows(['*.example.com'], 'http://example.com/'), 'not the domain itself');
    assert.ok(!allows(['*.example.com'], 'http://badexample.com/'));
  });

  it('addresses and address blocks, IPv4 and IPv6, for targets written as addresses', () => {
    assert.ok(allows(['10.0.0.0/8'], 'http://10.20.30.40:8080/'));
    assert.ok(!allows(['10.0.0.0/8'], 'http://11.0.0.1/'));
    assert.ok(allows(['127.0.0.1'], 'http://127.0.0.1:9/'));
    assert.ok(allows(['[fd00::/8]'], 'http://[fd12::1]/'));
    assert.ok(allows(['[::1]:8080'], 'http://[::1]:8080/'));
    assert.ok(!allows(['10.0.0.0/8'], 'http://internal.example/'), 'a name is never resolved into a block');
  });

  it('ports: a pattern with one allows only it; without, every port (80 and 443 by default)', () => {
    assert.ok(allows(['localhost:8080'], 'http://localhost:8080/'));
    assert.ok(!allows(['localhost:8080'], 'http://localhost:8081/'));
    assert.ok(allows(['example.com:443'], 'https://example.com/'));
    assert.ok(!allows(['example.com:80'], 'https://example.com/'));
  });

  it('says why a target is refused, naming the list', () => {
    assert.equal(new TargetAllowlist(['10.0.0.0/8', '*.test']).refusal(new URL('http://8.8.8.8/')), "target 8.8.8.8 is not in this agent's --allow-target list (10.0.0.0/8, *.test)");
  });

  it('a pattern it cannot read is an error naming it', () => {
    assert.throws(() => new TargetAllowlist(['10.0.0.0/40']), /"10.0.0.0\/40" is not an address block/);
    assert.throws(() => new TargetAllowlist(['exa mple.com']), /"exa mple.com" is not a host name/);
    assert.throws(() => new TargetAllowlist(['host:70000']), /port 70000 is out of range/);
  });
});
