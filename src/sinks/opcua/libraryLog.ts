import { format } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua';
import type { Logger } from 'pino';

/**
 * node-opcua prints its warnings and errors on stdout, where the daemon writes JSON log lines; this sends
 * them through pino instead (process-wide: node-opcua has one logger). Lines from before a logger is given
 * (module load) wait for it.
 */
let target: Logger | undefined;
const early: { level: 'warn' | 'error'; msg: string }[] = [];

// Node 20 lacks RSA PKCS#1 v1.5 decryption, which only Basic128Rsa15 uses; inspectd never offers that
// policy, so node-opcua's start-up warning about it (W27) is noise here.
const irrelevant = (msg: string) => msg.includes('NODE-OPCUA-W27') || msg.includes('CVE-2023-46809');

function emit(level: 'warn' | 'error', args: unknown[]): void {
  const msg = format(...args);
  if (irrelevant(msg)) return target?.debug({ lib: 'node-opcua' }, msg);
  if (target) target[level]({ lib: 'node-opcua' }, `node-opcua: ${msg}`);
  else if (early.length < 100) early.push({ level, msg });
}

setWarningLogger((_context: unknown, ...args: unknown[]) => emit('warn', args));
setErrorLogger((_context: unknown, ...args: unknown[]) => emit('error', args));

export function routeLibraryLogs(log: Logger): void {
  target = log;
  for (const e of early.splice(0)) emit(e.level, [e.msg]);
}
