# %post: the package never edits /etc/docker/daemon.json; on first install
# ($1 = 1) it says how to register the runtime, and nothing more.
if [ "$1" = 1 ]; then
	echo "oci-add-hooks: to register it as a Docker runtime, run:"
	echo "    oci-add-hooks install --bin-dir /usr/bin"
	echo "oci-add-hooks: hook files go in /etc/oci-add-hooks/hooks.d/ (see oci-add-hooks(1))"
fi
