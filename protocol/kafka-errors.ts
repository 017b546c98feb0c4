// The two ways reaching Kafka fails, told apart because one is worth retrying and the other is not.

/** No broker answered: the same settings may work once one does. */
export class KafkaUnreachableError extends Error {
  readonly retriable = true;
}

/**
 * The brokers answered but refused us (bad credentials, a certificate we do not trust, a mechanism
 * the listener does not offer): retrying the same settings cannot help.
 */
export class KafkaAccessError extends Error {
  readonly retriable = false;
}
