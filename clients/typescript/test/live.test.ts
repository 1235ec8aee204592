// Against the real server: tests/e2e/test_clients_e2e.py starts it on a loopback port and runs
// this file with HEALTHAI_ADDR and HEALTHAI_TOKEN set (CI counts it through pytest).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DeadlineExceededError,
  DeidentificationMode,
  HealthAIClient,
  InvalidArgumentError,
  SpanConverter,
  UnauthenticatedError,
  type TextSpan,
} from "../src/index.js";

const addr = process.env["HEALTHAI_ADDR"];
const token = process.env["HEALTHAI_TOKEN"];
if (!addr || !token) {
  throw new Error("set HEALTHAI_ADDR and HEALTHAI_TOKEN (tests/e2e/test_clients_e2e.py does)");
}
const client = new HealthAIClient({ baseUrl: `http://${addr}`, token, timeoutMs: 30_000 });

test("unary extraction returns vitals with LOINC codes, provenance and an audit id", async () => {
  const answer = await client.extract("HR 72, BP 118/76", { noteId: "ts-1" });
  assert.equal(answer.noteId, "ts-1");
  assert.match(answer.auditId, /^[0-9a-f-]{36}$/);
  assert.equal(answer.provenance?.backend, "local");
  const codes = answer.data?.vitalSigns.map((v) => v.loinc?.code).sort();
  assert.deepEqual(codes, ["8462-4", "8480-6", "8867-4"]);
});

test("bidi stream answers every note in order and survives a bad one", async () => {
  async function* notes() {
    yield { noteId: "s-0", text: "HR 72" };
    yield { noteId: "s-1", text: "   " };
    yield { noteId: "s-2", text: "History of hypertension." };
  }
  const answers = [];
  for await (const answer of client.streamExtract(notes())) {
    answers.push(answer);
  }
  assert.deepEqual(
    answers.map((a) => [a.index, a.noteId, a.outcome.case]),
    [
      [0, "s-0", "result"],
      [1, "s-1", "error"],
      [2, "s-2", "result"],
    ],
  );
  const bad = answers[1]?.outcome;
  assert.equal(bad?.case, "error");
  assert.equal(bad.value.code, 3); // INVALID_ARGUMENT
  assert.ok(bad.value.fieldViolations.some((v) => v.field === "text"));
});

test("a blank note is InvalidArgumentError with reason, field violation and audit id", async () => {
  const error = await client.extract("   ").catch((e: unknown) => e);
  assert.ok(error instanceof InvalidArgumentError, String(error));
  assert.equal(error.reason, "INVALID_ARGUMENT");
  assert.ok(error.fieldViolations.some((v) => v.field === "text"), JSON.stringify(error.fieldViolations));
  assert.match(error.auditId, /^[0-9a-f-]{36}$/);
});

test("a bad token is UnauthenticatedError", async () => {
  const stranger = new HealthAIClient({ baseUrl: `http://${addr}`, token: "not-a-jwt" });
  await assert.rejects(stranger.extract("HR 72"), UnauthenticatedError);
});

test("the deadline is sent and enforced", async () => {
  const note = "Hypertension, diabetes, HR 72. ".repeat(500);
  await assert.rejects(client.extract(note, { timeoutMs: 1 }), DeadlineExceededError);
});

test("spans count code points: converted, they fit astral and ZWJ text", async () => {
  const text = "👩‍⚕️ Pt 𝔸: 😀😀 history of hypertension; HR 72, BP 118/76. 👨‍👩‍👧 denies chest pain.";
  const answer = await client.extract(text);
  const converter = new SpanConverter(text);
  const spans: TextSpan[] = [
    ...(answer.data?.conditions ?? []).map((c) => c.span),
    ...(answer.data?.vitalSigns ?? []).map((v) => v.span),
  ].filter((span): span is TextSpan => span !== undefined);
  assert.ok(spans.length >= 4, `expected conditions and vitals, got ${spans.length} spans`);
  for (const span of spans) {
    assert.equal(converter.slice(span), span.text, `span ${span.start}-${span.end}`);
    // Without conversion every span after the astral characters would be shifted.
    assert.notEqual(text.slice(span.start, span.end), span.text);
  }
  assert.ok(spans.some((s) => s.text === "chest pain"), "the span after the family ZWJ sequence");
});

test("de-identification spans convert the same way", async () => {
  const text = "😀 Seen by Dr. Alice Smith on 03/04/2024, call 555-123-4567.";
  const answer = await client.deidentify(text, DeidentificationMode.REDACT);
  const converter = new SpanConverter(text);
  assert.ok(answer.findings.length >= 2);
  for (const finding of answer.findings) {
    assert.ok(finding.span);
    assert.equal(converter.slice(finding.span), finding.span.text);
  }
});
