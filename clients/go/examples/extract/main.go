package main

import (
	"context"
	"fmt"
	"log"
	"os"

	healthai "healthai.internal/go"
)

func main() {
	client, err := healthai.Dial(os.Getenv("HEALTHAI_ADDR"), healthai.Options{}) // token from $HEALTHAI_TOKEN
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	note := "😀 Pt seen for hypertension. HR 72, BP 118/76."
	answer, err := client.Extract(context.Background(), note, "n-1", false)
	if err != nil {
		log.Fatal(err)
	}
	for _, vital := range answer.GetData().GetVitalSigns() {
		start, end, _ := healthai.ByteOffsets(note, vital.GetSpan().GetStart(), vital.GetSpan().GetEnd())
		fmt.Println(vital.GetLoinc().GetCode(), vital.GetQuantity().GetValue(), vital.GetQuantity().GetUnit(), note[start:end])
	}
	_, err = client.Extract(context.Background(), "   ", "", false)
	if failure := healthai.FromError(err); failure != nil {
		fmt.Println(failure.Code, failure.Reason, failure.FieldViolations[0].Field, failure.AuditID)
	}
}
