// Errors of the orchestrator core carry a domain code; only the REST adapter turns a code into an
// HTTP status, and the CLI and the editor show the message as it is.

export type OrchestratorErrorCode =
  /** the input is not a valid load test or option; `details` names each field */
  | 'invalid'
  /** no such test */
  | 'not_found'
  /** the request conflicts with the state: a test is running, too few drivers, an id used twice */
  | 'conflict'
  /** the orchestrator cannot act now: Kafka is not connected */
  | 'unavailable'
  /** the metrics store could not be read or written (a damaged file, a permission, a full disk) */
  | 'storage'
  /** what was waited for did not happen in the time given (waitForPhaseSettled) */
  | 'timeout'
  /** the test ended (or never ran) while something about its run was awaited */
  | 'not_running';

export class OrchestratorError extends Error {
  constructor(
    message: string,
    readonly code: OrchestratorErrorCode,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}
