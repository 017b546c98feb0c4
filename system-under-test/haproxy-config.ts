// The reference system's proxy: HAProxy in front of the app instances, round robin with health
// checks, and its own Prometheus exporter on a port apart from the load.
export interface ProxyLayout {
  port: number;
  /** where HAProxy's /metrics (and /stats) listen */
  statsPort: number;
  apps: { name: string; port: number }[];
}

export function haproxyConfig(layout: ProxyLayout): string {
  return [
    'global',
    '  maxconn 4096',
    '  user haproxy',
    '  group haproxy',
    '',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 60s',
    '',
    'frontend load',
    `  bind 127.0.0.1:${layout.port}`,
    '  default_backend apps',
    '',
    'frontend monitoring',
    `  bind 127.0.0.1:${layout.statsPort}`,
    '  http-request use-service prometheus-exporter if { path /metrics }',
    '  stats enable',
    '  stats uri /stats',
    '',
    'backend apps',
    '  balance roundrobin',
    '  option httpchk GET /health',
    ...layout.apps.map((app) => `  server ${app.name} 127.0.0.1:${app.port} check inter 1s`),
    '',
  ].join('\n');
}
