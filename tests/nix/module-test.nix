# Evaluates packaging/nix/module.nix the way the NixOS module system would
# for one option set, with the stub's lib (mkIf and mkDefault as nixpkgs
# shapes them), and asserts what it returns. The real module system and
# NixOS are not available offline: this checks the module's own logic, not
# its merge with NixOS. Run by tests/nix/check.sh:
#   nix-instantiate --eval --strict tests/nix/module-test.nix
let
  lib = import ./stub-nixpkgs/lib.nix;
  module = import ../../packaging/nix/module.nix;

  pkgs = {
    runc = { outPath = "/nix/store/00000000000000000000000000000000-runc-1.1.5"; };
  };
  package = { outPath = "/nix/store/11111111111111111111111111111111-oci-add-hooks-0.1.0"; };

  # The options' defaults, overridden by `settings`, as the module system
  # would pass them back in `config`. An option the module reads but does
  # not declare is a missing attribute here, and fails the evaluation.
  evalWith = settings:
    let
      declared = (module { config = { }; inherit lib pkgs; }).options.services.oci-add-hooks;
      defaults = builtins.mapAttrs (_: o: o.default) (lib.filterAttrs (_: o: o ? default) declared);
      cfg = defaults // settings;
      result = module { config.services.oci-add-hooks = cfg; inherit lib pkgs; };
    in
    assert builtins.all (name: declared ? ${name}) (builtins.attrNames settings);
    assert result.config._type == "if";
    if result.config.condition then result.config.content else null;

  hook = { path = "/run/current-system/sw/bin/logger"; args = [ "logger" "--tag" "oci-hook" ]; timeout = 5; };

  disabled = evalWith { inherit package; };
  plain = evalWith { enable = true; inherit package; hooks."10-log".createRuntime = [ hook ]; };
  asDefault = evalWith { enable = true; inherit package; runtimeName = "hooked"; setDefault = true; runtime = "/usr/bin/crun"; };

  runtimes = c: c.virtualisation.docker.daemon.settings.runtimes;
in
assert disabled == null;

# The package is installed and registered under its default name, handing
# over to nixpkgs' runc; Docker's default runtime is left alone.
assert plain.environment.systemPackages == [ package ];
assert runtimes plain == {
  oci-add-hooks = {
    path = "${package}/bin/oci-add-hooks";
    runtimeArgs = [ "--runtime-path" "${pkgs.runc}/bin/runc" ];
  };
};
assert !(plain.virtualisation.docker.daemon.settings ? default-runtime);

# Each hook file is {"hooks": ...} under hooks.d, named NAME.json.
assert builtins.attrNames plain.environment.etc == [ "oci-add-hooks/hooks.d/10-log.json" ];
assert builtins.fromJSON plain.environment.etc."oci-add-hooks/hooks.d/10-log.json".text
  == { hooks.createRuntime = [ hook ]; };
# The default directory exists even with no hooks.
assert plain.systemd.tmpfiles.rules == [ "d /etc/oci-add-hooks/hooks.d 0755 root root -" ];
assert (evalWith { enable = true; inherit package; }).environment.etc == { };

# setDefault makes the named runtime Docker's default.
assert asDefault.virtualisation.docker.daemon.settings.default-runtime == "hooked";
assert (runtimes asDefault).hooked.runtimeArgs == [ "--runtime-path" "/usr/bin/crun" ];

true
