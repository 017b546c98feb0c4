import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../common/cli-options';
import { projectRoot } from '../../common/project-root';
import { importHttpCommand } from '../../orchestrator/cli/import-http-command';
import { importHttpRequest, IMPORTED_LOAD, listHttpRequests, loadTestFileText, schemaReference } from '../../orchestrator/scenarios/http-file-import';
import { tempDir } from '../support/temp-dir';

/** A file's text from lines, so that line numbers in the tests are plain to count (from 0). */
const file = (...lines: string[]) => lines.join('\n');

const SIGN_IN = file(
  '@host = http://127.0.0.1:8080', //              0
  '@user = alice', //                              1
  '', //                                           2
  '### Sign in', //                                3
  '# @name login', //                              4
  'POST {{host}}/login HTTP/1.1', //               5
  'Content-Type: application/json', //             6
  '', //                                           7
  '{"user": "{{user}}", "password": "pw"}', //     8
  '', //                                           9
  '###', //                                        10
  '// @name items', //                             11
  'GET {{host}}/items', //                         12
  'Authorization: Bearer {{login.response.body.$.token}}', // 13
  'X-Session: {{login.response.headers.X-Session}}', //       14
);

/** The steps of one request's import. */
const steps = (text: string, which: number | string) => importHttpRequest(text, which).definition.scenario.steps;

describe('.http files: the requests of a file, for a CodeLens above each', () => {
  it('lists each request at its request line, with its @name (# or //) or request_N as its step', () => {
    const text = file(
      '# a comment about the file', //     0
      '@host = http://127.0.0.1:8080', //  1
      '', //                               2
      '### Health, a title after ###', //  3
      'GET {{host}}/health', //            4
      '', //                               5
      '#### only variables and comments', // 6
      '@token = abc', //                   7
      '// nothing to send here', //        8
      '###', //                            9
      '', //                               10
      '// @name create', //                11
      '# creates one item', //             12
      'POST {{host}}/items', //            13
      '', //                               14
      '{"n": 1}', //                       15
      '###', //                            16
      'HTTP/1.1 201 Created', //           17  a response pasted below is no request
      '###', //                            18
      '{{host}}/items/1', //               19  no method: GET
    );
    assert.deepEqual(
      listHttpRequests(text).map(({ index, name, line, start, method, step }) => ({ index, name, line, start, method, step })),
      [
        { index: 0, name: undefined, line: 4, start: 4, method: 'GET', step: 'request_1' },
        { index: 1, name: 'create', line: 13, start: 10, method: 'POST', step: 'create' },
        { index: 2, name: undefined, line: 19, start: 19, method: 'GET', step: 'request_3' },
      ],
    );
  });

  it('counts lines the same with CRLF line ends, and lists nothing in a file without requests', () => {
    assert.deepEqual(listHttpRequests('@a = 1\r\n\r\n# @name x\r\nGET http://h/\r\n').map((r) => [r.line, r.name]), [[3, 'x']]);
    assert.deepEqual(listHttpRequests('# only a comment\n@a = 1\n'), []);
  });
});

describe('a request that uses earlier responses becomes a scenario: the requests it refers to, then it', () => {
  it('a token from the sign-in body and a header become captures on login and {variables} in the request', () => {
    const result = importHttpRequest(SIGN_IN, 'items');
    assert.deepEqual(result.unsupported, []);
    assert.deepEqual(result.definition.scenario.steps, [
      {
        name: 'login',
        url: 'http://127.0.0.1:8080/login',
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"user": "alice", "password": "pw"}',
        capture: { login_token: '$.token', login_x_session: { header: 'X-Session' } },
      },
      { name: 'items', url: 'http://127.0.0.1:8080/items', method: 'GET', headers: { Authorization: 'Bearer {login_token}', 'X-Session': '{login_x_session}' } },
    ]);
  });

  it('is a small default load test: the defaults of IMPORTED_LOAD, named after the request and its file', () => {
    const { definition } = importHttpRequest(SIGN_IN, 1, { source: 'api.http' });
    assert.deepEqual(IMPORTED_LOAD, { test_type: 'TSUNAMI', test_message_delay: 0.1, duration_s: 10, drivers: 1 });
    const { scenario, ...rest } = definition;
    assert.deepEqual(rest, { name: 'items from api.http', ...IMPORTED_LOAD });
    assert.equal(scenario.steps.length, 2);
  });

  it('a request that refers to nothing is one step without captures', () => {
    const result = importHttpRequest(SIGN_IN, 'login');
    assert.deepEqual(result.definition.scenario.steps.map((s) => [s.name, s.capture]), [['login', undefined]]);
    assert.deepEqual(result.unsupported, []);
  });

  it('takes what it refers to transitively, each before its user even when written after it, and through file variables', () => {
    const text = file(
      '@base = http://127.0.0.1:8080/api',
      '@authToken = {{login.response.headers.X-AuthToken}}',
      '### written first, needs the two below',
      '# @name show',
      'GET {{base}}/comments/{{createComment.response.body.$.id}}',
      'Authorization: {{authToken}}',
      '###',
      '# @name unrelated',
      'GET {{base}}/other',
      '###',
      '# @name createComment',
      'POST {{base}}/comments',
      'Authorization: {{authToken}}',
      '',
      '{"content": "x"}',
      '###',
      '# @name login',
      'POST {{base}}/login',
    );
    const result = importHttpRequest(text, 'show');
    assert.deepEqual(result.unsupported, []);
    assert.deepEqual(result.definition.scenario.steps.map((s) => s.name), ['login', 'createComment', 'show']);
    const [login, create, show] = result.definition.scenario.steps;
    assert.deepEqual(login.capture, { login_x_authtoken: { header: 'X-AuthToken' } }, 'one capture, though two requests use it');
    assert.deepEqual(create.capture, { createComment_id: '$.id' });
    assert.equal(create.headers!.Authorization, '{login_x_authtoken}');
    assert.equal(show.url, 'http://127.0.0.1:8080/api/comments/{createComment_id}');
  });

  it('gives every captured value its own valid variable name: the same last name twice, the whole body, an index', () => {
    const text = file(
      '# @name a',
      'GET http://h:1/a',
      '###',
      '# @name b',
      'POST http://h:1/b',
      'X-1: {{a.response.body.$.data.token}}',
      'X-2: {{a.response.body.$.token}}',
      'X-3: {{a.response.body.*}}',
      'X-4: {{a.response.body.$.ids[0]}}',
      "X-5: {{a.response.body.$['access-token']}}",
    );
    const [a, b] = steps(text, 'b');
    assert.deepEqual(a.capture, {
      a_token: '$.data.token',
      a_token_2: '$.token',
      a_body: { regex: '^([\\s\\S]*)$' },
      a_ids_0: '$.ids[0]',
      a_access_token: "$['access-token']",
    });
    assert.deepEqual(b.headers, { 'X-1': '{a_token}', 'X-2': '{a_token_2}', 'X-3': '{a_body}', 'X-4': '{a_ids_0}', 'X-5': '{a_access_token}' });
  });

  it('chooses the request by index, @name or step name, and says which requests there are when none matches', () => {
    assert.equal(steps(SIGN_IN, 0).at(-1)!.name, 'login');
    assert.equal(steps(SIGN_IN, 'items').at(-1)!.name, 'items');
    assert.equal(steps(file('GET http://h:1/', '###', 'GET http://h:1/2'), 'request_2').at(-1)!.url, 'http://h:1/2');
    assert.throws(() => importHttpRequest(SIGN_IN, 'logout'), /no request named logout; the file's requests are login, items/);
    assert.throws(() => importHttpRequest(SIGN_IN, 5), /no request at index 5/);
    assert.throws(() => importHttpRequest('# nothing\n', 0), /the file has no request/);
  });
});

describe('file variables are written in', () => {
  it('in the URL, headers and body; nested; the first definition of a name counts; escapes as REST Client reads them', () => {
    const text = file(
      '@host = 127.0.0.1:8080',
      '@base = http://{{host}}/api',
      '@base = http://elsewhere/',
      '@type = application/json',
      '@greeting = hello\\tworld',
      'POST {{ base }}/items',
      'Content-Type: {{type}}',
      '',
      '{"text": "{{greeting}}"}',
    );
    const result = importHttpRequest(text, 0);
    assert.deepEqual(result.unsupported, []);
    assert.deepEqual(result.definition.scenario.steps[0], { name: 'request_1', url: 'http://127.0.0.1:8080/api/items', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text": "hello\tworld"}' });
  });

  it('{{%name}} writes the value percent-encoded', () => {
    assert.equal(steps(file('@q = a&b c', 'GET http://h:1/?q={{%q}}'), 0)[0].url, 'http://h:1/?q=a%26b%20c');
  });
});

describe('request lines, headers and bodies are read as REST Client reads them', () => {
  it('the method defaults to GET, HTTP/1.1 and Content-Length are left to the HTTP client, query lines join the URL', () => {
    const text = file('http://h:1/search', '  ?q=load test', '  &page=2', 'Content-Length: 99', 'Accept: */*');
    const result = importHttpRequest(text, 0);
    assert.deepEqual(result.unsupported, []);
    assert.deepEqual(result.definition.scenario.steps[0], { name: 'request_1', url: 'http://h:1/search?q=load%20test&page=2', method: 'GET', headers: { Accept: '*/*' } });
  });

  it('comment lines are left out of the headers and the body; the body keeps its other lines as written', () => {
    const text = file('post http://h:1/notes', '# a comment among headers', 'Content-Type: text/plain', '', 'line one', '// left out, as REST Client leaves it out', '  line two', '', '');
    const [step] = steps(text, 0);
    assert.equal(step.method, 'POST');
    assert.deepEqual(step.headers, { 'Content-Type': 'text/plain' });
    assert.equal(step.body, 'line one\n  line two');
  });

  it('a form body joins its & lines and is percent-encoded; a multipart body ends its lines in CRLF', () => {
    const form = file('@form = application/x-www-form-urlencoded', 'POST http://h:1/login', 'Content-Type: {{form}}', '', 'name=a b', '&password={{$randomInt 1 3}}');
    assert.equal(steps(form, 0)[0].body, 'name=a%20b&password={random:1:2}');
    const multipart = file('POST http://h:1/upload', 'Content-Type: multipart/form-data; boundary=B', '', '--B', 'Content-Disposition: form-data; name="a"', '', '1', '--B--');
    assert.equal(steps(multipart, 0)[0].body, '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B--');
  });

  it('a path with a Host header goes to that host; Basic user:password is encoded as REST Client encodes it', () => {
    const [step] = steps(file('GET /items', 'Host: 127.0.0.1:8443', 'Authorization: Basic alice pw 2'), 0);
    assert.equal(step.url, 'https://127.0.0.1:8443/items');
    assert.equal(step.headers!.Authorization, `Basic ${Buffer.from('alice:pw 2').toString('base64')}`);
    assert.equal(steps(file('GET http://h:1/', 'Authorization: Basic alice:pw'), 0)[0].headers!.Authorization, `Basic ${Buffer.from('alice:pw').toString('base64')}`);
  });

  it('a header given twice is sent once with both values', () => {
    assert.deepEqual(steps(file('GET http://h:1/', 'Accept: a', 'accept: b', 'Cookie: x=1', 'Cookie: y=2'), 0)[0].headers, { Accept: 'a, b', Cookie: 'x=1; y=2' });
  });
});

describe('what has no equivalent in a load test is named, never dropped', () => {
  /** The one note of a one-request file, and whether it blocks the run. */
  const noteOf = (...lines: string[]) => {
    const result = importHttpRequest(file(...lines), 0);
    assert.equal(result.unsupported.length, 1, `one note, got ${JSON.stringify(result.unsupported)}`);
    return { text: result.unsupported[0], blocking: result.blocking.includes(result.unsupported[0]) };
  };
  const blocks = (pattern: RegExp, ...lines: string[]) => {
    const note = noteOf(...lines);
    assert.match(note.text, pattern);
    assert.ok(note.blocking, `blocks the run: ${note.text}`);
  };

  it('REST Client system variables other than $randomInt, each by name, with its step and line', () => {
    blocks(/^request_1 \(line 2, header X-Id\): \{\{\$guid\}\}: REST Client makes a new UUID/, 'GET http://h:1/', 'X-Id: {{$guid}}');
    blocks(/\{\{\$timestamp -1 d\}\}: REST Client writes the time of sending/, 'GET http://h:1/?t={{$timestamp -1 d}}');
    blocks(/\{\{\$datetime iso8601\}\}: REST Client writes the time/, 'POST http://h:1/', '', '{"at": "{{$datetime iso8601}}"}');
    blocks(/\{\{\$localDatetime rfc1123\}\}/, 'GET http://h:1/', 'X-At: {{$localDatetime rfc1123}}');
    blocks(/\{\{\$processEnv API_KEY\}\}: REST Client reads an environment variable/, 'GET http://h:1/', 'X-Key: {{$processEnv API_KEY}}');
    blocks(/\{\{\$dotenv %TOKEN\}\}: REST Client reads a \.env file/, 'GET http://h:1/', 'X-Key: {{$dotenv %TOKEN}}');
    blocks(/\{\{\$aadToken\}\}: REST Client signs in to Azure AD/, 'GET http://h:1/', 'Authorization: {{$aadToken}}');
  });

  it('$randomInt becomes {random:MIN:MAX} (REST Client excludes MAX, the load test includes it); a wrong one is named', () => {
    assert.equal(steps(file('GET http://h:1/items/{{$randomInt 1 1000}}'), 0)[0].url, 'http://h:1/items/{random:1:999}');
    blocks(/\{\{\$randomInt 5 5\}\}: \$randomInt takes MIN and MAX/, 'GET http://h:1/items/{{$randomInt 5 5}}');
  });

  it('references to what a request sent, XPath, unknown requests and undefined or prompted variables', () => {
    const named = (line: string) => file('# @name login', 'POST http://h:1/login', '###', 'GET http://h:1/me', line);
    const only = (text: string, pattern: RegExp) => {
      const result = importHttpRequest(text, 1);
      assert.equal(result.unsupported.length, 1, JSON.stringify(result.unsupported));
      assert.match(result.unsupported[0], pattern);
      assert.deepEqual(result.blocking, result.unsupported);
    };
    only(named('X-A: {{login.request.headers.X-A}}'), /\{\{login\.request\.headers\.X-A\}\}: refers to what login sent, not to its response/);
    only(named('X-A: {{login.response.body.//token}}'), /an XPath into an XML body/);
    only(named('X-A: {{login.response.headers}}'), /names no header/);
    only(named('X-A: {{signin.response.body.$.token}}'), /\{\{signin\.response\.body\.\$\.token\}\}: no request is named signin/);
    only(named('X-A: {{login.responses.token}}'), /refers to login in a form this import does not read/);
    blocks(/\{\{host\}\}: not a variable of this file \(a REST Client environment variable\?\); define it in the file: @host = VALUE/, 'GET {{host}}/x');
    blocks(/\{\{otp\}\}: asked for by @prompt as REST Client sends/, '# @prompt otp your one-time password', 'POST http://h:1/verify', '', '{"otp": "{{otp}}"}');
  });

  it('file bodies, GraphQL and cURL commands', () => {
    blocks(/^request_1 \(line 4, body\): includes the file \.\/item\.json \(< \.\/item\.json\)/, 'POST http://h:1/items', 'Content-Type: application/json', '', '< ./item.json');
    blocks(/includes the file \.\/a\.png/, 'POST http://h:1/upload', 'Content-Type: multipart/form-data; boundary=B', '', '--B', 'Content-Type: image/png', '', '<@latin1 ./a.png', '--B--');
    blocks(/a GraphQL request/, 'POST http://h:1/graphql', 'X-Request-Type: GraphQL', '', 'query { items { id } }');
    blocks(/^request_1 \(line 1\): a cURL command/, "curl -X POST http://h:1/items -d '{}'");
  });

  it('a step to another origin than the first step\'s', () => {
    const text = file('# @name login', 'POST http://auth:9000/login', '###', 'GET http://h:1/me', 'Authorization: {{login.response.body.$.token}}');
    const result = importHttpRequest(text, 1);
    assert.deepEqual(result.blocking, ['request_2 (line 4, url): goes to http://h:1, not to http://auth:9000 as login does; a scenario sends every step to one origin']);
  });

  it('a {word} written in a body or header, which the load test would fill as a variable; braces in a URL are percent-encoded', () => {
    blocks(/^request_1 \(line 3, body\): \{name\} is written in the file, and the load test would fill it/, 'POST http://h:1/t', '', '{"template": "Hello {name}"}');
    blocks(/\{seq\} is written in the file/, 'GET http://h:1/', 'X-Template: {seq}');
    const result = importHttpRequest(file('POST http://h:1/t/{id}', '', '{"a": {"b": 1}}'), 0);
    assert.deepEqual(result.unsupported, [], 'JSON objects are not {word}');
    assert.equal(result.definition.scenario.steps[0].url, 'http://h:1/t/%7Bid%7D');
  });

  it('requests that refer to one another, and a header line that is not a header', () => {
    const loop = file('# @name a', 'GET http://h:1/a?x={{b.response.body.$.x}}', '###', '# @name b', 'GET http://h:1/b?y={{a.response.body.$.y}}');
    const result = importHttpRequest(loop, 'a');
    assert.deepEqual(result.blocking, ["a, b: refer to one another's responses, so none can run first"]);
    assert.deepEqual(result.definition.scenario.steps.map((s) => s.name), ['b', 'a']);
    blocks(/^request_1 \(line 2, headers\): "not a header" is not a header \(NAME: VALUE\); a body begins after a blank line/, 'POST http://h:1/', 'not a header');
  });

  it('@note, other settings and HTTP/2 are named without stopping the run', () => {
    const note = noteOf('# @note', 'DELETE http://h:1/items');
    assert.match(note.text, /^request_1 \(line 1\): @note asks for a confirmation before REST Client sends the request/);
    assert.ok(!note.blocking);
    const version = noteOf('GET http://h:1/ HTTP/2');
    assert.match(version.text, /HTTP\/2: the load test sends HTTP\/1\.1 \(or HTTP\/2 with "http2": true/);
    assert.ok(!version.blocking);
    assert.ok(!noteOf('# @timeout 5', 'GET http://h:1/').blocking);
    assert.deepEqual(importHttpRequest(file('# @no-redirect', '# @no-cookie-jar', 'GET http://h:1/'), 0).unsupported, [], 'the driver never follows redirects nor keeps cookies');
  });

  it('a method a load test does not send', () => {
    blocks(/method\): TRACE: a load test sends GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/, 'TRACE http://h:1/');
  });
});

describe('the .loadtest.json an import is saved as', () => {
  it('is the definition pretty-printed, its $schema first and relative to the file as in examples/', () => {
    const { definition } = importHttpRequest(SIGN_IN, 'items');
    const schema = schemaReference('/work/project/tests', '/work/project/schemas/loadtest.schema.json');
    assert.equal(schema, '../schemas/loadtest.schema.json');
    const text = loadTestFileText(definition, schema);
    assert.deepEqual(Object.keys(JSON.parse(text))[0], '$schema');
    assert.deepEqual(JSON.parse(text), { $schema: schema, ...definition });
    assert.match(text, /^\{\n {2}"\$schema": "\.\.\/schemas\/loadtest\.schema\.json",\n/);
    assert.ok(text.endsWith('}\n'));
  });
});

describe('lt-orchestrator import-http', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const io = () => ({ stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), cwd: dir });
  beforeEach(() => {
    dir = tempDir('import-http');
    out = [];
    err = [];
    writeFileSync(join(dir, 'api.http'), `${SIGN_IN}\n###\n# @name stamp\nGET http://127.0.0.1:8080/t?at={{$timestamp}}\n`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('asks which request when the file has several, listing them with their numbers (exit 2)', () => {
    assert.throws(() => importHttpCommand(join(dir, 'api.http'), {}, io()), (e: Error) => e instanceof UsageError && /has 3 requests; choose one with --request NAME or its number:\n +1 +login +line 6 +POST \{\{host\}\}\/login\n +2 +items/.test(e.message));
    assert.throws(() => importHttpCommand(join(dir, 'api.http'), { request: '4' }, io()), /--request 4: .* has requests 1 to 3/);
  });

  it('prints the definition of request N (counting from 1), its $schema relative to where it is read (exit 0)', () => {
    assert.equal(importHttpCommand(join(dir, 'api.http'), { request: '2' }, io()), 0);
    const definition = JSON.parse(out.join(''));
    assert.equal(definition.$schema, schemaReference(dir, join(projectRoot(), 'schemas', 'loadtest.schema.json')));
    assert.deepEqual(definition.scenario.steps.map((s: { name: string }) => s.name), ['login', 'items']);
    assert.deepEqual(err, []);
  });

  it('writes --out and names on stderr what blocks the run (exit 1: the file needs an edit before it runs)', () => {
    assert.equal(importHttpCommand(join(dir, 'api.http'), { request: 'stamp', out: join(dir, 'stamp.loadtest.json') }, io()), 1);
    assert.equal(JSON.parse(readFileSync(join(dir, 'stamp.loadtest.json'), 'utf8')).name, 'stamp from api.http');
    assert.deepEqual(out, []);
    assert.match(err.join(''), /^Wrote .*stamp\.loadtest\.json: 1 step\(s\), stamp\nNot carried over from .*api\.http \(the test cannot run as it is until those marked "blocks" are fixed in the definition\):\n {2}blocks {2}stamp \(line 18, url\): \{\{\$timestamp\}\}/);
  });
});
