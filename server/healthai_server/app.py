"""Start-up, wiring and shutdown: the one place that builds the object graph."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from healthai.v1 import (
    analysis_service_pb2,
    analysis_service_pb2_grpc,
    batch_service_pb2,
    batch_service_pb2_grpc,
    deidentification_service_pb2,
    deidentification_service_pb2_grpc,
    extraction_service_pb2,
    extraction_service_pb2_grpc,
    review_service_pb2,
    review_service_pb2_grpc,
    usage_service_pb2,
    usage_service_pb2_grpc,
)
from opentelemetry import trace
from prometheus_client import CollectorRegistry
from sqlalchemy import exc as sa_exc

from healthai_server import __version__
from healthai_server.auth.dev import ensure_dev_credentials
from healthai_server.auth.peer import parse_peer_principals
from healthai_server.auth.rbac import RbacPolicy
from healthai_server.auth.tokens import TokenVerifier
from healthai_server.backends.assembly import Backends, assemble_backends, cache_encryptor
from healthai_server.backends.base import ExtractionBackend
from healthai_server.backends.local import LocalBackend
from healthai_server.batch.jobs import BatchJobs, JobLimits
from healthai_server.batch.runner import BatchRunner, RunnerSettings
from healthai_server.config import Settings
from healthai_server.domain.clinical import EntityType
from healthai_server.domain.errors import StorageUnavailable
from healthai_server.domain.review import ReviewThresholds
from healthai_server.experiments.arms import ExperimentConfig
from healthai_server.experiments.assignment import ArmAssigner
from healthai_server.experiments.store import ExperimentStore
from healthai_server.housekeeping import Housekeeping, PurgeJob
from healthai_server.interceptors.access_log import AccessLogInterceptor
from healthai_server.interceptors.audit_id import AuditIdInterceptor
from healthai_server.interceptors.audit_trail import AuditTrailInterceptor
from healthai_server.interceptors.auth import AuthInterceptor, DevNoAuthInterceptor
from healthai_server.interceptors.auth_failure_tally import AuthFailureTally
from healthai_server.interceptors.chain import ChainInterceptor, Interceptor
from healthai_server.interceptors.draining import DrainingInterceptor
from healthai_server.interceptors.errors import ErrorMappingInterceptor
from healthai_server.interceptors.load_shed import AdmissionGate, TenantLoadShedInterceptor, per_tenant_limit
from healthai_server.interceptors.metrics import MetricsInterceptor
from healthai_server.interceptors.receive import MessageReceiver
from healthai_server.interceptors.tracing import TracingInterceptor
from healthai_server.interceptors.validation import ValidationInterceptor
from healthai_server.observability.health_monitor import DependencyCheck, HealthMonitor
from healthai_server.observability.metrics import Metrics, start_metrics_server
from healthai_server.pipeline.experiments import ArmSelection
from healthai_server.pipeline.extraction import ExtractionPipeline
from healthai_server.pipeline.guard import PhiGuardStage
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.pipeline.review import ThresholdRouter
from healthai_server.pipeline.shadow import ShadowRunner
from healthai_server.pipeline.validation import ValidationStage
from healthai_server.review.monitor import ReviewBacklogMonitor, decisions_recorder
from healthai_server.review.queue import ReviewQueue
from healthai_server.services import convert
from healthai_server.services.analysis import NoteAnalysisServicer
from healthai_server.services.batch import BatchServicer, OperationsServicer
from healthai_server.services.batch_extract import BatchExtractor, failure_of
from healthai_server.services.deidentification import DeidentificationServicer
from healthai_server.services.extraction import ClinicalExtractionServicer
from healthai_server.services.review import ReviewServicer
from healthai_server.services.usage import UsageServicer
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditRepository, read_chain_heads
from healthai_server.storage.audit_checkpoints import AuditCheckpointer, CheckpointStore
from healthai_server.storage.audit_keys import ChainKeyring, load_signing_key
from healthai_server.storage.batch import BatchStore, RetryPolicy, WriteReport
from healthai_server.storage.db import Database
from healthai_server.storage.review_tasks import ReviewTaskStore
from healthai_server.storage.usage import UsageLedger
from healthai_server.tls.listen import bind_main_port, load_transport
from healthai_server.validation import OutputValidator
from healthai_server.validation_rules import RequestValidator
from healthai_server.workers import CpuWorkers

log = logging.getLogger("healthai.app")


def review_thresholds(raw: dict[str, Any]) -> ReviewThresholds:
    """Settings' {"default": 0.5, "medication": 0.8} (validated in config) as thresholds."""
    by_type = {EntityType(key): float(value) for key, value in raw.items() if key != "default"}
    return ReviewThresholds(by_type, float(raw.get("default", 0.0)))


SERVICE_NAMES = (
    extraction_service_pb2.DESCRIPTOR.services_by_name["ClinicalExtractionService"].full_name,
    analysis_service_pb2.DESCRIPTOR.services_by_name["NoteAnalysisService"].full_name,
    deidentification_service_pb2.DESCRIPTOR.services_by_name["DeidentificationService"].full_name,
    usage_service_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name,
    review_service_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,
    batch_service_pb2.DESCRIPTOR.services_by_name["BatchService"].full_name,
    operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name,
)


@dataclass
class Application:
    settings: Settings
    server: aio.Server
    port: int
    db: Database
    workers: CpuWorkers
    health: health.aio.HealthServicer
    audit: AuditRepository
    metrics: Metrics
    closers: list[Any] = field(default_factory=list)
    probe_server: aio.Server | None = None
    monitor: HealthMonitor | None = None
    draining: DrainingInterceptor | None = None
    housekeeping: Housekeeping | None = None
    checkpointer: AuditCheckpointer | None = None
    batch: BatchRunner | None = None

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop accepting calls, let in-flight calls finish within the grace period, release."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        if self.monitor is not None:
            await self.monitor.stop()
        if self.housekeeping is not None:
            await self.housekeeping.stop()
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        started = time.monotonic()
        if self.draining is not None:
            # New calls get UNAVAILABLE (retryable) while running ones finish; only then does
            # gRPC stop, which would answer a late arrival CANCELLED.
            await self.draining.drain(grace)
        await self.server.stop(max(grace - (time.monotonic() - started), 0.0))
        if self.probe_server is not None:
            await self.probe_server.stop(0)
        if self.batch is not None:
            # Notes in flight are not written; their leases expire and another replica (or the
            # next start) claims them again.
            await self.batch.stop()
        if self.checkpointer is not None:
            # Every admitted call has been answered and audited: sign the final heads.
            await self.checkpointer.stop()
        for close in self.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        self.workers.close()
        self.db.close()


def in_flight_limit(settings: Settings, engine_processes: int, *, llm: bool) -> int:
    """Calls admitted at once. The local engine is CPU bound: a few calls per worker keep every
    worker busy, and each one more only waits. An LLM call mostly waits on the network."""
    if settings.max_concurrent_rpcs:
        return settings.max_concurrent_rpcs
    return 1024 if llm else 8 * max(engine_processes, 1)


def _server_options(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("grpc.http2.max_concurrent_streams", settings.max_streams_per_connection),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_metadata_size", settings.max_metadata_bytes),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        # Recycle connections so round_robin clients discover pods added by the autoscaler.
        ("grpc.max_connection_age_ms", 300_000),
        ("grpc.max_connection_age_grace_ms", 30_000),
        # A second server on the same port must fail loudly, not share it silently.
        ("grpc.so_reuseport", 0),
    ]


@dataclass(frozen=True)
class _Keys:
    jwt_public: bytes
    note_hmac: bytes
    deid: bytes
    audit_chain: ChainKeyring
    checkpoint_signer: Ed25519PrivateKey


def _read_keys(settings: Settings) -> _Keys:
    if settings.uses_dev_credentials:
        ensure_dev_credentials(settings)
    try:
        chain = ChainKeyring.from_files(
            settings.effective_audit_chain_key_file, [Path(p) for p in sorted(settings.audit_chain_retired_key_files)]
        )
        signer = load_signing_key(settings.effective_audit_checkpoint_key_file)
    except ValueError as exc:
        raise StartupError(f"audit keys: {exc}") from exc
    return _Keys(
        settings.effective_jwt_public_key_file.read_bytes(),
        settings.effective_audit_hmac_key_file.read_bytes(),
        settings.effective_deid_key_file.read_bytes(),
        chain,
        signer,
    )


async def build_application(
    settings: Settings,
    *,
    workers: CpuWorkers | None = None,
    metrics: Metrics | None = None,
    backend: ExtractionBackend | None = None,
    tracer: trace.Tracer | None = None,
) -> Application:
    """Build and start the server. Tests pass their own workers, metrics, backend or tracer."""
    from healthai_server.engine import ENGINE_VERSION
    from healthai_server.fhir import build_bundle

    certificates = load_transport(settings)  # before anything starts: a refusal costs nothing
    keys = await asyncio.to_thread(_read_keys, settings)
    public_key, audit_key, deid_key = keys.jwt_public, keys.note_hmac, keys.deid
    db = Database(settings.effective_database_url)
    try:
        await asyncio.to_thread(migrate.upgrade, db.engine)
    except sa_exc.OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the {db.dialect} database to apply migrations") from exc
    checkpointer = AuditCheckpointer(
        functools.partial(db.run, read_chain_heads, "audit_read_heads"),
        CheckpointStore(settings.effective_audit_checkpoint_dir),
        keys.checkpoint_signer,
        keys.audit_chain.current.key_id,
        every_events=settings.audit_checkpoint_every_events,
        interval_s=settings.audit_checkpoint_interval_s,
    )
    audit = AuditRepository(
        db,
        keys.audit_chain,
        lock_timeout_ms=settings.audit_lock_timeout_ms,
        on_committed=checkpointer.events_committed,
    )
    # Sign the heads as found before serving: rows from before keyed hashes (or from a
    # previous run) are pinned from here on, and a rewrite while the server was down shows
    # up as a head going back between the last checkpoint and this one.
    if await checkpointer.checkpoint() is None:
        raise StartupError(f"cannot write an audit checkpoint to {settings.effective_audit_checkpoint_dir}")
    checkpointer.start()
    metrics = metrics or Metrics(
        CollectorRegistry(), tenants=settings.metrics_tenants, models={settings.anthropic_model}
    )
    if workers is None:
        workers = CpuWorkers(
            settings.engine_workers,
            deid_key,
            include_organizations=settings.phi_organizations,
            recognizers_config=settings.phi_recognizers_config,
            max_pending=settings.engine_queue_limit,
            max_queue_wait_s=settings.engine_max_queue_wait_ms / 1000,
            on_shed=metrics.record_shed,
        )
    await workers.warm_up()

    hasher = NoteHasher(audit_key)
    validator = RequestValidator(settings.max_note_chars)
    validator.warm_up(extraction_service_pb2.ExtractClinicalDataRequest(text="warm up"))
    local = LocalBackend(workers, ENGINE_VERSION)
    backends = await assemble_backends(
        settings,
        local=local,
        engine_version=ENGINE_VERSION,
        db=db,
        hasher=hasher,
        metrics=metrics,
        env=os.environ,
        workers=workers,
    )
    backend = backend or backends.extraction
    ledger = UsageLedger(db)
    guard_stage = PhiGuardStage(backends.egress_guard)
    validation_stage = ValidationStage(OutputValidator(backends.rules))
    arms, shadow = await _experiments(
        settings, backends, db=db, hasher=hasher, guard=guard_stage, validation=validation_stage, metrics=metrics
    )
    review_store = ReviewTaskStore(db, cache_encryptor(settings.effective_cache_key_file))
    review_queue = ReviewQueue(review_store, settings.review_lease_s, on_decided=decisions_recorder(metrics))
    router = (
        ThresholdRouter(
            review_store,
            review_thresholds(settings.review_thresholds),
            convert.clinical_data_wire,
            on_routed=lambda _tenant, reasons: metrics.record_review_routed(r.value for r in reasons),
        )
        if settings.review_routing
        else None
    )
    pipeline = ExtractionPipeline(
        backend,
        build_bundle,
        ledger,
        guard=guard_stage,
        validation=validation_stage,
        review=router,
        arms=arms,
        shadow=shadow,
    )
    retention_s = settings.review_retention_days * 86_400
    purge_jobs = [*backends.purge_jobs, PurgeJob("review_tasks", lambda: review_store.purge_expired(retention_s))]

    max_in_flight = in_flight_limit(settings, workers.processes, llm=backends.resilient is not None)
    auth: Interceptor = (
        AuthInterceptor(
            TokenVerifier(public_key, settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_s),
            RbacPolicy.from_file(),
            parse_peer_principals(settings.tls_peer_principals),
        )
        if settings.auth_enabled
        else DevNoAuthInterceptor()
    )
    draining = DrainingInterceptor()
    unauthenticated = AuthFailureTally(
        audit, settings.unauthenticated_audit_window_s, on_write_failure=metrics.record_audit_write_failure
    )
    chain: list[Interceptor] = [
        AuditIdInterceptor(),
        TracingInterceptor(tracer),
        MetricsInterceptor(metrics),
        AccessLogInterceptor(),
        ErrorMappingInterceptor(),
        draining,
        AuditTrailInterceptor(
            audit, on_write_failure=metrics.record_audit_write_failure, unauthenticated=unauthenticated
        ),
        auth,
        # Everything above runs when a call's headers arrive; the message is read here, so the
        # limits below count only authenticated calls whose message has arrived.
        MessageReceiver(settings.request_message_timeout_s, settings.stream_idle_timeout_s),
        TenantLoadShedInterceptor(
            per_tenant_limit(settings.max_concurrent_rpcs_per_tenant, max_in_flight), metrics.record_shed
        ),
        AdmissionGate(max_in_flight, metrics.record_shed),
        ValidationInterceptor(validator),
    ]
    server = aio.server(
        interceptors=[ChainInterceptor(chain, message_in_chain=True)],
        options=_server_options(settings),
        # Only a memory bound (see Settings.max_open_calls): admission is the chain's.
        maximum_concurrent_rpcs=settings.max_open_calls,
    )
    extraction_service_pb2_grpc.add_ClinicalExtractionServiceServicer_to_server(
        ClinicalExtractionServicer(pipeline, hasher, validator, audit, settings.backend_timeout_s), server
    )
    analysis_service_pb2_grpc.add_NoteAnalysisServiceServicer_to_server(
        NoteAnalysisServicer(workers, hasher, ENGINE_VERSION, settings.backend_timeout_s, backends.summarizer),
        server,
    )
    deidentification_service_pb2_grpc.add_DeidentificationServiceServicer_to_server(
        DeidentificationServicer(workers, hasher, __version__, settings.backend_timeout_s), server
    )

    usage_service_pb2_grpc.add_UsageServiceServicer_to_server(UsageServicer(ledger), server)
    review_service_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(review_queue), server)
    batch_runner, batch_jobs, batch_purge = _build_batch(
        settings,
        db=db,
        backend=backend,
        hasher=hasher,
        validator=validator,
        audit=audit,
        metrics=metrics,
        engine_processes=workers.processes,
        guard=guard_stage,
        validation=validation_stage,
    )
    batch_service_pb2_grpc.add_BatchServiceServicer_to_server(BatchServicer(batch_jobs, validator), server)
    operations_pb2_grpc.add_OperationsServicer_to_server(OperationsServicer(batch_jobs), server)

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(server, (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name))
    binding = bind_main_port(server, settings, certificates)
    port = binding.port
    await server.start()
    monitor = HealthMonitor(
        health_servicer,
        SERVICE_NAMES,
        [DependencyCheck("engine_workers", workers.probe), DependencyCheck("database", db.ping)],
        interval_s=settings.health_check_interval_s,
    )
    if await monitor.check_once():
        log.warning("starting NOT_SERVING", extra={"failing": ",".join(monitor.failing)})
    monitor.start()
    housekeeping = Housekeeping(
        [*purge_jobs, batch_purge],
        settings.purge_interval_s,
        on_purged=metrics.record_purge,
        on_failure=metrics.record_purge_failure,
    )
    housekeeping.start()
    unauthenticated.start()
    backlog = ReviewBacklogMonitor(review_store, metrics, settings.review_backlog_interval_s)
    backlog.start()
    # Shadow calls in flight finish (or are cancelled) before the backends they use close.
    closers: list[Any] = [
        *([shadow.drain] if shadow else []),
        backlog.close,
        unauthenticated.close,
        backend.close,
        *backends.closers,
    ]
    batch_runner.start()
    probe_server: aio.Server | None = None
    if settings.probe_port:
        probe_server = aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, probe_server)
        # Plaintext on purpose: kubelet's gRPC probe cannot speak TLS. It serves grpc.health.v1
        # only (no notes, no tokens), so nothing sensitive crosses it.
        probe_server.add_insecure_port(f"{settings.listen_addr.rpartition(':')[0]}:{settings.probe_port}")
        await probe_server.start()
    if settings.metrics_port:
        metrics_server = start_metrics_server(metrics, settings.metrics_port, settings.metrics_host)
        closers.append(metrics_server.close)
    app = Application(
        settings,
        server,
        port,
        db,
        workers,
        health_servicer,
        audit,
        metrics,
        closers=closers,
        probe_server=probe_server,
        monitor=monitor,
        draining=draining,
        housekeeping=housekeeping,
        checkpointer=checkpointer,
        batch=batch_runner,
    )
    if binding.transport == "plaintext":
        log.warning(
            "serving without TLS: HEALTHAI_PLAINTEXT=true",
            extra={"listen": settings.listen_addr, "loopback_only": settings.listens_on_loopback_only},
        )
    log.info(
        "serving",
        extra={
            "listen": settings.listen_addr,
            "transport": binding.transport,
            "port": port,
            "workers": workers.processes,
            "database": db.dialect,
            "version": __version__,
        },
    )
    return app


async def _experiments(
    settings: Settings,
    backends: Backends,
    *,
    db: Database,
    hasher: NoteHasher,
    guard: PhiGuardStage,
    validation: ValidationStage,
    metrics: Metrics,
) -> tuple[ArmSelection | None, ShadowRunner | None]:
    """The experiment arms and the shadow runner, when configured (settings were validated)."""
    config = ExperimentConfig.from_mapping(settings.experiments)
    arms: ArmSelection | None = None
    if config.arms:
        path = settings.effective_experiment_key_file
        try:
            key = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise StartupError(f"HEALTHAI_EXPERIMENT_KEY_FILE: cannot read {path}: {exc.strerror}") from exc
        try:
            arms = ArmSelection(ArmAssigner(key, config.arms), backends.arms, hasher.fingerprint)
        except ValueError as exc:
            raise StartupError(f"HEALTHAI_EXPERIMENT_KEY_FILE: {exc}") from exc
    shadow: ShadowRunner | None = None
    if config.shadow is not None and backends.shadow is not None:
        shadow = ShadowRunner(
            config.shadow,
            backends.shadow,
            ExperimentStore(db),
            guard=guard,
            validation=validation,
            timeout_s=settings.shadow_timeout_s,
            on_outcome=metrics.record_shadow,
        )
        await shadow.start()
    return arms, shadow


def _count_batch_notes(metrics: Metrics, report: WriteReport) -> None:
    for outcome in ("succeeded", "retried", "dead_lettered", "lost_lease"):
        metrics.record_batch_notes(outcome, getattr(report, outcome))


def _build_batch(
    settings: Settings,
    *,
    db: Database,
    backend: ExtractionBackend,
    hasher: NoteHasher,
    validator: RequestValidator,
    audit: AuditRepository,
    metrics: Metrics,
    engine_processes: int,
    guard: PhiGuardStage,
    validation: ValidationStage,
) -> tuple[BatchRunner, BatchJobs, PurgeJob]:
    """The batch queue on this server's store: jobs for the servicers, a consumer, a purge."""
    from healthai_server.fhir import build_bundle

    store = BatchStore(
        db,
        # The result cache's AES-GCM key; batch rows bind their own associated data.
        cache_encryptor(settings.effective_cache_key_file),
        RetryPolicy(settings.batch_max_attempts, settings.batch_retry_base_delay_s, settings.batch_retry_max_delay_s),
    )
    # No ledger on this pipeline: the store writes each note's usage row with its result. The
    # same PHI guard and validation as the unary path; no review routing, because a retried note
    # would queue its task twice (batch answers are reviewed from the exported results).
    pipeline = ExtractionPipeline(backend, build_bundle, guard=guard, validation=validation)
    extractor = BatchExtractor(pipeline, hasher, validator, settings.backend_timeout_s)
    runner = BatchRunner(
        store,
        extractor,
        failure_of,
        audit,
        RunnerSettings(
            consumers=settings.batch_consumers,
            claim_size=settings.batch_claim_size,
            # Two calls per engine worker: one running, one queued, so a worker never waits for
            # the serving process between groups; more would be shed by the engine's admission
            # (their wait would pass HEALTHAI_ENGINE_MAX_QUEUE_WAIT_MS).
            concurrency=settings.batch_concurrency or 2 * max(engine_processes, 1),
            notes_per_call=settings.batch_notes_per_call,
            lease_s=settings.batch_lease_s,
            poll_interval_s=settings.batch_poll_interval_s,
        ),
        on_written=functools.partial(_count_batch_notes, metrics),
        on_stats=metrics.set_batch_queue,
    )
    limits = JobLimits(
        max_notes=settings.batch_max_notes,
        retention=timedelta(seconds=settings.batch_retention_s),
        idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_s),
    )
    return runner, BatchJobs(store, limits, runner.wake), PurgeJob("batch", store.purge)


class StartupError(Exception):
    """The server could not start (port taken, key file unreadable, database unreachable)."""


REFLECTION_V1_SERVICE = "grpc.reflection.v1.ServerReflection"


def enable_reflection(server: aio.Server, service_names: tuple[str, ...]) -> None:
    """Serve reflection as v1alpha and as v1, so tools that speak only one of them both work.

    grpcio-reflection implements only v1alpha (grpc/grpc#38576). v1 has the same messages
    on the wire, so the same servicer also answers under the v1 service name (for
    `buf curl --reflect-protocol grpc-v1` and other v1-only tools). The list it returns names
    v1alpha only: the v1 descriptor is not in our pool, and a listed service that cannot be
    described would break `grpcurl describe`.
    """
    names = (*service_names, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    servicer = reflection.aio.ReflectionServicer(names)
    handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(REFLECTION_V1_SERVICE, handlers),))


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight calls within the grace period."""
    try:
        app = await build_application(settings)
    except (OSError, RuntimeError, StorageUnavailable) as exc:
        # Nothing has been served yet, so the message carries configuration, never PHI.
        raise StartupError(f"{type(exc).__name__}: {exc}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("draining", extra={"grace_s": settings.shutdown_grace_s})
    await app.stop()
    log.info("stopped")
