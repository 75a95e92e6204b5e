// Where the client library reports what it cannot throw to a caller (watch failures, dropped
// events, handler exceptions). Components route it into their own logger with setClientLogger.

export type ClientLogger = (level: 'info' | 'warning' | 'error', message: string) => void;

let logger: ClientLogger = (level, message) => {
  if (level !== 'info') process.stderr.write(`skiff-client ${level}: ${message}\n`);
};

export function setClientLogger(fn: ClientLogger): void {
  logger = fn;
}

export function clientLog(level: 'info' | 'warning' | 'error', message: string): void {
  logger(level, message);
}
