import type { Writable } from 'node:stream';
import winston from 'winston';
import { currentContext } from './request-context';

export type Logger = winston.Logger;

const LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof LEVELS)[number];
export const LOG_LEVELS: readonly LogLevel[] = LEVELS;

const withRequestContext = winston.format((info) => {
  const context = currentContext();
  if (context) {
    info.requestId ??= context.requestId;
    if (context.tenantId) info.tenantId ??= context.tenantId;
    if (context.userId) info.userId ??= context.userId;
  }
  return info;
});

/** `logger.error(msg, { err })` → the error's name, message and stack as fields. */
const serializeErrors = winston.format((info) => {
  const err = info.err;
  if (err instanceof Error) {
    info.err = { name: err.name, message: err.message, stack: err.stack, ...(err as object) };
  }
  return info;
});

/**
 * JSON lines on stdout: time, level, service, message, and requestId/tenantId
 * of the current request when there is one.
 */
export function createLogger(
  service: string,
  options: { level?: LogLevel; silent?: boolean /** Write here instead of stdout (tests). */; stream?: Writable } = {},
): Logger {
  return winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    defaultMeta: { service },
    format: winston.format.combine(winston.format.timestamp(), withRequestContext(), serializeErrors(), winston.format.json()),
    transports: [options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console()],
  });
}
