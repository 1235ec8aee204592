// One error type per status a caller acts on differently, each carrying what the server sent:
// the stable reason (ErrorInfo), field violations (BadRequest), the retry delay (RetryInfo),
// quota violations and the audit id to quote to the operators.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  QuotaFailureSchema,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";

export const AUDIT_ID_HEADER = "x-audit-id";
export const ERROR_DOMAIN = "healthai.v1";

export interface FieldViolation {
  field: string;
  description: string;
}

export interface QuotaViolation {
  subject: string;
  description: string;
}

export class HealthAIError extends Error {
  override name = "HealthAIError";
  /** gRPC status code. */
  readonly code: Code;
  /** The server's message without the "[code]" prefix Connect adds. */
  readonly rawMessage: string;
  /** Stable machine-readable reason from ErrorInfo (an ErrorReason name), or "". */
  readonly reason: string;
  /** Audit id of the failed call (ErrorInfo metadata or the x-audit-id trailer), or "". */
  readonly auditId: string;
  /** BadRequest field violations (INVALID_ARGUMENT). */
  readonly fieldViolations: FieldViolation[];
  /** RetryInfo delay in milliseconds, when the server said when to come back. */
  readonly retryDelayMs: number | undefined;
  /** QuotaFailure violations (RESOURCE_EXHAUSTED). */
  readonly quotaViolations: QuotaViolation[];

  constructor(error: ConnectError) {
    super(error.message, { cause: error });
    this.code = error.code;
    this.rawMessage = error.rawMessage;
    const info = error.findDetails(ErrorInfoSchema)[0];
    this.reason = info?.reason ?? "";
    this.auditId = info?.metadata["audit_id"] ?? error.metadata.get(AUDIT_ID_HEADER) ?? "";
    this.fieldViolations = error
      .findDetails(BadRequestSchema)
      .flatMap((bad) => bad.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
    this.retryDelayMs = retryDelayMs(error);
    this.quotaViolations = error
      .findDetails(QuotaFailureSchema)
      .flatMap((quota) => quota.violations.map((v) => ({ subject: v.subject, description: v.description })));
  }
}

export class InvalidArgumentError extends HealthAIError {
  override name = "InvalidArgumentError";
}
export class UnauthenticatedError extends HealthAIError {
  override name = "UnauthenticatedError";
}
export class PermissionDeniedError extends HealthAIError {
  override name = "PermissionDeniedError";
}
export class ResourceExhaustedError extends HealthAIError {
  override name = "ResourceExhaustedError";
}
export class UnavailableError extends HealthAIError {
  override name = "UnavailableError";
}
export class DeadlineExceededError extends HealthAIError {
  override name = "DeadlineExceededError";
}

const BY_CODE: Partial<Record<Code, new (error: ConnectError) => HealthAIError>> = {
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.Unauthenticated]: UnauthenticatedError,
  [Code.PermissionDenied]: PermissionDeniedError,
  [Code.ResourceExhausted]: ResourceExhaustedError,
  [Code.Unavailable]: UnavailableError,
  [Code.DeadlineExceeded]: DeadlineExceededError,
};

/** Any failure of a call as the most specific HealthAIError; other errors pass through. */
export function toHealthAIError(error: unknown): unknown {
  if (error instanceof HealthAIError) {
    return error;
  }
  if (!(error instanceof ConnectError)) {
    // Aborts and network failures arrive as plain errors; Connect knows their status.
    if (!(error instanceof Error)) {
      return error;
    }
    error = ConnectError.from(error);
  }
  const connectError = error as ConnectError;
  const Kind = BY_CODE[connectError.code] ?? HealthAIError;
  return new Kind(connectError);
}

/** The RetryInfo delay of an error in milliseconds, if the server sent one. */
export function retryDelayMs(error: ConnectError): number | undefined {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (delay === undefined) {
    return undefined;
  }
  return Number(delay.seconds) * 1000 + delay.nanos / 1e6;
}
