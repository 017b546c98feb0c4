// nginx as a fast target, for the tests and the benchmark alike: /ping answered from memory with
// keep-alive (tens of thousands of responses per second on one core), /nginx_status for the
// requests it received, and, with Debian's echo module, /delay50 answered 50 ms late on nginx's
// own timers. With a rate limit, /ping refuses (503) what arrives above N requests per second: a
// known capacity for the capacity search to find.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const ECHO_MODULE = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
export const HAS_ECHO_MODULE = existsSync(ECHO_MODULE);
export const STATUS_PATH = '/nginx_status';

/** An HTTPS server beside the plain one: TLS with HTTP/2 and HTTP/1.1 (ALPN), logging each request's protocol. */
export interface NginxTls {
  port: number;
  certFile: string;
  keyFile: string;
}

/** nginx's limit_req on the plain server's /ping: above `rate` requests per second (all clients together), 503. */
export interface NginxRateLimit {
  /** requests per second */
  rate: number;
  /**
   * Requests beyond the rate let through at once (nodelay) before refusals start. nginx allows one
   * request per 1/rate s, so with a burst of 0 two drivers whose requests happen to arrive close
   * together are refused well below the rate; the default, 50 ms worth of requests (at least 5),
   * absorbs such timer jitter and stays a small share of a second's requests.
   */
  burst?: number;
}

export function defaultNginxBurst(rate: number): number {
  return Math.max(5, Math.ceil(rate * 0.05));
}

/**
 * Writes the configuration into `dir` (logs and temp files stay there); returns its path. With
 * `arrivalLog`, the plain server writes one line per request there (see readArrivals).
 */
export function writeNginxConfig(dir: string, port: number, tls?: NginxTls, limit?: NginxRateLimit, arrivalLog?: string): string {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  // $server_port as the key: one bucket for every client (an empty key would not be limited at
  // all). Refusals are logged at info, below the error log's level: one line each would be
  // thousands a second.
  const limitZone = limit
    ? `  limit_req_zone $server_port zone=lt_rate:1m rate=${Math.max(1, Math.round(limit.rate))}r/s;\n  limit_req_status 503;\n  limit_req_log_level info;\n`
    : '';
  // `return` answers in the rewrite phase, before limit_req is consulted; a limited /ping goes on
  // to try_files (after limit_req), which finds no file and hands it to @pong to answer.
  const pong = `default_type application/json; return 200 '{"message":"pong"}';`;
  const ping = limit
    ? `location /ping { limit_req zone=lt_rate burst=${limit.burst ?? defaultNginxBurst(limit.rate)} nodelay; try_files /lt-no-such-file @pong; }\n    location @pong { ${pong} }`
    : `location /ping { ${pong} }`;
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${HAS_ECHO_MODULE ? `load_module ${ECHO_MODULE};\n` : ''}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
${limitZone}${arrivalLog ? `  log_format lt_arrival '$msec $request_time $http_x_loadtest_driver';\n` : ''}  server {
    listen 127.0.0.1:${port};
${arrivalLog ? `    access_log ${arrivalLog} lt_arrival buffer=256k flush=1s;\n` : ''}    ${ping}
    location ${STATUS_PATH} { stub_status; }
${HAS_ECHO_MODULE ? `    location /delay50 { default_type application/json; echo_sleep 0.05; echo '{"message":"pong"}'; }\n` : ''}  }
${
  tls
    ? `  log_format protocol '$server_protocol';
  server {
    listen 127.0.0.1:${tls.port} ssl http2;
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    access_log ${dir}/logs/protocol.log protocol;
    location /ping { default_type application/json; return 200 '{"message":"pong"}'; }
  }
`
    : ''
}}
`,
  );
  return conf;
}

/** One request as nginx saw it arrive: when (epoch ms) and which driver sent it (its x-loadtest-driver header). */
export interface Arrival {
  at: number;
  driver: string;
}

/**
 * The requests of an arrival log (writeNginxConfig's `arrivalLog`), counted where they reached the
 * server's socket: nginx logs when it finished a request ($msec) and how long it took
 * ($request_time, from its first byte read), both to the millisecond, so the arrival is their
 * difference. Read it after nginx stopped or a second after the last request (its buffer flushes
 * once a second).
 */
export function readArrivals(file: string): Arrival[] {
  const arrivals: Arrival[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [done, took, driver] = line.split(' ');
    if (!driver) continue;
    arrivals.push({ at: Math.round((Number(done) - Number(took)) * 1000), driver: driver === '-' ? '' : driver });
  }
  return arrivals;
}

/**
 * Requests nginx has received, from its stub_status page, less the status requests themselves
 * (`statusReadsBefore` made earlier, and this one).
 */
export async function nginxRequestCount(url: string, statusReadsBefore: number): Promise<number> {
  const text = await (await fetch(`${url}${STATUS_PATH}`)).text();
  const match = /\n\s*\d+\s+\d+\s+(\d+)\s*\n/.exec(text);
  if (!match) throw new Error(`unexpected nginx status page: ${text}`);
  return Number(match[1]) - statusReadsBefore - 1;
}

/**
 * Connections nginx has accepted (on both servers), from its stub_status page, less this status
 * request's own: it is sent on a connection of its own, closed after it.
 */
export async function nginxAcceptedConnections(url: string): Promise<number> {
  const text = await (await fetch(`${url}${STATUS_PATH}`, { headers: { connection: 'close' } })).text();
  const match = /\n\s*(\d+)\s+\d+\s+\d+\s*\n/.exec(text);
  if (!match) throw new Error(`unexpected nginx status page: ${text}`);
  return Number(match[1]) - 1;
}

/** Requests the HTTPS server received, by protocol ("HTTP/1.1", "HTTP/2.0"), from its log. */
export function nginxProtocols(dir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(join(dir, 'logs', 'protocol.log'), 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n')) if (line) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}

/**
 * A certificate authority and a certificate it signed for 127.0.0.1 and localhost, made with
 * openssl in `dir`: what a private HTTPS service presents.
 */
export function makeTestCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=lt test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('san.ext')]);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}
