#!/usr/bin/env bash
# Regenerates the help text quoted in the manual from the binary, so that the pages say exactly
# what the program prints:
#   - in docs/commands/*.md, the fenced block after each line "From `pgdr WORDS --help`:" becomes
#     the output of `pgdr WORDS --help`, byte for byte;
#   - in docs/README.md, the block after "Global options (from `pgdr --help`):" becomes the
#     Options section of `pgdr --help`, and the block after "Commands:" its Subcommands section.
# Usage: scripts/update-help-docs.sh [PGDR_BINARY]   (default: build/src/pgdr)
# The integration test DocsTest checks the same blocks; run this after changing a command's options.
set -euo pipefail
cd "$(dirname "$0")/.."
pgdr=${1:-build/src/pgdr}
[[ -x $pgdr ]] || { echo "update-help-docs.sh: no pgdr binary at $pgdr (build it, or pass its path)" >&2; exit 2; }
pgdr=$(realpath "$pgdr")

# replace_blocks FILE: rewrites FILE; the awk program asks for each block's text through the shell.
replace_blocks() {
  local file=$1 tmp
  tmp=$(mktemp "${file}.XXXXXX")
  awk -v pgdr="$pgdr" '
    function quote(s) { gsub(/'\''/, "'\''\\'\'''\''", s); return "'\''" s "'\''" }
    # Prints the output of cmd, each line with its newline (the help text ends with one).
    function emit(cmd,   line) {
      while ((cmd | getline line) > 0) print line
      if (close(cmd) != 0) { print "update-help-docs.sh: failed: " cmd > "/dev/stderr"; failed = 1 }
    }
    # The lines of one section ("Options:" or "Subcommands:") of pgdr --help, without the blank end.
    function section(name,   cmd, line, inside) {
      cmd = quote(pgdr) " --help"
      inside = 0
      while ((cmd | getline line) > 0) {
        if (line == name) { inside = 1; continue }
        if (inside && line == "") inside = 0
        if (inside) print line
      }
      close(cmd)
    }
    pending != "" && /^```/ { print; block = pending; pending = ""; skipping = 1
      if (block == "global") section("Options:")
      else if (block == "commands") section("Subcommands:")
      else emit(quote(pgdr) " " block " --help")
      next }
    skipping && /^```/ { skipping = 0; print; next }
    skipping { next }
    /^From `pgdr .* --help`:$/ {
      words = $0; sub(/^From `pgdr /, "", words); sub(/ --help`:$/, "", words)
      pending = words; print; next }
    /^Global options \(from `pgdr --help`\):$/ { pending = "global"; print; next }
    /^Commands:$/ { pending = "commands"; print; next }
    { print }
    END { if (failed) exit 1 }
  ' "$file" >"$tmp" || { rm -f "$tmp"; exit 1; }
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; echo "updated $file"; fi
}

for page in docs/commands/*.md docs/README.md; do
  replace_blocks "$page"
done
