"""Checks packaging/kubernetes/*.yaml against the Kubernetes API's own models
(the `kubernetes` Python client's, generated from the API's OpenAPI spec):
every object deserialises into its model with its required fields present,
and every key is a field of that model (a typo is not silently dropped, as
the API server's non-strict decoding would). Then the installer's policy:
host PID namespace, every node, system-node-critical, rolling updates,
resource requests, a narrow security context and only the host paths needed;
the RuntimeClass's handler is the runtime install declares, and a pod that
names it has an annotation the installer passes on (pod-annotations).

Usage: python check_manifests.py FILE...   (prints one line per check)
"""

import re
import sys

import yaml
from kubernetes import client

MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("batch/v1", "Job"): "V1Job",
    ("node.k8s.io/v1", "RuntimeClass"): "V1RuntimeClass",
    ("v1", "Pod"): "V1Pod",
}
# The runtime install declares in containerd (--runtime-name's default).
HANDLER = "oci-add-hooks"


# Host path -> where the installer sees it (below --host-root /host).
HOST_PATHS = {
    "/usr/local/bin": "/host/usr/local/bin",
    "/etc/oci-add-hooks": "/host/etc/oci-add-hooks",
    "/etc/docker": "/host/etc/docker",
    "/etc/containerd": "/host/etc/containerd",
    "/run/containerd": "/host/run/containerd",
    "/var/run": "/host/var/run",
    "/etc/crio": "/host/etc/crio",
    "/usr/share/containers/oci/hooks.d": "/host/usr/share/containers/oci/hooks.d",
    "/etc/containers/oci/hooks.d": "/host/etc/containers/oci/hooks.d",
    # The host's containerd binary, its loader and libraries, for the check.
    "/usr": "/host/usr",
    "/lib": "/host/lib",
    "/lib64": "/host/lib64",
}
READ_ONLY = {"/var/run", "/run/containerd", "/usr", "/lib", "/lib64", "/etc/crio"}
CAPABILITIES = {"CHOWN", "SYS_CHROOT"}
# Read by install alone: uninstall goes by its record.
INSTALL_ONLY = {"/etc/crio"}

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failures.append(what)
        print(f"FAILED: {what}")


def strict(data, type_name, where, errors):
    """Every key of `data` is a field of model `type_name`, recursively."""
    if data is None:
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        for i, item in enumerate(data):
            strict(item, m.group(1), f"{where}[{i}]", errors)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        for k, v in data.items():
            strict(v, m.group(1), f"{where}.{k}", errors)
        return
    model = getattr(client.models, type_name, None)
    if model is None:
        return  # str, int, bool, object, datetime
    if not isinstance(data, dict):
        errors.append(f"{where}: must be an object ({type_name})")
        return
    by_json = {json_key: attr for attr, json_key in model.attribute_map.items()}
    for key, value in data.items():
        if key not in by_json:
            errors.append(f"{where}.{key}: not a field of {type_name}")
            continue
        strict(value, model.openapi_types[by_json[key]], f"{where}.{key}", errors)


def deserialise(doc, type_name):
    # The client's own deserialiser (what it applies to API responses); its
    # models raise ValueError for a missing required field.
    return client.ApiClient()._ApiClient__deserialize(doc, type_name)


def check_daemonset(ds, name):
    spec = ds.spec
    pod = spec.template.spec
    check(spec.selector.match_labels.items() <= (spec.template.metadata.labels or {}).items(),
          f"{name}: the selector matches the pod template's labels")
    check(spec.update_strategy.type == "RollingUpdate", f"{name}: rolling updates")
    check(pod.host_pid is True, f"{name}: hostPID (dockerd and containerd are signalled by their host pids)")
    check(pod.priority_class_name == "system-node-critical", f"{name}: system-node-critical")
    check(any(t.operator == "Exists" and not t.key and not t.effect for t in pod.tolerations or []),
          f"{name}: tolerates every taint, so it runs on every node")
    check(pod.automount_service_account_token is False, f"{name}: no API token (it never calls the API)")
    check(not pod.host_network and not pod.host_ipc, f"{name}: no host network or IPC")
    volumes = {v.name: v for v in pod.volumes or []}
    check(len(pod.containers) == 1 and not pod.init_containers, f"{name}: one container")
    for c in pod.containers:
        req = (c.resources.requests or {}) if c.resources else {}
        check("cpu" in req and "memory" in req, f"{name}/{c.name}: cpu and memory requests")
        sc = c.security_context
        check(sc is not None and sc.privileged is not True, f"{name}/{c.name}: not privileged")
        check(sc.allow_privilege_escalation is False, f"{name}/{c.name}: no privilege escalation")
        check(sc.read_only_root_filesystem is True, f"{name}/{c.name}: read-only root filesystem")
        check(sc.capabilities.drop == ["ALL"] and set(sc.capabilities.add or []) <= CAPABILITIES,
              f"{name}/{c.name}: every capability dropped but {sorted(CAPABILITIES)}")
        check(sc.seccomp_profile is not None and sc.seccomp_profile.type == "RuntimeDefault",
              f"{name}/{c.name}: the runtime's default seccomp profile")
        argv = (c.command or ["/oci-add-hooks", "install", "--host-root", "/host", "--wait"]) + (c.args or [])
        check(argv[0] == "/oci-add-hooks" and argv[1] in ("install", "uninstall")
              and "--wait" in argv and argv[argv.index("--host-root") + 1] == "/host",
              f"{name}/{c.name}: runs {' '.join(argv)}")
        # Kubernetes leaves a $(VAR) it cannot resolve as it is.
        env = {e.name: e for e in c.env or []}
        for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", " ".join(argv)):
            check(var in env, f"{name}/{c.name}: $({var}) is an environment variable of the container")
        host = {}
        for m in c.volume_mounts or []:
            v = volumes.get(m.name)
            check(v is not None, f"{name}/{c.name}: volume {m.name} exists")
            if v is not None and v.host_path is not None:
                host[v.host_path.path] = (m.mount_path, bool(m.read_only))
            elif v is not None:
                check(v.config_map is not None and m.read_only, f"{name}/{c.name}: {m.name} is a read-only ConfigMap")
        needed = {p for p in HOST_PATHS if argv[1] == "install" or p not in INSTALL_ONLY}
        check(set(host) == needed, f"{name}/{c.name}: host paths are exactly {sorted(needed)}, got {sorted(host)}")
        for path, (mount, ro) in host.items():
            check(HOST_PATHS.get(path) == mount, f"{name}/{c.name}: {path} at {HOST_PATHS.get(path)}")
            check(ro == (path in READ_ONLY), f"{name}/{c.name}: {path} {'read-only' if path in READ_ONLY else 'writable'}")


def glob(pattern, key):
    """Go's filepath.Match, as containerd matches pod_annotations: `*` and
    `?` do not match `/`."""
    rx = "".join("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, key) is not None


def check_runtime_classes(objects):
    """The RuntimeClass names install's runtime; each pod that selects it
    names a RuntimeClass here and has an annotation pod-annotations passes
    on."""
    classes = {o.metadata.name: o for kind, o in objects if kind == "RuntimeClass"}
    check(any(rc.handler == HANDLER for rc in classes.values()), f"a RuntimeClass with handler {HANDLER}")
    patterns = []
    for kind, o in objects:
        if kind == "ConfigMap" and o.data and "pod-annotations" in o.data:
            patterns = [p.strip() for p in o.data["pod-annotations"].split(",") if p.strip()]
    pods = [o for kind, o in objects if kind == "Pod"]
    check(bool(pods), "an example pod")
    for o in pods:
        rc = o.spec.runtime_class_name
        check(rc in classes, f"Pod {o.metadata.name}: runtimeClassName {rc} is a RuntimeClass here")
        keys = list((o.metadata.annotations or {}).keys())
        check(any(glob(p, k) for p in patterns for k in keys),
              f"Pod {o.metadata.name}: an annotation of {keys} matches pod-annotations {patterns}")


def main(paths):
    namespaces = set()
    seen = []
    objects = []
    for path in paths:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            name = f"{path}: {key[1]} {doc.get('metadata', {}).get('name')}"
            type_name = MODELS.get(key)
            check(type_name is not None, f"{name}: a known kind")
            if type_name is None:
                continue
            errors = []
            strict(doc, type_name, key[1], errors)
            check(not errors, f"{name}: every field is one of {type_name}'s {errors}")
            try:
                obj = deserialise(doc, type_name)
            except (ValueError, TypeError) as e:
                check(False, f"{name}: deserialises into {type_name}: {' '.join(str(e).split())}")
                continue
            check(True, f"{name}: deserialises into {type_name}")
            seen.append(key[1])
            objects.append((key[1], obj))
            if key[1] == "Namespace":
                namespaces.add(obj.metadata.name)
            elif key[1] in ("ConfigMap", "DaemonSet", "Job"):
                check(obj.metadata.namespace in namespaces | {"oci-add-hooks"},
                      f"{name}: in namespace oci-add-hooks")
            if key[1] == "DaemonSet":
                check_daemonset(obj, name)
    check("Namespace" in seen and seen.count("DaemonSet") == 2, "an installer and an uninstaller DaemonSet, and their namespace")
    check_runtime_classes(objects)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
