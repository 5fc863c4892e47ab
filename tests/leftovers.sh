#!/usr/bin/env bash
# What the suite created on the machine outside its temporary directories.
# `make test` takes a list of the machine's paths before the tests and
# compares it with one after them: every path that is new is listed, and
# any makes it fail. The suite must leave the machine as it found it: a
# node's containerd runs in a private mount namespace (its /run/containerd,
# /var/lib/containerd, /opt/containerd, NRI's socket directory, ...), and a
# path that a test leaves behind is what once made a fresh machine differ
# from one that had run the suite before.
#   usage: tests/leftovers.sh before LIST | after LIST
# Looked at: the trees a container engine or the installer writes to,
# four levels deep (deep enough for /etc/containerd/conf.d/FILE and
# /run/containerd/io.containerd.runtime.v2.task/NS), on each one's own
# file system. Not looked at: the tests' temporary directories (the temp
# root /run/oci-add-hooks-tests, target/, /tmp, $HOME, where make deps
# keeps its cache). A suite run at the same time by someone else on the
# same machine shows up too.
set -euo pipefail
roots=(/etc /run /opt /var/lib /var/run /usr/local /usr/bin /usr/sbin /srv)
list() {
	for r in "${roots[@]}"; do
		[ -d "$r" ] && [ ! -L "$r" ] || continue
		find "$r" -xdev -maxdepth 4 -path /run/oci-add-hooks-tests -prune -o -print 2>/dev/null || true
	done | LC_ALL=C sort -u
}
case ${1:-} in
before)
	mkdir -p "$(dirname "$2")"
	list >"$2"
	;;
after)
	[ -f "$2" ] || { echo "leftovers.sh: no list $2 (run \`$0 before $2\` first)" >&2; exit 2; }
	new=$(list | LC_ALL=C comm -13 "$2" -)
	if [ -n "$new" ]; then
		echo "the suite left on the machine, outside its temporary directories:" >&2
		echo "$new" | sed 's/^/  /' >&2
		exit 1
	fi
	echo "leftovers.sh: the suite left nothing on the machine outside its temporary directories"
	;;
*)
	echo "usage: $0 before LIST | after LIST" >&2
	exit 2
	;;
esac
