import { HealthAIClient, InvalidArgumentError, SpanConverter } from "@healthai/client";

const client = new HealthAIClient({ baseUrl: `http://${process.env["HEALTHAI_ADDR"] ?? "127.0.0.1:50051"}` });
const note = "😀 Pt seen for hypertension. HR 72, BP 118/76.";
const answer = await client.extract(note, { noteId: "n-1", timeoutMs: 10_000 });
const spans = new SpanConverter(note); // the API counts code points, JavaScript UTF-16 units
for (const vital of answer.data?.vitalSigns ?? []) {
  console.log(vital.loinc?.code, vital.quantity?.value, vital.quantity?.unit, spans.slice(vital.span!));
}
try {
  await client.extract("   ");
} catch (error) {
  if (!(error instanceof InvalidArgumentError)) throw error;
  console.log(error.reason, error.fieldViolations[0]?.field, error.auditId);
}
