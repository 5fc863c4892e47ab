#!/usr/bin/env bash
# Evaluates flake.nix offline, against the stub nixpkgs in
# tests/nix/stub-nixpkgs, as far as evaluation can go without nixpkgs:
# every .nix file parses, `nix flake check --no-build` and `nix flake show`
# pass with every expected output, the NixOS module's logic holds
# (module-test.nix), the module and overlay are wired to the package, and
# the stub does catch a broken flake (an untracked Cargo.lock, a wrong
# version). Nothing is built: the stub's derivations cannot be.
#
# Nix (Debian's nix-bin 2.8) works in a store under a temp dir (--store),
# so the machine's /nix is never touched, and no flake.lock is written.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
stub=$repo/tests/nix/stub-nixpkgs
work=$(mktemp -d /tmp/oah-nix.XXXXXX)
# Store files are read-only.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
store=$work/store

nixc() {
	nix --extra-experimental-features 'nix-command flakes' --store "$store" "$@"
}
flake_args=(--no-write-lock-file --override-input nixpkgs "path:$stub")

passed=0
failed=0
check() {
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok: $name"
	else
		failed=$((failed + 1))
		echo "FAILED: $name"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

lock_before=$(git ls-files --error-unmatch flake.lock >/dev/null 2>&1 && git hash-object flake.lock || echo none)

parse_all() {
	local f n=0
	while IFS= read -r -d '' f; do
		nix-instantiate --store "$store" --parse "$f" >/dev/null || { echo "$f does not parse"; return 1; }
		n=$((n + 1))
	done < <(git ls-files -z --cached --others --exclude-standard -- '*.nix')
	[ "$n" -ge 6 ] || { echo "only $n .nix files found"; return 1; }
}
check "every .nix file parses" parse_all

check "Cargo.lock is tracked by git" git ls-files --error-unmatch Cargo.lock

check "nix flake check --no-build" nixc flake check --no-build "${flake_args[@]}" "$repo"

show_has_every_output() {
	local json
	json=$(nixc flake show --json "${flake_args[@]}" "$repo") || return 1
	printf '%s' "$json" | python3 -c '
import json, sys
show = json.load(sys.stdin)
want = {
    "packages": {"x86_64-linux": {"default", "static", "static-aarch64"}, "aarch64-linux": {"default", "static"}},
    "checks": {"x86_64-linux": {"package", "static", "static-aarch64"}, "aarch64-linux": {"package", "static"}},
    "apps": {"x86_64-linux": {"default"}, "aarch64-linux": {"default"}},
    "devShells": {"x86_64-linux": {"default"}, "aarch64-linux": {"default"}},
}
for output, systems in want.items():
    for system, names in systems.items():
        got = set(show.get(output, {}).get(system, {}))
        assert got == names, f"{output}.{system}: {sorted(got)}, expected {sorted(names)}"
        for name in names:
            entry = show[output][system][name]
            kind = "app" if output == "apps" else "derivation"
            assert entry.get("type") == kind, f"{output}.{system}.{name}: {entry}"
assert set(show.get("overlays", {})) == {"default"}, show.get("overlays")
assert set(show.get("nixosModules", {})) == {"default"}, show.get("nixosModules")
pkg = show["packages"]["x86_64-linux"]["default"]
assert pkg["name"].startswith("oci-add-hooks-"), pkg
'
}
check "nix flake show lists every output" show_has_every_output

check "NixOS module logic (tests/nix/module-test.nix)" \
	nixc eval --impure --expr "assert import $repo/tests/nix/module-test.nix; true"

# The flake's module imports module.nix and defaults its package to the
# flake's build; the overlay adds that build to a package set.
wiring() {
	local got
	got=$(nixc eval --raw --impure "${flake_args[@]}" "$repo#nixosModules.default" --apply "
		m: let
		  lib = import $stub/lib.nix;
		  pkgs = import $stub/pkgs.nix { inherit lib; system = \"x86_64-linux\"; };
		  r = m { inherit lib pkgs; config = { }; };
		in
		  assert map baseNameOf r.imports == [ \"module.nix\" ];
		  assert r.services.oci-add-hooks.package._type == \"override\";
		  r.services.oci-add-hooks.package.content.name")
	[ "$got" = "oci-add-hooks-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)" ] ||
		{ echo "module's package: $got"; return 1; }
}
check "nixosModules.default uses module.nix and the flake's package" wiring

overlay() {
	local got
	got=$(nixc eval --raw "${flake_args[@]}" "$repo#overlays.default" --impure --apply "
		o: let
		  lib = import $stub/lib.nix;
		  pkgs = import $stub/pkgs.nix { inherit lib; system = \"aarch64-linux\"; };
		in (o pkgs pkgs).oci-add-hooks.pname")
	[ "$got" = oci-add-hooks ] || { echo "overlay's package: $got"; return 1; }
}
check "overlays.default adds oci-add-hooks" overlay

# The stub must fail a broken flake, or the checks above prove nothing: a
# copy of the tree where Cargo.lock is not tracked, then one whose package
# names another version.
broken_copy() {
	local copy=$work/broken-$1
	mkdir -p "$copy"
	git ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$copy")
	git -C "$copy" init -q
	git -C "$copy" add -A
	echo "$copy"
}
rejects() {
	local what=$1 expect=$2 copy=$3 out
	if out=$(nixc flake check --no-build "${flake_args[@]}" "git+file://$copy" 2>&1); then
		echo "flake check passed with $what"
		return 1
	fi
	grep -qF -- "$expect" <<<"$out" || { echo "$out"; return 1; }
}
untracked_lock() {
	local copy
	copy=$(broken_copy lock)
	git -C "$copy" rm -q --cached Cargo.lock
	rejects "an untracked Cargo.lock" "is Cargo.lock tracked by git?" "$copy"
}
check "the stub rejects an untracked Cargo.lock" untracked_lock
wrong_version() {
	local copy
	copy=$(broken_copy version)
	sed -i 's/version = cargoToml.package.version;/version = "0.0.0-wrong";/' "$copy/packaging/nix/package.nix"
	grep -q 0.0.0-wrong "$copy/packaging/nix/package.nix" || { echo "package.nix has no version line to break"; return 1; }
	git -C "$copy" add -A
	rejects "a wrong version" "is not Cargo.toml's version" "$copy"
}
check "the stub rejects a version that is not Cargo.toml's" wrong_version

lock_unchanged() {
	local now
	now=$(git ls-files --error-unmatch flake.lock >/dev/null 2>&1 && git hash-object flake.lock || echo none)
	[ "$now" = "$lock_before" ] && { [ "$now" != none ] || [ ! -e flake.lock ]; } ||
		{ echo "flake.lock was written by an evaluation against the stub"; return 1; }
}
check "no flake.lock was written" lock_unchanged

echo "nix: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
