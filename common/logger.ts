// One small logger for every process. Logs go to stderr so that stdout stays free for the
// progress lines and results a CLI prints; the VS Code layer plugs in its own sink.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogSink = (level: LogLevel, scope: string, message: string) => void;

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  child(scope: string): Logger;
}

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVEL_RANK;
}

export const stderrSink: LogSink = (level, scope, message) => {
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}\n`);
};

export function createLogger(scope: string, level: LogLevel = 'info', sink: LogSink = stderrSink): Logger {
  const limit = LEVEL_RANK[level];
  const emit = (at: LogLevel, message: string) => {
    if (LEVEL_RANK[at] <= limit) sink(at, scope, message);
  };
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    child: (sub) => createLogger(`${scope}/${sub}`, level, sink),
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
