#!/usr/bin/env bash
# Fetches the containerd releases the node tests run against besides the
# machine's own, from Debian's suites that the machine's apt source also
# serves, and unpacks each into $CACHE/<version>/ (dpkg-deb -x): trixie's
# 1.7 and sid's 2.x. The apt configuration is private (its own sources
# list, lists and cache under $CACHE/apt); nothing is added to the
# machine's sources and nothing is installed.
#   usage: tests/releases/fetch.sh [CACHE]
# Prints one line per release: <version> <dir>. A second run with the
# packages unpacked already costs one apt-get update of the private lists.
set -euo pipefail
cache=${1:-${OCI_ADD_HOOKS_RELEASES:-$HOME/.cache/oci-add-hooks/containerd}}
suites=(trixie sid)
apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb" "$apt/parts"
# The machine's own Debian mirror and keyring, read from its sources.
uri=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
uri=${uri:-http://deb.debian.org/debian}
: >"$apt/sources.list"
for s in "${suites[@]}"; do
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main" >>"$apt/sources.list"
done
opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=$apt/parts" \
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" \
	-o Dir::Etc::preferences=/dev/null -o "Dir::Etc::preferencesparts=$apt/parts" \
	-o APT::Sandbox::User=root -q)
apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; exit 1; }
for s in "${suites[@]}"; do
	# The version this suite serves, from its own Packages list.
	v=$(apt-cache "${opts[@]}" madison containerd | awk -v s="$s" '$0 ~ "/"s"/|"s"/main|"s" " {print $3; exit}')
	[ -n "$v" ] || { echo "fetch.sh: suite $s serves no containerd" >&2; exit 1; }
	base=${v%%~*}; base=${base%%+*}
	dir=$cache/$base
	if [ ! -x "$dir/usr/bin/containerd" ]; then
		(cd "$apt/deb" && apt-get "${opts[@]}" download "containerd=$v" >/dev/null)
		deb=$(ls "$apt/deb"/containerd_*"$(echo "$v" | sed 's/:/%3a/')"*.deb | head -n 1)
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
		dpkg-deb -x "$deb" "$dir.tmp"
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	echo "$base $dir"
done
