// The retry and token interceptors against an in-process Connect router: no server needed, and
// the failures are exactly the ones the live server sends (UNAVAILABLE + RetryInfo).
import assert from "node:assert/strict";
import { test } from "node:test";

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";

import { RetryInfoSchema } from "../src/gen/google/rpc/error_details_pb.js";
import {
  ClinicalExtractionService,
  ExtractClinicalDataResponseSchema,
} from "../src/gen/healthai/v1/extraction_service_pb.js";
import { HealthAIClient, InvalidArgumentError, UnavailableError } from "../src/index.js";

function unavailable(delayMs: number): ConnectError {
  const retryInfo = create(RetryInfoSchema, {
    retryDelay: { seconds: BigInt(Math.floor(delayMs / 1000)), nanos: (delayMs % 1000) * 1e6 },
  });
  return new ConnectError("shutting down", Code.Unavailable, undefined, [
    { desc: RetryInfoSchema, value: retryInfo },
  ]);
}

function clientFailing(failures: ConnectError[], seen: string[]): HealthAIClient {
  const routes = (router: ConnectRouter): void => {
    router.service(ClinicalExtractionService, {
      extractClinicalData(request, context) {
        seen.push(context.requestHeader.get("authorization") ?? "");
        const failure = failures.shift();
        if (failure) {
          throw failure;
        }
        return create(ExtractClinicalDataResponseSchema, { auditId: "a-1", noteId: request.noteId });
      },
    });
  };
  return new HealthAIClient({
    baseUrl: "http://unused",
    token: "t0ken",
    retry: { maxAttempts: 4, maxRetryDelayMs: 1_000 },
    transport: (interceptors) => createRouterTransport(routes, { transport: { interceptors } }),
  });
}

test("UNAVAILABLE is retried after the RetryInfo delay, with the token on every attempt", async () => {
  const seen: string[] = [];
  const client = clientFailing([unavailable(60), unavailable(60)], seen);
  const started = Date.now();
  const answer = await client.extract("HR 72", { noteId: "n-1" });
  assert.equal(answer.noteId, "n-1");
  assert.deepEqual(seen, ["Bearer t0ken", "Bearer t0ken", "Bearer t0ken"]);
  assert.ok(Date.now() - started >= 110, "waited for both RetryInfo delays");
});

test("a RetryInfo delay beyond the cap is not waited for", async () => {
  const seen: string[] = [];
  const client = clientFailing([unavailable(5_000)], seen);
  const error = await client.extract("HR 72").catch((e: unknown) => e);
  assert.ok(error instanceof UnavailableError);
  assert.equal(error.retryDelayMs, 5_000);
  assert.equal(seen.length, 1);
});

test("a retry that would sleep past the deadline gives up at once", async () => {
  const seen: string[] = [];
  const client = clientFailing([unavailable(800)], seen);
  const error = await client.extract("HR 72", { timeoutMs: 300 }).catch((e: unknown) => e);
  assert.ok(error instanceof UnavailableError);
  assert.equal(seen.length, 1);
});

test("other codes are not retried", async () => {
  const seen: string[] = [];
  const client = clientFailing([new ConnectError("bad", Code.InvalidArgument)], seen);
  await assert.rejects(client.extract("HR 72"), InvalidArgumentError);
  assert.equal(seen.length, 1);
});

test("attempts stop at maxAttempts", async () => {
  const seen: string[] = [];
  const client = clientFailing([1, 2, 3, 4, 5].map(() => unavailable(1)), seen);
  await assert.rejects(client.extract("HR 72"), UnavailableError);
  assert.equal(seen.length, 4);
});
