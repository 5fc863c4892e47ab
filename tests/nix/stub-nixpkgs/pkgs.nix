# A package set for one platform: every package is a real derivation (so
# `nix flake check --no-build` can instantiate it) whose builder fails, and
# buildRustPackage checks the arguments the real one needs.
{ lib, system, hostSystem ? system, isStatic ? false }:

let
  stubDerivation = name: attrs: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" "echo 'stub nixpkgs: evaluation only, nothing can be built' >&2; exit 1" ];
  } // attrs);

  fail = msg: throw "stub nixpkgs: buildRustPackage: ${msg}";
  check = cond: msg: if cond then true else fail msg;

  buildRustPackage = args:
    let
      # With its store context, so that Nix reads the file from a --store
      # DIR's real location; and as a plain string, to compare names.
      src = toString (args.src or (fail "no src"));
      srcName = baseNameOf (builtins.unsafeDiscardStringContext src);
      manifest = builtins.fromTOML (builtins.readFile "${src}/Cargo.toml");
      lockFile = toString (args.cargoLock.lockFile or (fail "no cargoLock.lockFile"));
      checked =
        check (builtins.pathExists "${src}/Cargo.toml") "src ${src} has no Cargo.toml"
        && check ((args.pname or null) == manifest.package.name)
          "pname ${builtins.toJSON (args.pname or null)} is not Cargo.toml's name ${manifest.package.name}"
        && check ((args.version or null) == manifest.package.version)
          "version ${builtins.toJSON (args.version or null)} is not Cargo.toml's version ${manifest.package.version}"
        # A flake evaluated from a git repository sees only the files git
        # tracks, copied to the store: a lock file that exists there, in
        # the same store object as src, is one that git tracks. (With
        # --store DIR the path is DIR/nix/store/..., hence an infix.)
        && check (lib.hasInfix "${builtins.storeDir}/${srcName}/" lockFile)
          "cargoLock.lockFile ${lockFile} is not inside the flake's source ${src}"
        && check (builtins.pathExists lockFile)
          "cargoLock.lockFile ${lockFile} does not exist in the flake's source: is Cargo.lock tracked by git?"
        && check (builtins.isList (args.nativeBuildInputs or [ ])) "nativeBuildInputs is not a list"
        && check (builtins.isAttrs (args.meta or null) && args.meta ? mainProgram) "meta.mainProgram missing";
      drv = stubDerivation "${args.pname}-${args.version}" {
        inherit (args) src;
        cargoLock = lockFile;
        hostSystem = hostSystem;
        static = if isStatic then "1" else "";
      };
    in
    assert checked; drv // { inherit (args) pname version meta; };

  pkgs = {
    inherit lib system;
    stdenv.hostPlatform.system = hostSystem;
    callPackage = fn: overrides:
      let f = if builtins.isFunction fn then fn else import fn;
      in f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // overrides);
    rustPlatform = { inherit buildRustPackage; };
    runCommand = name: env: script: stubDerivation name ({ inherit script; } // builtins.removeAttrs env [ "nativeBuildInputs" ]
      // { nativeBuildInputs = env.nativeBuildInputs or [ ]; });
    mkShell = { inputsFrom ? [ ], packages ? [ ] }:
      assert builtins.all (d: d.type or null == "derivation") (inputsFrom ++ packages);
      stubDerivation "nix-shell" { inherit inputsFrom packages; };
    pkgsStatic = import ./pkgs.nix { inherit lib system hostSystem; isStatic = true; };
    pkgsCross.aarch64-multiplatform = import ./pkgs.nix { inherit lib system; hostSystem = "aarch64-linux"; };
  } // lib.genAttrs [ "installShellFiles" "file" "runc" "clippy" "rustfmt" "util-linux" ]
    (name: stubDerivation name { });
in
pkgs
