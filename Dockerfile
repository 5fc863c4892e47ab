# The node installer image: the static binary and nothing else. Run by the
# DaemonSet in packaging/kubernetes/: it installs onto the host mounted at
# /host, then waits for SIGTERM (there is no shell to `sleep` in).
#
#   make image      (after `make dist`; or by hand:)
#   docker build --build-arg TARGETARCH=amd64 -t oci-add-hooks-installer .
#
# FROM scratch needs no base image and no network. BuildKit sets TARGETARCH
# itself; the classic builder needs the --build-arg.
FROM scratch
ARG TARGETARCH
COPY dist/${TARGETARCH}/oci-add-hooks /oci-add-hooks
ENTRYPOINT ["/oci-add-hooks", "install", "--host-root", "/host", "--wait"]
