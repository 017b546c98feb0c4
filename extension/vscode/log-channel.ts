// The core's logger, written to one VS Code log output channel.
import * as vscode from 'vscode';
import { createLogger, type Logger, type LogSink } from '../../common/logger';

export function createChannelLogger(channel: vscode.LogOutputChannel): Logger {
  const sink: LogSink = (level, scope, message) => {
    const text = `[${scope}] ${message}`;
    if (level === 'error') channel.error(text);
    else if (level === 'warn') channel.warn(text);
    else if (level === 'info') channel.info(text);
    else channel.debug(text);
  };
  // The channel filters by the level the user picks in the Output view; pass everything.
  return createLogger('loadtest', 'debug', sink);
}
