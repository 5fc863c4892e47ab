{
  # A stand-in for nixpkgs, for evaluating ../../flake.nix offline:
  #   nix flake check --override-input nixpkgs path:tests/nix/stub-nixpkgs
  # Nothing it returns can be built. See tests/nix/check.sh.
  description = "stub nixpkgs for evaluating the oci-add-hooks flake";

  outputs = { self }:
    let
      lib = import ./lib.nix;
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ]
        (system: import ./pkgs.nix { inherit lib system; });
    };
}
