# NixOS module: installs oci-add-hooks, writes the configured hook files to
# /etc/oci-add-hooks/hooks.d and registers the shim as a Docker runtime.
# Like the packages, it adds a runtime and leaves Docker's default alone
# unless setDefault says otherwise.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.oci-add-hooks;
  inherit (lib) mkEnableOption mkIf mkOption types;
in
{
  options.services.oci-add-hooks = {
    enable = mkEnableOption "the oci-add-hooks runtime shim for Docker";

    package = mkOption {
      type = types.package;
      description = "The oci-add-hooks package (the flake's module sets its own build).";
    };

    hooks = mkOption {
      type = types.attrsOf (types.attrsOf (types.listOf types.attrs));
      default = { };
      example = lib.literalExpression ''
        {
          "10-log" = {
            createRuntime = [
              { path = "''${pkgs.util-linux}/bin/logger"; args = [ "logger" "--tag" "oci-hook" ]; timeout = 5; }
            ];
          };
        }
      '';
      description = ''
        Hook files, by name: each becomes /etc/oci-add-hooks/hooks.d/NAME.json,
        holding {"hooks": VALUE}, where VALUE maps runtime-spec stage names
        (prestart, createRuntime, createContainer, startContainer, poststart,
        poststop) to lists of hooks ({ path, args, env, timeout }). Files
        apply in the byte order of their names; see oci-add-hooks(1).
      '';
    };

    runtime = mkOption {
      type = types.str;
      default = "${pkgs.runc}/bin/runc";
      defaultText = lib.literalExpression ''"''${pkgs.runc}/bin/runc"'';
      description = "The low-level OCI runtime the shim hands over to (--runtime-path).";
    };

    runtimeName = mkOption {
      type = types.str;
      default = "oci-add-hooks";
      description = "The name of the Docker runtime (docker run --runtime=NAME).";
    };

    setDefault = mkOption {
      type = types.bool;
      default = false;
      description = "Whether to make the shim Docker's default runtime.";
    };
  };

  config = mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];

    # The store files are root's and read-only, as the shim requires.
    environment.etc = lib.mapAttrs'
      (name: stages: lib.nameValuePair "oci-add-hooks/hooks.d/${name}.json" {
        text = builtins.toJSON { hooks = stages; };
      })
      cfg.hooks;

    # The shim refuses a missing default directory, so it exists even with
    # no hooks configured.
    systemd.tmpfiles.rules = [ "d /etc/oci-add-hooks/hooks.d 0755 root root -" ];

    virtualisation.docker.daemon.settings = {
      runtimes.${cfg.runtimeName} = {
        path = "${cfg.package}/bin/oci-add-hooks";
        runtimeArgs = [ "--runtime-path" cfg.runtime ];
      };
    } // lib.optionalAttrs cfg.setDefault {
      default-runtime = cfg.runtimeName;
    };
  };
}
