# %post: the package never edits an engine's configuration; on first install
# ($1 = 1) it says how to register the runtime, and nothing more.
if [ "$1" = 1 ]; then
	echo "oci-add-hooks: to register it with this host's Docker, containerd (its CRI) or CRI-O, run:"
	echo "    oci-add-hooks install --bin-dir /usr/bin"
	echo "oci-add-hooks: hook files go in /etc/oci-add-hooks/hooks.d/ (see oci-add-hooks(1))"
fi
