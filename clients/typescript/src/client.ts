// A thin typed wrapper over the generated services on Connect's gRPC transport: the bearer
// token, a default deadline per call, retries of UNAVAILABLE that honour RetryInfo, and typed
// errors. The generated clients stay reachable (`client.extraction`, ...) for anything else.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { toHealthAIError, retryDelayMs } from "./errors.js";
import { NoteAnalysisService, type AnalyzeNoteResponse } from "./gen/healthai/v1/analysis_service_pb.js";
import {
  DeidentificationService,
  type DeidentificationMode,
  type DeidentifyNoteResponse,
} from "./gen/healthai/v1/deidentification_service_pb.js";
import {
  ClinicalExtractionService,
  type ExtractClinicalDataResponse,
  type StreamExtractClinicalDataRequestSchema,
  type StreamExtractClinicalDataResponse,
} from "./gen/healthai/v1/extraction_service_pb.js";
import { UsageService } from "./gen/healthai/v1/usage_service_pb.js";

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retries). */
  maxAttempts: number;
  /** First backoff when the server sent no RetryInfo; doubles per attempt, with jitter. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A RetryInfo delay above this is not waited for: the error is thrown at once. */
  maxRetryDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  maxRetryDelayMs: 30_000,
};

export interface HealthAIClientOptions {
  /** Server address as a URL, e.g. "http://127.0.0.1:50051". */
  baseUrl: string;
  /** Bearer token, or a function returning a fresh one per call; default $HEALTHAI_TOKEN. */
  token?: string | (() => string | Promise<string>);
  /** Deadline of each call unless the call sets its own (default 30 s). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Extra interceptors, run inside the token and retry interceptors. */
  interceptors?: Interceptor[];
  /** Builds the transport from the client's interceptors instead of a gRPC transport to baseUrl (tests). */
  transport?: (interceptors: Interceptor[]) => Transport;
}

export interface CallOptions {
  /** Deadline of this call in milliseconds; retries happen within it. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Your own audit id (a UUID); the server generates one otherwise. */
  auditId?: string;
}

export interface ExtractOptions extends CallOptions {
  noteId?: string;
  includeFhir?: boolean;
}

// Absolute deadline of the call (epoch ms), so a retry never sleeps past it.
const DEADLINE = createContextKey<number | undefined>(undefined, { description: "healthai deadline" });

/** Sets `authorization: Bearer <token>` on every call. */
export function bearerTokenInterceptor(token: string | (() => string | Promise<string>)): Interceptor {
  return (next) => async (req) => {
    const value = typeof token === "function" ? await token() : token;
    req.header.set("authorization", `Bearer ${value}`);
    return next(req);
  };
}

/**
 * Retries unary calls that failed UNAVAILABLE: after the server's RetryInfo delay when it sent
 * one, else after an exponential backoff with full jitter; never past the call's deadline.
 * Streams are not retried (their requests may already be consumed).
 */
export function retryInterceptor(policy: RetryPolicy): Interceptor {
  return (next) => async (req) => {
    if (req.stream) {
      return next(req);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        const failure = ConnectError.from(error);
        if (failure.code !== Code.Unavailable || attempt >= policy.maxAttempts) {
          throw error;
        }
        const told = retryDelayMs(failure);
        if (told !== undefined && told > policy.maxRetryDelayMs) {
          throw error;
        }
        const backoff = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
        const delay = told ?? Math.random() * backoff;
        const deadline = req.contextValues.get(DEADLINE);
        if (deadline !== undefined && Date.now() + delay >= deadline) {
          throw error;
        }
        await sleep(delay, req.signal);
      }
    }
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export class HealthAIClient {
  readonly extraction: Client<typeof ClinicalExtractionService>;
  readonly analysis: Client<typeof NoteAnalysisService>;
  readonly deidentification: Client<typeof DeidentificationService>;
  readonly usage: Client<typeof UsageService>;
  private readonly timeoutMs: number;

  constructor(options: HealthAIClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const token = options.token ?? process.env["HEALTHAI_TOKEN"];
    const interceptors: Interceptor[] = [
      ...(token ? [bearerTokenInterceptor(token)] : []),
      retryInterceptor({ ...DEFAULT_RETRY, ...options.retry }),
      ...(options.interceptors ?? []),
    ];
    const transport = options.transport
      ? options.transport(interceptors)
      : createGrpcTransport({ baseUrl: options.baseUrl, interceptors });
    this.extraction = createClient(ClinicalExtractionService, transport);
    this.analysis = createClient(NoteAnalysisService, transport);
    this.deidentification = createClient(DeidentificationService, transport);
    this.usage = createClient(UsageService, transport);
  }

  /** Extracts conditions, medications, vitals, allergies and problems from one note. */
  async extract(text: string, options: ExtractOptions = {}): Promise<ExtractClinicalDataResponse> {
    return this.unary(options, (call) =>
      this.extraction.extractClinicalData(
        { text, noteId: options.noteId ?? "", options: { includeFhir: options.includeFhir ?? false } },
        call,
      ),
    );
  }

  /**
   * Extracts many notes over one bidirectional stream; each answer carries its request's index
   * and either a result or a per-note error, so one bad note does not end the stream.
   */
  async *streamExtract(
    notes: AsyncIterable<MessageInitShape<typeof StreamExtractClinicalDataRequestSchema>>,
    options: CallOptions = {},
  ): AsyncGenerator<StreamExtractClinicalDataResponse> {
    try {
      yield* this.extraction.streamExtractClinicalData(notes, this.callOptions(options));
    } catch (error) {
      throw toHealthAIError(error);
    }
  }

  /** Problem list and clinical alerts for one note. */
  async analyze(text: string, options: CallOptions & { noteId?: string } = {}): Promise<AnalyzeNoteResponse> {
    return this.unary(options, (call) => this.analysis.analyzeNote({ text, noteId: options.noteId ?? "" }, call));
  }

  /** De-identifies one note (redact, mask or surrogate). */
  async deidentify(
    text: string,
    mode: DeidentificationMode,
    options: CallOptions & { noteId?: string; patientRef?: string } = {},
  ): Promise<DeidentifyNoteResponse> {
    return this.unary(options, (call) =>
      this.deidentification.deidentifyNote(
        { text, mode, noteId: options.noteId ?? "", patientRef: options.patientRef ?? "" },
        call,
      ),
    );
  }

  private async unary<T>(options: CallOptions, run: (call: ReturnType<HealthAIClient["callOptions"]>) => Promise<T>) {
    try {
      return await run(this.callOptions(options));
    } catch (error) {
      throw toHealthAIError(error);
    }
  }

  private callOptions(options: CallOptions) {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = options.auditId ? { "x-audit-id": options.auditId } : {};
    return {
      timeoutMs,
      headers,
      contextValues: createContextValues().set(DEADLINE, Date.now() + timeoutMs),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }
}
