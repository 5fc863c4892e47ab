{
  description = "oci-add-hooks: an OCI runtime shim that adds configured hooks to containers";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # The package for any package set: native, pkgsStatic or cross.
      build = pkgs: pkgs.callPackage ./packaging/nix/package.nix { src = self; };
    in
    {
      overlays.default = final: prev: {
        oci-add-hooks = build final;
      };

      packages = forAllSystems (system: pkgs:
        {
          default = build pkgs;
          static = build pkgs.pkgsStatic;
        } // lib.optionalAttrs (system == "x86_64-linux") {
          static-aarch64 = build pkgs.pkgsCross.aarch64-multiplatform.pkgsStatic;
        });

      apps = forAllSystems (system: pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/oci-add-hooks";
        };
      });

      devShells = forAllSystems (system: pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${system}.default ];
          packages = with pkgs; [ clippy rustfmt runc file ];
        };
      });

      checks = forAllSystems (system: pkgs:
        let
          # A static build's binary must not need a dynamic loader.
          assertStatic = name: pkg: pkgs.runCommand "oci-add-hooks-${name}-is-static"
            { nativeBuildInputs = [ pkgs.file ]; } ''
            file -L ${pkg}/bin/oci-add-hooks | tee $out
            grep -Eq 'statically linked|static-pie linked' $out
          '';
        in
        {
          package = self.packages.${system}.default;
          static = assertStatic "static" self.packages.${system}.static;
        } // lib.optionalAttrs (system == "x86_64-linux") {
          static-aarch64 = assertStatic "static-aarch64" self.packages.${system}.static-aarch64;
        });

      nixosModules.default = { lib, pkgs, ... }: {
        imports = [ ./packaging/nix/module.nix ];
        services.oci-add-hooks.package =
          lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };
    };
}
