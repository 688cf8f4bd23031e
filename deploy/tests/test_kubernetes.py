"""The Kubernetes manifests in deploy/kubernetes/, checked offline.

There is no cluster here. These tests validate every manifest against the
Kubernetes API schemas (kubernetes-validate, strict), then check the
invariants the ring depends on against the node's source, so a change on
either side that breaks them fails here:

- replicas >= R + 1, with R the StatefulSet's CHORD_REPLICAS (or the node's
  default);
- probe paths are routes the node really serves (read from
  node/src/server/), on the port the node listens on;
- the termination grace period outlasts the SIGTERM hand-off (read from
  node/src/main.rs);
- the PodDisruptionBudget stays below R and selects the ring's pods;
- Services, Secret and StatefulSet agree on names, labels and ports;
- every CHORD_* variable set is one the node reads (node/src/cli.rs).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "deploy" / "kubernetes"
NODE_SRC = REPO / "node" / "src"

# Kubernetes versions the manifests are validated against: the oldest one we
# claim to support, and the newest the pinned kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


# ----- reading the manifests ---------------------------------------------------------


def kustomization() -> dict:
    return yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())


def manifest_files() -> list[Path]:
    return [MANIFESTS / name for name in kustomization()["resources"]]


def objects() -> list[dict]:
    out = []
    for path in manifest_files():
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return out


def one(kind: str, pred=lambda o: True) -> dict:
    found = [o for o in objects() if o.get("kind") == kind and pred(o)]
    assert len(found) == 1, f"want exactly one {kind}, found {len(found)}"
    return found[0]


def statefulset() -> dict:
    return one("StatefulSet")


def pod_spec() -> dict:
    return statefulset()["spec"]["template"]["spec"]


def pod_labels() -> dict:
    return statefulset()["spec"]["template"]["metadata"]["labels"]


def container() -> dict:
    containers = pod_spec()["containers"]
    assert len(containers) == 1, "the pod runs one container, chord-node"
    return containers[0]


def env() -> dict[str, dict]:
    """The container's env entries by name (in order)."""
    return {e["name"]: e for e in container().get("env", [])}


def env_value(name: str) -> str | None:
    e = env().get(name)
    return None if e is None else e.get("value")


def headless_service() -> dict:
    return one("Service", lambda s: s["spec"].get("clusterIP") == "None")


def client_service() -> dict:
    return one("Service", lambda s: s["spec"].get("clusterIP") != "None")


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_port(port) -> int:
    """A probe's or Service's port (a number or a container port's name)."""
    ports = container()["ports"]
    if isinstance(port, int):
        assert any(p["containerPort"] == port for p in ports), f"no container port {port}"
        return port
    named = [p["containerPort"] for p in ports if p.get("name") == port]
    assert named, f"no container port named {port!r}"
    return named[0]


def host_port(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    assert host and port.isdigit(), f"{addr!r} is not host:port"
    return host, int(port)


# ----- reading the node's source -----------------------------------------------------


def cli_rs() -> str:
    return (NODE_SRC / "cli.rs").read_text()


def node_env_vars() -> set[str]:
    names = set(re.findall(r'env\s*=\s*"(CHORD_[A-Z0-9_]+)"', cli_rs()))
    assert "CHORD_LISTEN" in names, "could not read the env names from cli.rs"
    return names


def node_default(var: str) -> str:
    """The default of the flag read from `var`, as written in cli.rs."""
    m = re.search(
        rf'env\s*=\s*"{var}"\s*,\s*default_value(?:_t)?\s*=\s*("([^"]*)"|[0-9_]+)',
        cli_rs(),
    )
    assert m, f"no default for {var} in cli.rs"
    return m.group(2) if m.group(2) is not None else m.group(1).replace("_", "")


def replicas_r() -> int:
    """R: the StatefulSet's CHORD_REPLICAS, else the node's default."""
    v = env_value("CHORD_REPLICAS")
    return int(v if v is not None else node_default("CHORD_REPLICAS"))


def listen_port() -> int:
    v = env_value("CHORD_LISTEN")
    return host_port(v if v is not None else node_default("CHORD_LISTEN"))[1]


def dispatched_public_paths() -> set[str]:
    """The fixed paths `dispatch` in server/mod.rs hands to `public::info`."""
    src = (NODE_SRC / "server" / "mod.rs").read_text()
    arms = re.findall(r"((?:\"/[^\"]*\"\s*\|?\s*)+)=>\s*public::info", src)
    assert arms, "could not find the public::info routes in server/mod.rs"
    return {p for arm in arms for p in re.findall(r'"(/[^"]*)"', arm)}


def info_fn() -> str:
    """The body of `fn info_of` in server/public.rs: health, readiness and
    status, for a node's one position (`info`) and for all its positions
    (`host_info`) alike."""
    src = (NODE_SRC / "server" / "public.rs").read_text()
    m = re.search(r"\bfn info_of\b.*?\n}\n", src, re.S)
    assert m, "could not find `fn info_of` in server/public.rs"
    return m.group(0)


def unconditional_info_paths() -> set[str]:
    """Paths `info` answers with an arm of their own, whatever the ring state."""
    return set(re.findall(r'"(/[^"]*)"\s*=>', info_fn()))


def main_rs() -> str:
    return (NODE_SRC / "main.rs").read_text()


def handoff_secs() -> int:
    """The bound on the SIGTERM hand-off, `timeout(Duration::from_secs(N), host.leave())`."""
    src = main_rs()
    m = re.search(r"timeout\(\s*Duration::from_secs\((\d+)\)\s*,\s*host\.leave\(\)", src)
    assert m, "could not find the hand-off timeout in node/src/main.rs"
    secs = int(m.group(1))
    # The warning names the same limit; if they disagree, the source is confusing.
    w = re.search(r"hand-off did not finish in (\d+) s", src)
    assert w and int(w.group(1)) == secs, "main.rs: hand-off timeout and its warning disagree"
    return secs


def server_stop_secs() -> int:
    """After the hand-off, the server gets `timeout(Duration::from_secs(N), server)`."""
    m = re.search(r"timeout\(\s*Duration::from_secs\((\d+)\)\s*,\s*server\s*\)", main_rs())
    assert m, "could not find the server stop timeout in node/src/main.rs"
    return int(m.group(1))


# ----- schemas -----------------------------------------------------------------------


def test_kustomization_lists_every_manifest():
    listed = sorted(kustomization()["resources"])
    present = sorted(
        p.name for p in MANIFESTS.glob("*.y*ml") if p.name != "kustomization.yaml"
    )
    assert listed == present, "kustomization.yaml must list exactly the manifests here"
    for o in objects():
        assert "namespace" not in o["metadata"], (
            f"{o['kind']}/{o['metadata']['name']}: keep the manifests namespace-agnostic"
        )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version):
    files = manifest_files()
    r = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # An unknown kind is only a warning (exit 0): require a pass for every object.
    assert "WARN" not in out and "ERROR" not in out, out
    for f in files:
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
        passed = out.count(f"{f} passed for resource")
        assert passed == len(docs), f"{f.name}: {passed} of {len(docs)} objects passed\n{out}"


# ----- invariants --------------------------------------------------------------------


def test_replicas_are_at_least_r_plus_one():
    r = replicas_r()
    replicas = statefulset()["spec"]["replicas"]
    assert replicas >= r + 1, f"replicas {replicas} < R + 1 = {r + 1}"


def test_probes_use_real_routes_with_the_right_semantics():
    c = container()
    ready = c["readinessProbe"]["httpGet"]["path"]
    alive = c["livenessProbe"]["httpGet"]["path"]
    routes = dispatched_public_paths()
    assert ready in routes, f"readiness path {ready} is not served (routes: {sorted(routes)})"
    assert alive in routes, f"liveness path {alive} is not served (routes: {sorted(routes)})"
    fixed = unconditional_info_paths()
    # Liveness must not depend on the ring: a node waiting to join would be killed.
    assert alive in fixed, f"liveness path {alive} does not answer regardless of ring state"
    # Readiness must reach the "joined?" check (the arm guarded by is_ready).
    assert "is_ready()" in info_fn()
    assert ready not in fixed, f"readiness path {ready} answers without the is_ready check"


def test_probes_and_services_use_the_listen_port():
    c = container()
    port = listen_port()
    assert [p["containerPort"] for p in c["ports"]] == [port], (
        f"the container port must be CHORD_LISTEN's port {port}"
    )
    for probe in ("readinessProbe", "livenessProbe"):
        assert container_port(c[probe]["httpGet"]["port"]) == port, probe
    for svc in (headless_service(), client_service()):
        for p in svc["spec"]["ports"]:
            target = p.get("targetPort", p["port"])
            assert container_port(target) == port, svc["metadata"]["name"]


def test_grace_period_outlasts_the_handoff():
    grace = pod_spec()["terminationGracePeriodSeconds"]
    handoff = handoff_secs()
    assert grace > handoff, f"grace {grace} s <= hand-off limit {handoff} s"
    stop = server_stop_secs()
    assert grace > handoff + stop, (
        f"grace {grace} s <= hand-off {handoff} s + server stop {stop} s"
    )


def test_pdb_stays_below_r_and_selects_the_pods():
    pdb = one("PodDisruptionBudget")
    spec = pdb["spec"]
    assert "minAvailable" not in spec, "use maxUnavailable (it follows scaling)"
    mu = spec["maxUnavailable"]
    assert isinstance(mu, int) and 1 <= mu < replicas_r(), f"maxUnavailable {mu} not in [1, R)"
    assert selects(spec["selector"]["matchLabels"], pod_labels())


def test_statefulset_selects_its_own_pods():
    sts = statefulset()
    assert selects(sts["spec"]["selector"]["matchLabels"], pod_labels())


def test_headless_service_gives_the_pods_stable_names():
    svc = headless_service()
    assert svc["spec"]["clusterIP"] == "None"
    assert statefulset()["spec"]["serviceName"] == svc["metadata"]["name"]
    assert selects(svc["spec"]["selector"], pod_labels())
    # Peers must resolve joining and leaving (unready) pods.
    assert svc["spec"].get("publishNotReadyAddresses") is True


def test_client_service_reaches_ready_pods():
    svc = client_service()
    assert selects(svc["spec"]["selector"], pod_labels())
    assert not svc["spec"].get("publishNotReadyAddresses"), "clients only to joined pods"


def test_cluster_key_comes_from_the_secret():
    ref = env()["CHORD_CLUSTER_KEY"]["valueFrom"]["secretKeyRef"]
    secret = one("Secret", lambda s: s["metadata"]["name"] == ref["name"])
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    assert ref["key"] in keys, f"Secret {ref['name']} has no key {ref['key']!r}"
    assert not ref.get("optional"), "a node without the key would accept anyone"


def test_env_vars_are_ones_the_node_reads():
    known = node_env_vars()
    defined: set[str] = set()
    for e in container()["env"]:
        name = e["name"]
        if name.startswith("CHORD_"):
            assert name in known, f"{name} is not a chord-node variable (cli.rs)"
        else:
            # Helpers only: downward API values used in $(...) below.
            assert "fieldRef" in e.get("valueFrom", {}), f"{name}: unexpected variable"
        # $(VAR) expands only variables defined earlier in the list.
        for ref in re.findall(r"\$\((\w+)\)", e.get("value", "")):
            assert ref in defined, f"{name} uses $({ref}) before it is defined"
        defined.add(name)
    assert "CHORD_HEALTHCHECK_ADDR" in known  # the reader sees the subcommand's too


def test_advertise_and_join_use_the_stable_names():
    sts = statefulset()
    svc = sts["spec"]["serviceName"]
    e = env()
    assert e["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert e["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    adv_host, adv_port = host_port(env_value("CHORD_ADVERTISE"))
    assert adv_host.startswith(f"$(POD_NAME).{svc}.$(POD_NAMESPACE).svc"), adv_host
    assert adv_port == listen_port()
    # --join is a list of seeds; only the one listed first may found a ring
    # (node/src/ring/state.rs, RingState::seeding): it must be pod 0, which
    # OrderedReady starts first and alone. Every seed is a pod that exists
    # whenever the StatefulSet has its minimum of R + 1 pods.
    name = sts["metadata"]["name"]
    seeds = [s.strip() for s in env_value("CHORD_JOIN").split(",")]
    advertised = lambda i: env_value("CHORD_ADVERTISE").replace("$(POD_NAME)", f"{name}-{i}")
    assert seeds[0] == advertised(0), "the first seed must be pod 0's advertised address"
    assert len(seeds) >= 2, "one seed alone cannot be rejoined through when it restarts"
    for i, seed in enumerate(seeds):
        assert seed == advertised(i), f"seed {i} must be pod {i}'s advertised address: {seed}"
    assert len(seeds) <= replicas_r() + 1, "every seed must be one of the minimum R + 1 pods"


def test_image_is_used_without_a_registry():
    c = container()
    image = c["image"]
    if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]:
        # ":latest" defaults to Always, which fails for an image loaded by hand.
        assert c.get("imagePullPolicy") in ("IfNotPresent", "Never"), image
