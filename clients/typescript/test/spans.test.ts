import assert from "node:assert/strict";
import { test } from "node:test";

import { SpanConverter, toUtf16Span } from "../src/index.js";

test("BMP text: code points and UTF-16 units agree", () => {
  assert.deepEqual(toUtf16Span("HR 72", { start: 3, end: 5 }), { start: 3, end: 5 });
});

test("astral characters take two UTF-16 units each", () => {
  const text = "𝔸😀 HR 72";
  const converter = new SpanConverter(text);
  assert.equal(converter.codePointLength, 8);
  assert.deepEqual(converter.toUtf16({ start: 6, end: 8 }), { start: 8, end: 10 });
  assert.equal(converter.slice({ start: 6, end: 8 }), "72");
  assert.notEqual(text.slice(6, 8), "72");
});

test("a ZWJ sequence counts each of its code points", () => {
  const text = "👩‍⚕️ saw BP";
  // 👩 (2 units) + ZWJ + ⚕ + VS16: 4 code points, 5 UTF-16 units.
  assert.equal(new SpanConverter(text).slice({ start: 9, end: 11 }), "BP");
  assert.equal(new SpanConverter(text).slice({ start: 0, end: 4 }), "👩‍⚕️");
});

test("offsets past the text are an error, not a silent clamp", () => {
  assert.throws(() => toUtf16Span("abc", { start: 0, end: 4 }), RangeError);
  assert.throws(() => toUtf16Span("abc", { start: 2, end: 1 }), RangeError);
  assert.throws(() => toUtf16Span("abc", { start: -1, end: 1 }), RangeError);
});
