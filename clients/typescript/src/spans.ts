// The API counts text positions in Unicode code points (end exclusive); JavaScript strings
// index UTF-16 code units. Characters outside the Basic Multilingual Plane (emoji, 𝔸) take two
// units, so spans after them are off by one per such character unless converted here.
// ZWJ sequences (👩‍⚕️) are several code points and need no special case.

/** A span as the API sends it: code-point offsets, end exclusive. */
export interface CodePointSpan {
  start: number;
  end: number;
}

/** The same span in UTF-16 code units, ready for `String.prototype.slice`. */
export interface Utf16Span {
  start: number;
  end: number;
}

/**
 * Converts many spans of one text: build once per note, then `toUtf16` each span.
 * Offsets past the end of the text throw a RangeError instead of silently clamping.
 */
export class SpanConverter {
  // utf16[i] = UTF-16 offset of code point i; one extra entry for the end of the text.
  private readonly utf16: Uint32Array;

  constructor(readonly text: string) {
    const offsets: number[] = [];
    for (let unit = 0; unit < text.length; ) {
      offsets.push(unit);
      const codePoint = text.codePointAt(unit) ?? 0;
      unit += codePoint > 0xffff ? 2 : 1;
    }
    offsets.push(text.length);
    this.utf16 = Uint32Array.from(offsets);
  }

  /** Number of code points in the text (what the server's length limit counts). */
  get codePointLength(): number {
    return this.utf16.length - 1;
  }

  /** UTF-16 offset of a code-point offset (0 ... codePointLength). */
  offset(codePoint: number): number {
    const value = Number.isInteger(codePoint) && codePoint >= 0 ? this.utf16[codePoint] : undefined;
    if (value === undefined) {
      throw new RangeError(`code-point offset ${codePoint} is outside a text of ${this.codePointLength} code points`);
    }
    return value;
  }

  toUtf16(span: CodePointSpan): Utf16Span {
    if (span.end < span.start) {
      throw new RangeError(`span end ${span.end} is before its start ${span.start}`);
    }
    return { start: this.offset(span.start), end: this.offset(span.end) };
  }

  /** The text a span covers. */
  slice(span: CodePointSpan): string {
    const { start, end } = this.toUtf16(span);
    return this.text.slice(start, end);
  }
}

/** Converts one span; for many spans of one text, build a SpanConverter once. */
export function toUtf16Span(text: string, span: CodePointSpan): Utf16Span {
  return new SpanConverter(text).toUtf16(span);
}
