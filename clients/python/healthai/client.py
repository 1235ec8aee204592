"""A typed, synchronous client for the HealthAI service.

Retries UNAVAILABLE through gRPC's own retry policy (service config), with a deadline
on every call and the bearer token attached as metadata. The channel uses TLS when asked
(`tls=True`, a CA bundle, a client certificate, or the HEALTHAI_TLS* environment), else it is
plaintext, which the server accepts only when configured to (a loopback dev server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import grpc

from healthai import _health
from healthai.batch import BatchClient
from healthai.errors import HealthAIError, from_rpc_error
from healthai.tls import TlsOptions
from healthai.v1 import (
    analysis_service_pb2,
    analysis_service_pb2_grpc,
    clinical_pb2,
    deidentification_service_pb2,
    deidentification_service_pb2_grpc,
    extraction_service_pb2,
    extraction_service_pb2_grpc,
    review_service_pb2,
    review_service_pb2_grpc,
    usage_service_pb2,
    usage_service_pb2_grpc,
)

DEFAULT_ADDR = "127.0.0.1:50051"
_R = TypeVar("_R")
_SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [
                {"service": "healthai.v1.ClinicalExtractionService"},
                {"service": "healthai.v1.NoteAnalysisService"},
                {"service": "healthai.v1.DeidentificationService"},
            ],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
    "loadBalancingConfig": [{"round_robin": {}}],
}


def find_token(explicit: str | None = None) -> str | None:
    """Token from the argument, HEALTHAI_TOKEN, or the dev token file `make run` writes."""
    if explicit:
        return explicit
    if os.environ.get("HEALTHAI_TOKEN"):
        return os.environ["HEALTHAI_TOKEN"]
    state_dir = Path(os.environ.get("HEALTHAI_STATE_DIR", ".healthai"))
    for candidate in (state_dir / "dev" / "token", Path(__file__).resolve().parents[3] / ".healthai/dev/token"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8").strip()
    return None


class HealthAIClient:
    def __init__(
        self,
        addr: str | None = None,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        channel_options: Sequence[tuple[str, object]] = (),
        channel: grpc.Channel | None = None,
        tls: bool | None = None,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        server_name: str | None = None,
    ) -> None:
        """tls/ca_file/cert_file/key_file/server_name default to HEALTHAI_TLS, HEALTHAI_CA_FILE,
        HEALTHAI_CERT_FILE, HEALTHAI_KEY_FILE and HEALTHAI_TLS_SERVER_NAME."""
        self.addr = addr or os.environ.get("HEALTHAI_ADDR", DEFAULT_ADDR)
        self.tls = TlsOptions.resolve(
            tls=tls, ca_file=ca_file, cert_file=cert_file, key_file=key_file, server_name=server_name
        )
        self._token = find_token(token)
        self._timeout = timeout_s
        options = [
            ("grpc.service_config", json.dumps(_SERVICE_CONFIG)),
            ("grpc.enable_retries", 1),
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.max_send_message_length", 8 * 1024 * 1024),
            ("grpc.keepalive_time_ms", 60_000),
            *self.tls.channel_options(),
            *channel_options,
        ]
        if channel is None:
            channel = (
                grpc.secure_channel(self.addr, self.tls.credentials(), options=options)
                if self.tls.enabled
                else grpc.insecure_channel(self.addr, options=options)
            )
        self._channel = channel
        self._extraction = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(self._channel)
        self._analysis = analysis_service_pb2_grpc.NoteAnalysisServiceStub(self._channel)
        self._deid = deidentification_service_pb2_grpc.DeidentificationServiceStub(self._channel)
        self._usage = usage_service_pb2_grpc.UsageServiceStub(self._channel)
        self._review = review_service_pb2_grpc.ReviewServiceStub(self._channel)
        self._health_check = _health.check_callable(self._channel)

    def _metadata(self, audit_id: str | None) -> tuple[tuple[str, str | bytes], ...]:
        metadata: list[tuple[str, str | bytes]] = []
        if self._token:
            metadata.append(("authorization", f"Bearer {self._token}"))
        if audit_id:
            metadata.append(("x-audit-id", audit_id))
        return tuple(metadata)

    def health(self, service: str = "") -> str:
        try:
            response = self._health_check(_health.HealthCheckRequest(service=service), timeout=self._timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return _health.status_name(response)

    def extract(
        self,
        text: str,
        *,
        note_id: str = "",
        include_fhir: bool = False,
        entity_types: Iterable[int] = (),
        patient_reference: str = "",
        encounter_reference: str = "",
        note_date: str = "",
        fhir_include_refuted: bool = False,
        request_review: bool = False,
        audit_id: str | None = None,
        timeout_s: float | None = None,
    ) -> extraction_service_pb2.ExtractClinicalDataResponse:
        """Extract one note. For the FHIR bundle, `patient_reference` (`Patient/<id>`),
        `encounter_reference` (`Encounter/<id>`) and `note_date` (FHIR date or dateTime)
        say whose note it is and when; all optional."""
        request = extraction_service_pb2.ExtractClinicalDataRequest(
            note_id=note_id,
            text=text,
            options=extraction_service_pb2.ExtractionOptions(
                include_fhir=include_fhir,
                entity_types=[clinical_pb2.EntityType.ValueType(t) for t in entity_types],
                fhir_include_refuted=fhir_include_refuted,
                request_review=request_review,
            ),
            context=extraction_service_pb2.NoteContext(
                patient_reference=patient_reference, encounter_reference=encounter_reference, note_date=note_date
            ),
        )
        try:
            response: extraction_service_pb2.ExtractClinicalDataResponse = self._extraction.ExtractClinicalData(
                request, timeout=timeout_s or self._timeout, metadata=self._metadata(audit_id)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return response

    def extract_many(
        self, notes: Iterable[tuple[str, str]], *, include_fhir: bool = False, timeout_s: float | None = None
    ) -> Iterator[extraction_service_pb2.StreamExtractClinicalDataResponse]:
        """Stream (note_id, text) pairs; yields one response per note, in order."""
        requests = (
            extraction_service_pb2.StreamExtractClinicalDataRequest(
                note_id=note_id, text=text, options=extraction_service_pb2.ExtractionOptions(include_fhir=include_fhir)
            )
            for note_id, text in notes
        )
        try:
            yield from self._extraction.StreamExtractClinicalData(
                requests, timeout=timeout_s or self._timeout * 10, metadata=self._metadata(None)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def analyze(
        self, text: str, *, note_id: str = "", include_summary: bool = False, timeout_s: float | None = None
    ) -> analysis_service_pb2.AnalyzeNoteResponse:
        request = analysis_service_pb2.AnalyzeNoteRequest(note_id=note_id, text=text, include_summary=include_summary)
        try:
            response: analysis_service_pb2.AnalyzeNoteResponse = self._analysis.AnalyzeNote(
                request, timeout=timeout_s or self._timeout, metadata=self._metadata(None)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return response

    def deidentify(
        self,
        text: str,
        *,
        mode: str = "redact",
        note_id: str = "",
        patient_ref: str = "",
        policy: str | None = None,
        timeout_s: float | None = None,
    ) -> deidentification_service_pb2.DeidentifyNoteResponse:
        """policy: "recall-first" or "precision"; None leaves it to the server (precision)."""
        mode_value = deidentification_service_pb2.DeidentificationMode.Value(f"DEIDENTIFICATION_MODE_{mode.upper()}")
        policy_value = (
            deidentification_service_pb2.DeidentificationPolicy.Value(
                "DEIDENTIFICATION_POLICY_" + policy.upper().replace("-", "_")
            )
            if policy
            else deidentification_service_pb2.DEIDENTIFICATION_POLICY_UNSPECIFIED
        )
        request = deidentification_service_pb2.DeidentifyNoteRequest(
            note_id=note_id, text=text, mode=mode_value, patient_ref=patient_ref, policy=policy_value
        )
        try:
            response: deidentification_service_pb2.DeidentifyNoteResponse = self._deid.DeidentifyNote(
                request, timeout=timeout_s or self._timeout, metadata=self._metadata(None)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return response

    def usage(
        self,
        start: datetime,
        end: datetime,
        *,
        group_by: str = "model",
        tenant: str = "",
        page_size: int = 100,
        page_token: str = "",
        timeout_s: float | None = None,
    ) -> usage_service_pb2.GetUsageResponse:
        """LLM usage and cost; group_by is model, prompt_version or day."""
        request = usage_service_pb2.GetUsageRequest(
            tenant=tenant,
            group_by=usage_service_pb2.UsageGrouping.Value(f"USAGE_GROUPING_{group_by.upper()}"),
            page_size=page_size,
            page_token=page_token,
        )
        request.start_time.FromDatetime(start)
        request.end_time.FromDatetime(end)
        try:
            response: usage_service_pb2.GetUsageResponse = self._usage.GetUsage(
                request, timeout=timeout_s or self._timeout, metadata=self._metadata(None)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return response

    # -- review queue (reviewer or admin role) -------------------------------------------------

    def list_review_tasks(
        self,
        *,
        state: int = 0,
        item_type: int = 0,
        reason: int = 0,
        min_age_s: float = 0.0,
        page_size: int = 50,
        page_token: str = "",
    ) -> review_service_pb2.ListReviewTasksResponse:
        request = review_service_pb2.ListReviewTasksRequest(
            state=review_service_pb2.ReviewTaskState.ValueType(state),
            item_type=clinical_pb2.EntityType.ValueType(item_type),
            reason=review_service_pb2.ReviewReason.ValueType(reason),
            page_size=page_size,
            page_token=page_token,
        )
        request.min_age.FromMilliseconds(int(min_age_s * 1000))
        return self._call(self._review.ListReviewTasks, request)

    def get_review_task(self, name: str) -> review_service_pb2.GetReviewTaskResponse:
        request = review_service_pb2.GetReviewTaskRequest(name=name)
        return self._call(self._review.GetReviewTask, request)

    def claim_review_task(
        self, name: str = "", *, etag: str = "", item_type: int = 0, reason: int = 0
    ) -> review_service_pb2.ClaimReviewTaskResponse:
        """Claim `name`, or with no name the oldest waiting task (optionally of a type or reason)."""
        request = review_service_pb2.ClaimReviewTaskRequest(
            name=name,
            etag=etag,
            item_type=clinical_pb2.EntityType.ValueType(item_type),
            reason=review_service_pb2.ReviewReason.ValueType(reason),
        )
        return self._call(self._review.ClaimReviewTask, request)

    def submit_review_decision(
        self, name: str, etag: str, decisions: Sequence[review_service_pb2.ItemDecision]
    ) -> review_service_pb2.SubmitReviewDecisionResponse:
        request = review_service_pb2.SubmitReviewDecisionRequest(name=name, etag=etag, decisions=decisions)
        return self._call(self._review.SubmitReviewDecision, request)

    def _call(self, method: Callable[..., _R], request: object) -> _R:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata(None))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def batch(self) -> BatchClient:
        """Batch jobs (long-running operations) on this client's channel and token."""
        return BatchClient(self._channel, lambda: self._metadata(None), self._timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> HealthAIClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


ENTITY_TYPES = {
    name.removeprefix("ENTITY_TYPE_").lower(): value for name, value in clinical_pb2.EntityType.items() if value
}

__all__ = ["ENTITY_TYPES", "HealthAIClient", "HealthAIError", "find_token"]
