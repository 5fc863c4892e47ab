# oci-add-hooks for one nixpkgs package set: called with the native set
# (packages.default), pkgsStatic (packages.static) or a cross set's
# pkgsStatic (packages.static-aarch64).
{ lib, rustPlatform, installShellFiles, src }:

let
  cargoToml = builtins.fromTOML (builtins.readFile ../../Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = cargoToml.package.name;
  version = cargoToml.package.version;
  inherit src;

  cargoLock.lockFile = ../../Cargo.lock;

  # .cargo/config.toml sets rust-lld and static flags for `make dist`;
  # nixpkgs brings its own linker and flags for each platform.
  postPatch = ''
    rm .cargo/config.toml
  '';

  # The unit tests are pure. The integration tests need root, runc and a
  # Docker engine, which the build sandbox does not have: `make test` runs
  # them.
  cargoTestFlags = [ "--lib" ];

  nativeBuildInputs = [ installShellFiles ];

  postInstall = ''
    installManPage packaging/oci-add-hooks.1
    install -Dm644 -t $out/share/doc/oci-add-hooks/examples \
      packaging/hooks.d/example.json packaging/docker/daemon.json.example
  '';

  meta = {
    description = cargoToml.package.description;
    license = lib.licenses.asl20;
    platforms = lib.platforms.linux;
    mainProgram = "oci-add-hooks";
  };
}
