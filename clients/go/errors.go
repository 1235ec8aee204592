package healthai

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolation is one BadRequest field violation.
type FieldViolation struct{ Field, Description string }

// Error is a failed call with everything the server sent in its status details.
type Error struct {
	Code    codes.Code
	Message string
	// Reason is the stable ErrorInfo reason (an ErrorReason name), or "".
	Reason string
	// AuditID is the audit id of the call, to quote to the operators.
	AuditID         string
	FieldViolations []FieldViolation
	// RetryDelay is the RetryInfo delay, 0 when the server sent none.
	RetryDelay time.Duration
	cause      error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Unwrap returns the gRPC status error.
func (e *Error) Unwrap() error { return e.cause }

// FromError turns a gRPC error into *Error (nil stays nil; an *Error is returned as is).
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	st := status.Convert(err)
	result := &Error{Code: st.Code(), Message: st.Message(), cause: err}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			result.Reason = d.GetReason()
			result.AuditID = d.GetMetadata()["audit_id"]
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				result.FieldViolations = append(result.FieldViolations, FieldViolation{v.GetField(), v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			delay := d.GetRetryDelay()
			result.RetryDelay = time.Duration(delay.GetSeconds())*time.Second + time.Duration(delay.GetNanos())
		}
	}
	return result
}
