package healthai

import (
	"fmt"
	"unicode/utf8"
)

// ByteOffsets converts a span in Unicode code points (what the API sends, end exclusive) to
// byte offsets into the UTF-8 string, so text[start:end] is the span's text. It returns an
// error when the span does not fit the text.
func ByteOffsets(text string, start, end int32) (int, int, error) {
	if start < 0 || end < start {
		return 0, 0, fmt.Errorf("bad span %d-%d", start, end)
	}
	byteStart, byteEnd := -1, -1
	codePoint := int32(0)
	for offset := range text {
		if codePoint == start {
			byteStart = offset
		}
		if codePoint == end {
			byteEnd = offset
			break
		}
		codePoint++
	}
	if total := int32(utf8.RuneCountInString(text)); byteEnd < 0 && end == total {
		byteEnd = len(text)
		if start == total {
			byteStart = len(text)
		}
	}
	if byteStart < 0 || byteEnd < 0 {
		return 0, 0, fmt.Errorf("span %d-%d is outside a text of %d code points", start, end, utf8.RuneCountInString(text))
	}
	return byteStart, byteEnd, nil
}
