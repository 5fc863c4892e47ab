# The part of nixpkgs' lib that flake.nix and packaging/nix/*.nix use, with
# the same names and meanings, reduced to what evaluation needs. mkIf and
# mkDefault keep nixpkgs' shape ({ _type, condition, content }) so a test
# can look inside what a module returns.
rec {
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  optionalAttrs = cond: attrs: if cond then attrs else { };
  nameValuePair = name: value: { inherit name value; };
  filterAttrs = pred: attrs: builtins.removeAttrs attrs (builtins.filter (n: !pred n attrs.${n}) (builtins.attrNames attrs));
  mapAttrs' = f: attrs: builtins.listToAttrs (map (n: f n attrs.${n}) (builtins.attrNames attrs));
  hasInfix = infix: s: builtins.length (builtins.split (escapeRegex infix) s) > 1;
  escapeRegex = builtins.replaceStrings
    [ "\\" "[" "]" "{" "}" "(" ")" "^" "$" "." "|" "*" "+" "?" ]
    [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\^" "\\$" "\\." "\\|" "\\*" "\\+" "\\?" ];

  licenses.asl20 = { spdxId = "Apache-2.0"; shortName = "asl20"; };
  platforms.linux = [ "x86_64-linux" "aarch64-linux" ];

  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  mkOption = attrs: { _type = "option"; } // attrs;
  mkEnableOption = name: mkOption { type = types.bool; default = false; description = "Whether to enable ${name}."; };
  literalExpression = text: { _type = "literalExpression"; inherit text; };

  # Types are names here; nothing is type-checked.
  types = {
    bool = { name = "bool"; };
    str = { name = "str"; };
    package = { name = "package"; };
    attrs = { name = "attrs"; };
    attrsOf = t: { name = "attrsOf"; elemType = t; };
    listOf = t: { name = "listOf"; elemType = t; };
  };
}
