export {
  HealthAIClient,
  DEFAULT_RETRY,
  bearerTokenInterceptor,
  retryInterceptor,
  type CallOptions,
  type ExtractOptions,
  type HealthAIClientOptions,
  type RetryPolicy,
} from "./client.js";
export {
  AUDIT_ID_HEADER,
  DeadlineExceededError,
  HealthAIError,
  InvalidArgumentError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  toHealthAIError,
  type FieldViolation,
  type QuotaViolation,
} from "./errors.js";
export { SpanConverter, toUtf16Span, type CodePointSpan, type Utf16Span } from "./spans.js";
export * from "./gen/healthai/v1/analysis_service_pb.js";
export * from "./gen/healthai/v1/clinical_pb.js";
export * from "./gen/healthai/v1/common_pb.js";
export * from "./gen/healthai/v1/deidentification_service_pb.js";
export * from "./gen/healthai/v1/extraction_service_pb.js";
export * from "./gen/healthai/v1/usage_service_pb.js";
