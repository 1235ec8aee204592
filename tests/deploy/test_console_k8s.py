"""The review console's manifests (deploy/k8s/base/console-*.yaml) in every overlay, checked
against the server's manifests and against the console's own code (its CLI, its routes, its
shutdown grace), so the two cannot drift apart. Schema validation is test_k8s.py's, for every object."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest
from healthai_server.cli import build_parser
from healthai_server.console.app import HEALTH_ROUTE, LOOPBACK_HOSTS, SHUTDOWN_GRACE_S, split_listen
from healthai_server.console.views import route_templates

from tests.deploy.tools import OVERLAYS, one, render

NAME = "healthai-console"
SESSION_SECRET = "healthai-console-session"
SHUTDOWN_MARGIN_S = 5
GRPC_PORT = 50051


@pytest.fixture(params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(str(request.param))


def _pod(objects: list[dict[str, Any]], name: str = NAME) -> dict[str, Any]:
    return dict(one(objects, "Deployment", name)["spec"]["template"])


def _container(objects: list[dict[str, Any]], name: str = NAME) -> dict[str, Any]:
    (container,) = _pod(objects, name)["spec"]["containers"]
    return dict(container)


def _args(objects: list[dict[str, Any]]) -> Any:
    """The container's arguments as the real `healthai-server` parser reads them."""
    return build_parser().parse_args(_container(objects)["args"])


def _ports(objects: list[dict[str, Any]]) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in _container(objects)["ports"]}


def _labels(objects: list[dict[str, Any]], name: str = NAME) -> dict[str, str]:
    return dict(_pod(objects, name)["metadata"]["labels"])


def test_two_replicas_rolled_without_a_gap(objects: list[dict[str, Any]]) -> None:
    spec = one(objects, "Deployment", NAME)["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["selector"]["matchLabels"].items() <= _labels(objects).items()
    pdb = one(objects, "PodDisruptionBudget", NAME)["spec"]
    assert pdb["selector"]["matchLabels"].items() <= _labels(objects).items()
    assert 1 <= pdb["maxUnavailable"] < spec["replicas"]


def test_the_arguments_are_ones_the_console_accepts(objects: list[dict[str, Any]]) -> None:
    args = _args(objects)
    assert args.command == "console"
    host, port = split_listen(args.listen)
    assert host not in LOOPBACK_HOSTS and port == _ports(objects)["http"]
    assert args.secure_cookies, "off loopback the console is behind HTTPS: its cookies must be Secure"
    metrics_host, metrics_port = split_listen(args.metrics_listen)
    assert metrics_host == "0.0.0.0" and metrics_port == _ports(objects)["metrics"]
    assert args.tls, "the server's gRPC port serves TLS"
    # The headless Service's gRPC port, so the console's round-robin channel reaches every server pod.
    headless = one(objects, "Service", "healthai-headless")
    assert args.api_addr == f"dns:///{headless['metadata']['name']}:{GRPC_PORT}"


def test_the_session_key_ring_comes_from_a_secret(objects: list[dict[str, Any]]) -> None:
    key_files = [PurePosixPath(path) for path in _args(objects).session_key_file]
    assert len(key_files) == 2, "a sealing key and an accepted one, so keys rotate without signing anyone out"
    volumes = {v["name"]: v for v in _pod(objects)["spec"]["volumes"]}
    mounts = {PurePosixPath(m["mountPath"]): m for m in _container(objects)["volumeMounts"]}
    for path in key_files:
        mount = mounts[path.parent]
        assert mount["readOnly"] is True and "subPath" not in mount
        assert volumes[mount["name"]]["secret"]["secretName"] == SESSION_SECRET
    assert not [o for o in objects if o["kind"] == "Secret"], "secrets are created out of band"
    for entry in _container(objects).get("env", []):
        assert not any(word in entry["name"] for word in ("SECRET", "PASSWORD", "TOKEN")), entry["name"]
    # The server's CA only: the console never mounts the server's private key.
    ca = volumes[mounts[PurePosixPath("/etc/healthai/tls")]["name"]]["secret"]
    assert ca["secretName"] == "healthai-tls" and ca["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    env = {e["name"]: e.get("value") for e in _container(objects)["env"]}
    assert env["HEALTHAI_CA_FILE"] == "/etc/healthai/tls/ca.crt"


def test_probes_ask_the_consoles_health_endpoint(objects: list[dict[str, Any]]) -> None:
    container = _container(objects)
    for probe in ("readinessProbe", "livenessProbe"):
        http_get = container[probe]["httpGet"]
        assert http_get["port"] == "http" and http_get["path"] in route_templates(), probe
        assert http_get["path"] == HEALTH_ROUTE  # answered without a gRPC call, and not logged


def test_security_context_is_the_servers(objects: list[dict[str, Any]]) -> None:
    server_pod, pod = _pod(objects, "healthai")["spec"], _pod(objects)["spec"]
    assert pod["securityContext"] == server_pod["securityContext"]
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert one(objects, "ServiceAccount", pod["serviceAccountName"])["automountServiceAccountToken"] is False
    assert _container(objects)["securityContext"] == _container(objects, "healthai")["securityContext"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    tmp = next(m for m in _container(objects)["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in volumes[tmp["name"]], "the root filesystem is read-only"


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _memory_mi(quantity: str) -> float:
    return float(quantity.removesuffix("Mi")) if quantity.endswith("Mi") else float(quantity.removesuffix("Gi")) * 1024


def test_resources_are_bounded(objects: list[dict[str, Any]]) -> None:
    resources = _container(objects)["resources"]
    for part in ("requests", "limits"):
        assert set(resources[part]) == {"cpu", "memory"}, part
    assert _cpu(resources["requests"]["cpu"]) <= _cpu(resources["limits"]["cpu"])
    assert _memory_mi(resources["requests"]["memory"]) <= _memory_mi(resources["limits"]["memory"])


def test_shutdown_grace_arithmetic(objects: list[dict[str, Any]]) -> None:
    """preStop while endpoints and the ingress drop the pod, then the console's own drain
    (SHUTDOWN_GRACE_S in console/app.py), then a margin; otherwise kubelet kills requests in flight."""
    command = _container(objects)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "/bin/sleep"
    grace = _pod(objects)["spec"]["terminationGracePeriodSeconds"]
    assert grace == int(command[1]) + SHUTDOWN_GRACE_S + SHUTDOWN_MARGIN_S


def test_same_image_as_the_server(objects: list[dict[str, Any]]) -> None:
    assert _container(objects)["image"] == _container(objects, "healthai")["image"]


def test_service_and_metrics(objects: list[dict[str, Any]]) -> None:
    spec = one(objects, "Service", NAME)["spec"]
    assert spec["selector"].items() <= _labels(objects).items()
    assert not spec["selector"].items() <= _labels(objects, "healthai").items(), "never the server's pods"
    assert spec.get("sessionAffinity", "None") == "None", "sessions are in the cookie: no sticky routing"
    assert {p["name"]: p["targetPort"] for p in spec["ports"]} == {"http": "http", "metrics": "metrics"}
    monitor = one(objects, "ServiceMonitor", "healthai")["spec"]
    service_labels = one(objects, "Service", NAME)["metadata"]["labels"]
    assert monitor["selector"]["matchLabels"].items() <= service_labels.items()


def test_network_policies_let_the_console_reach_the_server_and_nothing_else(objects: list[dict[str, Any]]) -> None:
    policy = one(objects, "NetworkPolicy", NAME)["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= _labels(objects).items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert {rule["ports"][0]["port"] for rule in policy["ingress"]} == set(_ports(objects).values())
    egress = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress == {(53, "UDP"), (53, "TCP"), (GRPC_PORT, "TCP")}
    grpc_rule = next(rule for rule in policy["egress"] if rule["ports"][0]["port"] == GRPC_PORT)
    (peer,) = grpc_rule["to"]
    assert peer["podSelector"]["matchLabels"].items() <= _labels(objects, "healthai").items()
    # The server's policy admits the console: its gRPC peer label is on the console's pods.
    server_policy = one(objects, "NetworkPolicy", "healthai")["spec"]
    grpc_ingress = next(rule for rule in server_policy["ingress"] if rule["ports"][0]["port"] == GRPC_PORT)
    (client,) = grpc_ingress["from"]
    assert client["podSelector"]["matchLabels"].items() <= _labels(objects).items()
