#!/usr/bin/env bash
# The demo: the made-up Garage du Lac Sàrl moved between formats, every step verified.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-output
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step migrator formats
step migrator detect samples/garage/journal.csv
step migrator inspect samples/garage/journal.csv
step migrator convert samples/garage/journal.csv --to xlsx -o "$out/garage.xlsx" --report "$out/garage-xlsx-report.json"
step migrator convert "$out/garage.xlsx" --to csv -o "$out/garage-back.csv"
step migrator verify samples/garage/journal.csv "$out/garage-back.csv"

printf '\nOutputs are in %s/:\n' "$out"
ls -1 "$out" | sed 's/^/  /'
