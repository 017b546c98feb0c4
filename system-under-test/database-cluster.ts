// The reference system's database: a PostgreSQL writer and streaming-replication readers, in data
// folders of their own, on ports of their own (the machine's own PostgreSQL on 5432 is left alone).
// PostgreSQL refuses to run as root, so its programs run as the `postgres` user.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { isAlive, runningFromPidFile, startDetached, stopPid, tail } from '../common/background-process';

const BIN = '/usr/lib/postgresql/15/bin';

export const DATABASE = 'sut';
export const APP_USER = 'sut';

export interface DatabaseEndpoint {
  host: string;
  port: number;
}

export interface DatabaseCluster {
  writer: DatabaseEndpoint;
  readers: DatabaseEndpoint[];
  /** the password of APP_USER (also a replication role) */
  password: string;
  stop(): Promise<void>;
}

interface OsUser {
  uid: number;
  gid: number;
}

function postgresUser(): OsUser {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line || !existsSync(join(BIN, 'postgres'))) throw new Error('PostgreSQL 15 is not installed: apt-get install postgresql-15 (its service need not run)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A folder the postgres user owns (and can reach: every parent must be traversable). */
function ownedFolder(path: string, user: OsUser, mode = 0o700): string {
  mkdirSync(path, { recursive: true });
  chownSync(path, user.uid, user.gid);
  chmodSync(path, mode);
  return path;
}

function asPostgres(user: OsUser, program: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  try {
    execFileSync(join(BIN, program), args, { uid: user.uid, gid: user.gid, env: { ...process.env, ...env }, stdio: 'pipe', cwd: '/tmp' });
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`${program} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

function secret(file: string, user: OsUser): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(18).toString('base64url');
  writeFileSync(file, value + '\n', { mode: 0o600 });
  chownSync(file, user.uid, user.gid);
  return value;
}

async function accepts(endpoint: DatabaseEndpoint, password: string, user = APP_USER, database = DATABASE): Promise<boolean> {
  const client = new pg.Client({ ...endpoint, user, password, database, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function startServer(user: OsUser, dataDir: string, name: string, ready: () => Promise<boolean>): Promise<number> {
  const pidFile = join(dataDir, '..', `${name}.pid`);
  const logFile = join(dataDir, '..', `${name}.log`);
  const running = runningFromPidFile(pidFile);
  if (running !== undefined && (await ready())) return running;
  const pid = startDetached({ command: join(BIN, 'postgres'), args: ['-D', dataDir], logFile, pidFile, uid: user.uid, gid: user.gid, cwd: '/tmp' });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error(`PostgreSQL ${name} exited during start-up. Last lines of ${logFile}:\n${tail(logFile)}`);
    if (await ready()) return pid;
    await new Promise((r) => setTimeout(r, 250));
  }
  await stopPid(pid);
  throw new Error(`PostgreSQL ${name} did not accept connections within 60 s. Last lines of ${logFile}:\n${tail(logFile)}`);
}

function serverSettings(port: number, socketDir: string): string {
  return [
    '',
    '# The reference system under test (system-under-test/database-cluster.ts)',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    'max_connections = 200',
    'shared_buffers = 64MB',
    'wal_level = replica',
    'max_wal_senders = 8',
    'hot_standby = on',
    // Replication lag as time needs a feedback loop; these keep the figures current on a quiet writer.
    'wal_receiver_status_interval = 1s',
    'hot_standby_feedback = on',
    '',
  ].join('\n');
}

/** The items table the app serves, with rows to read from the start. */
async function createSchema(writer: DatabaseEndpoint, superPassword: string, password: string): Promise<void> {
  const admin = new pg.Client({ ...writer, user: 'postgres', password: superPassword, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${APP_USER} LOGIN REPLICATION PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE ${DATABASE} OWNER ${APP_USER}`);
  } finally {
    await admin.end();
  }
  const app = new pg.Client({ ...writer, user: APP_USER, password, database: DATABASE });
  await app.connect();
  try {
    await app.query('CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now())');
    await app.query("INSERT INTO items (name, payload) SELECT 'item ' || n, jsonb_build_object('n', n) FROM generate_series(1, 1000) AS n");
  } finally {
    await app.end();
  }
}

/**
 * Starts the writer and `readerPorts.length` readers (or finds them running), making them on the
 * first start: initdb, the app's role, database and table, then a base backup per reader.
 */
export async function startDatabaseCluster(stateDir: string, writerPort: number, readerPorts: number[]): Promise<DatabaseCluster> {
  const user = postgresUser();
  const root = ownedFolder(join(stateDir, 'postgres'), user, 0o755);
  const socketDir = ownedFolder(join(root, 'sockets'), user, 0o755);
  const superPassword = secret(join(root, 'superuser-password'), user);
  const password = secret(join(root, 'app-password'), user);
  const writer = { host: '127.0.0.1', port: writerPort };
  const writerDir = join(root, 'writer');
  const fresh = !existsSync(join(writerDir, 'PG_VERSION'));
  if (fresh) {
    ownedFolder(writerDir, user);
    asPostgres(user, 'initdb', ['-D', writerDir, '-U', 'postgres', `--pwfile=${join(root, 'superuser-password')}`, '-A', 'scram-sha-256', '--auth-local=peer', '-E', 'UTF8', '--no-sync']);
    appendFileSync(join(writerDir, 'postgresql.conf'), serverSettings(writerPort, socketDir));
  }
  const pids = [await startServer(user, writerDir, 'writer', () => accepts(writer, superPassword, 'postgres', 'postgres'))];
  if (fresh) await createSchema(writer, superPassword, password);

  const readers: DatabaseEndpoint[] = [];
  for (const [i, port] of readerPorts.entries()) {
    const name = `reader-${i + 1}`;
    const dir = join(root, name);
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      ownedFolder(dir, user);
      asPostgres(user, 'pg_basebackup', ['-D', dir, '-h', writer.host, '-p', String(writerPort), '-U', APP_USER, '-X', 'stream', '--checkpoint=fast', '--no-sync'], { PGPASSWORD: password });
      appendFileSync(join(dir, 'postgresql.conf'), serverSettings(port, socketDir));
      // A standby: it follows the writer, named so that pg_stat_replication says which reader lags.
      writeFileSync(join(dir, 'standby.signal'), '');
      appendFileSync(join(dir, 'postgresql.auto.conf'), `primary_conninfo = 'host=${writer.host} port=${writerPort} user=${APP_USER} password=${password} application_name=${name}'\n`);
    }
    const endpoint = { host: '127.0.0.1', port };
    pids.push(await startServer(user, dir, name, () => accepts(endpoint, password)));
    readers.push(endpoint);
  }
  return {
    writer,
    readers,
    password,
    // Readers first: a writer stopping under its standbys makes them log reconnection attempts.
    stop: async () => {
      for (const pid of pids.reverse()) await stopPid(pid, 'SIGINT');
    },
  };
}
