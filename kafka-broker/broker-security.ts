// A local broker as clusters are run in production: one SASL_SSL listener, TLS with a certificate
// signed by a certificate authority of its own (made with keytool, which comes with the Java the
// broker needs), and a client user that can sign in with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
// Everything lives in the broker's state folder: tls/ca.pem is what clients trust, client-password
// is the user's password (both readable by the owner only where they are secrets).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { KafkaSecurity } from '../protocol/kafka-bus';
import { BrokerStartCancelled, runTool } from './run-tool';

export type BrokerSecurityMode = 'plaintext' | 'sasl_ssl';
export const BROKER_SECURITY_MODES: readonly BrokerSecurityMode[] = ['plaintext', 'sasl_ssl'];

/** The user clients sign in as. */
export const CLIENT_USER = 'loadtest';
/** The user the broker signs in as on its own listener (inter-broker traffic). */
const BROKER_USER = 'broker';

export interface BrokerCredentials {
  /** PEM certificate of the authority that signed the broker's certificate. */
  caFile: string;
  username: string;
  /** file holding the client user's password */
  passwordFile: string;
  /** SASL settings a client of this broker uses (SCRAM-SHA-512, the strongest offered). */
  clientSecurity: KafkaSecurity;
}

interface SecurityFiles {
  tlsDir: string;
  storePasswordFile: string;
  clientPasswordFile: string;
  brokerPasswordFile: string;
  hostsFile: string;
  caStore: string;
  caPem: string;
  keyStore: string;
  trustStore: string;
}

function filesOf(stateDir: string): SecurityFiles {
  const tlsDir = join(stateDir, 'tls');
  return {
    tlsDir,
    storePasswordFile: join(tlsDir, 'store-password'),
    clientPasswordFile: join(stateDir, 'client-password'),
    brokerPasswordFile: join(tlsDir, 'broker-password'),
    hostsFile: join(tlsDir, 'hosts'),
    caStore: join(tlsDir, 'ca.p12'),
    caPem: join(tlsDir, 'ca.pem'),
    keyStore: join(tlsDir, 'broker.p12'),
    trustStore: join(tlsDir, 'truststore.p12'),
  };
}

/** A secret that survives in a file of its own, readable by its owner only; made on first use. */
function secretIn(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  // base64url: nothing a JAAS string or a properties file would have to escape.
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

async function keytool(args: string[], signal: AbortSignal | undefined): Promise<void> {
  let result;
  try {
    result = await runTool('keytool', args, signal);
  } catch (error) {
    if (error instanceof BrokerStartCancelled) throw error;
    throw new Error(`cannot run keytool (it comes with Java 17): ${(error as Error).message}`);
  }
  if (result.code !== 0) throw new Error(`keytool ${args[0]} failed:\n${result.output}`);
}

/** The names clients may use for the broker, as subject alternative names of its certificate. */
function subjectAltNames(hosts: string[]): string {
  const names = new Set(['ip:127.0.0.1', 'dns:localhost']);
  for (const host of hosts) if (host && host !== '0.0.0.0' && host !== '::') names.add(isIP(host) ? `ip:${host}` : `dns:${host}`);
  return [...names].join(',');
}

/**
 * Makes the certificate authority once, and the broker's keystore whenever the names it must carry
 * change. keytool alone does it: no openssl configuration to write.
 */
async function ensureCertificates(files: SecurityFiles, hosts: string[], signal: AbortSignal | undefined): Promise<void> {
  mkdirSync(files.tlsDir, { recursive: true, mode: 0o700 });
  const storePassword = secretIn(files.storePasswordFile);
  const store = (path: string) => ['-keystore', path, '-storetype', 'PKCS12', '-storepass', storePassword];
  if (!existsSync(files.caStore) || !existsSync(files.caPem)) {
    rmSync(files.caStore, { force: true });
    rmSync(files.hostsFile, { force: true });
    await keytool(['-genkeypair', '-alias', 'ca', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '825', '-dname', 'CN=Load test local Kafka CA', '-ext', 'bc:c', ...store(files.caStore)], signal);
    await keytool(['-exportcert', '-alias', 'ca', '-rfc', '-file', files.caPem, ...store(files.caStore)], signal);
    rmSync(files.trustStore, { force: true });
    await keytool(['-importcert', '-noprompt', '-alias', 'ca', '-file', files.caPem, ...store(files.trustStore)], signal);
  }
  const san = subjectAltNames(hosts);
  if (existsSync(files.keyStore) && existsSync(files.hostsFile) && readFileSync(files.hostsFile, 'utf8') === san) return;
  rmSync(files.keyStore, { force: true });
  const csr = join(files.tlsDir, 'broker.csr');
  const signed = join(files.tlsDir, 'broker.pem');
  await keytool(['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '825', '-dname', 'CN=localhost', ...store(files.keyStore)], signal);
  await keytool(['-certreq', '-alias', 'broker', '-file', csr, ...store(files.keyStore)], signal);
  await keytool(
    ['-gencert', '-alias', 'ca', '-infile', csr, '-outfile', signed, '-rfc', '-validity', '825', '-ext', `SAN=${san}`, '-ext', 'KeyUsage:critical=digitalSignature,keyEncipherment', '-ext', 'ExtendedKeyUsage=serverAuth,clientAuth', ...store(files.caStore)],
    signal,
  );
  // The chain: the authority first, then the signed certificate as the reply to the request.
  await keytool(['-importcert', '-noprompt', '-alias', 'ca', '-file', files.caPem, ...store(files.keyStore)], signal);
  await keytool(['-importcert', '-noprompt', '-alias', 'broker', '-file', signed, ...store(files.keyStore)], signal);
  rmSync(csr, { force: true });
  writeFileSync(files.hostsFile, san);
}

export interface SecuredListener {
  /** server.properties lines for the SASL_SSL listener (they replace the PLAINTEXT ones). */
  properties: string[];
  /** `kafka-storage format` arguments that create the SCRAM users with the storage. */
  formatArgs: string[];
  credentials: BrokerCredentials;
}

/** Prepares certificates and users, and says how the broker must be configured to use them. */
export async function secureListener(stateDir: string, listen: { host: string; advertisedHost: string; port: number }, signal?: AbortSignal): Promise<SecuredListener> {
  const files = filesOf(stateDir);
  await ensureCertificates(files, [listen.advertisedHost, listen.host], signal);
  const storePassword = secretIn(files.storePasswordFile);
  const clientPassword = secretIn(files.clientPasswordFile);
  const brokerPassword = secretIn(files.brokerPasswordFile);
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const plainUsers = `user_${BROKER_USER}="${brokerPassword}" user_${CLIENT_USER}="${clientPassword}"`;
  const properties = [
    `listeners=SASL_SSL://${host(listen.host)}:${listen.port},CONTROLLER://127.0.0.1:CONTROLLER_PORT`,
    `advertised.listeners=SASL_SSL://${host(listen.advertisedHost)}:${listen.port}`,
    'inter.broker.listener.name=SASL_SSL',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol=PLAIN',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${BROKER_USER}" password="${brokerPassword}" ${plainUsers};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${files.keyStore}`,
    `ssl.keystore.password=${storePassword}`,
    `ssl.key.password=${storePassword}`,
    'ssl.truststore.type=PKCS12',
    `ssl.truststore.location=${files.trustStore}`,
    `ssl.truststore.password=${storePassword}`,
  ];
  // SCRAM credentials live in the cluster's metadata; with KRaft they are written when storage is formatted.
  const formatArgs = ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${CLIENT_USER},password=${clientPassword}]`]);
  return {
    properties,
    formatArgs,
    credentials: {
      caFile: files.caPem,
      username: CLIENT_USER,
      passwordFile: files.clientPasswordFile,
      clientSecurity: { tls: { caFile: files.caPem }, sasl: { mechanism: 'scram-sha-512', username: CLIENT_USER, password: clientPassword } },
    },
  };
}
