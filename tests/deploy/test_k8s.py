"""The kustomize overlays, rendered by the real kustomize and checked object by object.

Every built-in object is validated with kubernetes-validate (Kubernetes 1.30 schemas,
strict: unknown fields fail). Custom resources have no schema there; they are listed in
CRD_SCHEMAS and validated against a schema in tests/deploy/schemas/ instead, and any
other kind without a schema fails the test (never a silent pass).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from healthai_server.config import Settings, load_settings
from healthai_server.tls.listen import require_transport_choice

from tests.deploy.tools import KUBERNETES_VERSION, OVERLAYS, one, render, untyped

SCHEMAS = Path(__file__).parent / "schemas"
# Kinds kubernetes-validate cannot know (CRDs), with the schema each is validated against.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SCHEMAS / "servicemonitor-v1.json",
    ("cert-manager.io/v1", "Certificate"): SCHEMAS / "certificate-v1.json",
}
TLS_SECRET = "healthai-tls"
TLS_DIR = "/etc/healthai/tls"
GRPC_PORT = 50051
METRICS_PORT = 9464
PROBE_PORT = 8081
SHUTDOWN_MARGIN_S = 5


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def objects(overlay: str) -> list[dict[str, Any]]:
    return render(overlay)


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(one(objects, "Deployment", "healthai")["spec"]["template"])


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = _pod(objects)["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The ConfigMap the container loads with envFrom (its name carries kustomize's hash)."""
    names = [e["configMapRef"]["name"] for e in _container(objects)["envFrom"]]
    assert len(names) == 1
    return dict(one(objects, "ConfigMap", names[0])["data"])


def _env(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in _container(objects).get("env", [])}


def _kubernetes_validate(obj: dict[str, Any]) -> None:
    untyped("kubernetes_validate").validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_object_validates(objects: list[dict[str, Any]]) -> None:
    kv = untyped("kubernetes_validate")
    jsonschema = untyped("jsonschema")
    checked = 0
    for obj in objects:
        crd_schema = CRD_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
        if crd_schema is None:
            try:
                _kubernetes_validate(obj)
            except kv.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")
            except kv.SchemaNotFoundError as exc:
                pytest.fail(f"{exc.message}: add a schema to CRD_SCHEMAS or fix the apiVersion")
        else:
            jsonschema.validate(obj, json.loads(crd_schema.read_text()))
        checked += 1
    assert checked == len(objects) >= 8


def test_crds_are_skipped_by_kubernetes_validate_explicitly() -> None:
    """kubernetes-validate has no ServiceMonitor schema: it raises (the CLI only warns), so
    the CRD is validated by our own schema instead, which rejects typos too."""
    kv = untyped("kubernetes_validate")
    jsonschema = untyped("jsonschema")
    monitor = one(render("prod"), "ServiceMonitor", "healthai")
    with pytest.raises(kv.SchemaNotFoundError):
        _kubernetes_validate(monitor)
    broken = copy.deepcopy(monitor)
    broken["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(CRD_SCHEMAS[("monitoring.coreos.com/v1", "ServiceMonitor")].read_text()))


def test_the_certificate_crd_is_validated_by_its_own_schema() -> None:
    kv = untyped("kubernetes_validate")
    jsonschema = untyped("jsonschema")
    certificate = one(render("prod"), "Certificate", TLS_SECRET)
    with pytest.raises(kv.SchemaNotFoundError):
        _kubernetes_validate(certificate)
    schema = json.loads(CRD_SCHEMAS[("cert-manager.io/v1", "Certificate")].read_text())
    for field, value in (("dnsName", ["healthai"]), ("duration", "90 days")):
        broken = copy.deepcopy(certificate)
        broken["spec"][field] = value
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_strict_validation_rejects_unknown_fields() -> None:
    kv = untyped("kubernetes_validate")
    deployment = copy.deepcopy(one(render("prod"), "Deployment", "healthai"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"grpc": {"port": GRPC_PORT}}
    with pytest.raises(kv.ValidationError):
        _kubernetes_validate(deployment)


def test_unknown_api_version_is_an_error() -> None:
    kv = untyped("kubernetes_validate")
    with pytest.raises(kv.SchemaNotFoundError):
        _kubernetes_validate({"apiVersion": "autoscaling/v2beta9", "kind": "HorizontalPodAutoscaler", "metadata": {}})


def test_expected_objects(overlay: str, objects: list[dict[str, Any]]) -> None:
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] != "ConfigMap")
    expected = [
        ("Deployment", "healthai"),
        ("NetworkPolicy", "healthai"),
        ("PodDisruptionBudget", "healthai"),
        ("Service", "healthai"),
        ("Service", "healthai-headless"),
        ("ServiceAccount", "healthai"),
        ("ServiceMonitor", "healthai"),
        # The review console (tests/deploy/test_console_k8s.py).
        ("Deployment", "healthai-console"),
        ("NetworkPolicy", "healthai-console"),
        ("PodDisruptionBudget", "healthai-console"),
        ("Service", "healthai-console"),
        ("ServiceAccount", "healthai-console"),
    ]
    if overlay == "prod":
        expected += [("HorizontalPodAutoscaler", "healthai"), ("Certificate", TLS_SECRET)]
    assert kinds == sorted(expected)
    namespaces = {o["metadata"].get("namespace") for o in objects}
    assert namespaces == {"healthai-dev" if overlay == "dev" else "healthai"}


def test_security_context(objects: list[dict[str, Any]]) -> None:
    pod = _pod(objects)["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert one(objects, "ServiceAccount", "healthai")["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "healthai"

    container = _container(objects)
    ctx = container["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctx.get("privileged", False) is False

    # With a read-only root, every writable path is an emptyDir.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    for path in ("/tmp", "/var/lib/healthai", "/dev/shm"):
        assert "emptyDir" in volumes[mounts[path]], path
    assert _config(objects)["HEALTHAI_STATE_DIR"] == "/var/lib/healthai"


def test_probes_use_grpc_health_on_the_probe_port(objects: list[dict[str, Any]]) -> None:
    """Probes go to the health-only port, which is never shed: a probe shed under overload
    would take a healthy pod out of rotation and push its load onto the others."""
    container = _container(objects)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": GRPC_PORT, "metrics": METRICS_PORT, "probe": PROBE_PORT}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": PROBE_PORT}, probe
    config = _config(objects)
    assert config["HEALTHAI_PROBE_PORT"] == str(PROBE_PORT)
    assert config["HEALTHAI_LISTEN_ADDR"] == f"0.0.0.0:{GRPC_PORT}"
    assert config["HEALTHAI_METRICS_PORT"] == str(METRICS_PORT)
    assert config["HEALTHAI_METRICS_HOST"] == "0.0.0.0"
    # Startup gets long enough for imports, migrations and engine warm-up.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_shutdown_grace_arithmetic(objects: list[dict[str, Any]]) -> None:
    """terminationGracePeriodSeconds counts from the start of preStop, so it must cover the
    preStop sleep, then the server's drain (HEALTHAI_SHUTDOWN_GRACE_S), then a margin for
    closing the pool and the database; otherwise kubelet SIGKILLs calls still draining."""
    pod = _pod(objects)["spec"]
    command = _container(objects)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "/bin/sleep"
    pre_stop_s = int(command[1])
    grace_s = float(_config(objects)["HEALTHAI_SHUTDOWN_GRACE_S"])
    assert pre_stop_s >= 3, "endpoint removal needs a few seconds to reach clients and proxies"
    assert pod["terminationGracePeriodSeconds"] == pre_stop_s + grace_s + SHUTDOWN_MARGIN_S


def test_prod_drain_outlasts_a_backend_call() -> None:
    config = _config(render("prod"))
    backend_timeout = float(config.get("HEALTHAI_BACKEND_TIMEOUT_S", Settings.backend_timeout_s))
    assert float(config["HEALTHAI_SHUTDOWN_GRACE_S"]) > backend_timeout


def test_config_is_accepted_by_the_server(objects: list[dict[str, Any]]) -> None:
    """The ConfigMap passes the server's own settings validation, and has no unknown keys."""
    config = _config(objects)
    fields = {f"HEALTHAI_{name.upper()}" for name in Settings.__dataclass_fields__}
    unknown = {key for key in config if key.startswith("HEALTHAI_")} - fields
    assert not unknown, f"keys the server does not read: {sorted(unknown)}"
    env = dict(config)
    if "HEALTHAI_DATABASE_URL" in _env(objects):
        env["HEALTHAI_DATABASE_URL"] = "postgresql+psycopg://user@db:5432/healthai"  # from the Secret
    settings = load_settings(env)
    assert settings.auth_enabled
    assert not settings.uses_dev_credentials
    require_transport_choice(settings)  # the server would start
    assert settings.tls_enabled and not settings.plaintext, "the gRPC port serves TLS in every overlay"
    assert settings.engine_workers >= 1, "os.cpu_count() sees the node's cores: set the workers explicitly"


def test_network_policy(objects: list[dict[str, Any]]) -> None:
    policy = one(objects, "NetworkPolicy", "healthai")["spec"]
    pod_labels = _pod(objects)["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]

    ingress = {rule["ports"][0]["port"]: rule for rule in policy["ingress"]}
    assert set(ingress) == {GRPC_PORT, METRICS_PORT}
    assert all(len(rule["ports"]) == 1 for rule in policy["ingress"])
    (grpc_peer,) = ingress[GRPC_PORT]["from"]
    assert grpc_peer["podSelector"] == {"matchLabels": {"healthai.io/client": "true"}}
    (metrics_peer,) = ingress[METRICS_PORT]["from"]
    assert metrics_peer == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}

    egress_ports = {(p["port"], p.get("protocol", "TCP")) for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (4317, "TCP"), (443, "TCP")}
    for rule in policy["egress"]:
        assert rule.get("ports"), "an egress rule without ports would allow every port"
    https = next(rule for rule in policy["egress"] if rule["ports"][0]["port"] == 443)
    assert "10.0.0.0/8" in https["to"][0]["ipBlock"]["except"]


def test_services_and_service_monitor(objects: list[dict[str, Any]]) -> None:
    pod_labels = _pod(objects)["metadata"]["labels"]
    headless = one(objects, "Service", "healthai-headless")["spec"]
    assert headless["clusterIP"] == "None"
    assert [(p["name"], p["port"]) for p in headless["ports"]] == [("grpc", GRPC_PORT)]
    cluster_ip = one(objects, "Service", "healthai")["spec"]
    assert cluster_ip["type"] == "ClusterIP"
    assert {p["name"]: p["port"] for p in cluster_ip["ports"]} == {"grpc": GRPC_PORT, "metrics": METRICS_PORT}
    for spec in (headless, cluster_ip):
        assert spec["selector"].items() <= pod_labels.items()

    monitor = one(objects, "ServiceMonitor", "healthai")["spec"]
    selector = monitor["selector"]["matchLabels"]
    scraped = [s for s in objects if s["kind"] == "Service" and selector.items() <= s["metadata"]["labels"].items()]
    # One Service per Deployment, so each pod is scraped once: the server's and the console's.
    assert sorted(s["metadata"]["name"] for s in scraped) == ["healthai", "healthai-console"]
    selected = [frozenset(s["spec"]["selector"].items()) for s in scraped]
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"].items()
        assert sum(1 for sel in selected if sel <= labels) == 1, deployment["metadata"]["name"]
    assert [e["port"] for e in monitor["endpoints"]] == ["metrics"]


def test_scaling_and_store(overlay: str, objects: list[dict[str, Any]]) -> None:
    """SQLite only with exactly one replica; more replicas only with PostgreSQL from a Secret."""
    deployment = one(objects, "Deployment", "healthai")["spec"]
    env = _env(objects)
    pdb = one(objects, "PodDisruptionBudget", "healthai")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= _pod(objects)["metadata"]["labels"].items()
    assert pdb.get("maxUnavailable", 0) >= 1, "a PDB that allows no eviction blocks node drains"
    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    if overlay == "dev":
        assert not hpas
        assert deployment["replicas"] == 1
        assert deployment["strategy"] == {"type": "Recreate"}
        assert "HEALTHAI_DATABASE_URL" not in env
        return
    (hpa,) = hpas
    assert "replicas" not in deployment, "the HPA owns the replica count"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "healthai"}
    assert hpa["spec"]["minReplicas"] >= 3
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert env["HEALTHAI_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "healthai-database", "key": "url"}


def test_secrets_are_references_not_values(objects: list[dict[str, Any]]) -> None:
    assert not [o for o in objects if o["kind"] == "Secret"]
    for name, entry in _env(objects).items():
        if any(word in name for word in ("KEY", "SECRET", "PASSWORD", "TOKEN", "DATABASE_URL")):
            assert "value" not in entry, name
            assert "secretKeyRef" in entry["valueFrom"], name
    keys = next(v for v in _pod(objects)["spec"]["volumes"] if v["name"] == "keys")
    assert keys["secret"]["secretName"] == "healthai-keys"
    config = _config(objects)
    for key in (
        "HEALTHAI_JWT_PUBLIC_KEY_FILE",
        "HEALTHAI_AUDIT_HMAC_KEY_FILE",
        "HEALTHAI_DEID_KEY_FILE",
        "HEALTHAI_AUDIT_CHAIN_KEY_FILE",
        "HEALTHAI_AUDIT_CHECKPOINT_KEY_FILE",
    ):
        assert config[key].startswith("/etc/healthai/keys/"), key


def _cpu_cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def test_resources_and_workers(objects: list[dict[str, Any]]) -> None:
    resources = _container(objects)["resources"]
    for part in ("requests", "limits"):
        assert set(resources[part]) == {"cpu", "memory"}, part
    limit = _cpu_cores(resources["limits"]["cpu"])
    assert _cpu_cores(resources["requests"]["cpu"]) <= limit
    assert int(_config(objects)["HEALTHAI_ENGINE_WORKERS"]) == limit, "one engine process per CPU of the limit"


def test_prod_is_bigger_than_dev() -> None:
    dev, prod = (_container(render(o))["resources"] for o in ("dev", "prod"))
    assert _cpu_cores(prod["limits"]["cpu"]) > _cpu_cores(dev["limits"]["cpu"])
    assert prod["requests"] == prod["limits"], "prod runs with Guaranteed QoS"


def test_image_is_pinned(objects: list[dict[str, Any]]) -> None:
    image = _container(objects)["image"]
    name, _, tag = image.rpartition(":")
    assert "@sha256:" in image or (name and tag and tag != "latest"), image


def test_tls_comes_from_a_whole_secret_volume(objects: list[dict[str, Any]]) -> None:
    """The certificate files are a Secret mounted as a directory: kubelet swaps a symlink on
    update and the server re-reads the files; a subPath mount would freeze the old ones."""
    volumes = {v["name"]: v for v in _pod(objects)["spec"]["volumes"]}
    (mount,) = [m for m in _container(objects)["volumeMounts"] if m["mountPath"] == TLS_DIR]
    assert mount["readOnly"] is True and "subPath" not in mount
    assert volumes[mount["name"]]["secret"]["secretName"] == TLS_SECRET
    config = _config(objects)
    assert config["HEALTHAI_TLS_CERT_FILE"] == f"{TLS_DIR}/tls.crt"
    assert config["HEALTHAI_TLS_KEY_FILE"] == f"{TLS_DIR}/tls.key"
    assert config.get("HEALTHAI_PLAINTEXT", "false") == "false"


def test_prod_certificate_feeds_the_mounted_secret_and_covers_the_service_names() -> None:
    objects = render("prod")
    certificate = one(objects, "Certificate", TLS_SECRET)["spec"]
    assert certificate["secretName"] == TLS_SECRET
    assert certificate["issuerRef"]["kind"] in {"Issuer", "ClusterIssuer"}
    assert "server auth" in certificate["usages"]
    assert certificate["privateKey"]["rotationPolicy"] == "Always"
    namespace = one(objects, "Deployment", "healthai")["metadata"]["namespace"]
    grpc_services = [
        o for o in objects if o["kind"] == "Service" and any(p["name"] == "grpc" for p in o["spec"]["ports"])
    ]
    assert len(grpc_services) == 2
    for service in grpc_services:  # the console's Service is plain HTTP behind the ingress
        name = service["metadata"]["name"]
        assert f"{name}.{namespace}.svc.cluster.local" in certificate["dnsNames"], name
    hours = {key: int(certificate[key].removesuffix("h")) for key in ("duration", "renewBefore")}
    assert hours["renewBefore"] / 24 > 14, "renewal must come before the compliance report's 14-day warning"
    assert hours["renewBefore"] < hours["duration"]
