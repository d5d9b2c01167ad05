#!/usr/bin/env bash
# The demo: Garage du Lac Sàrl, a made-up Winbiz user, moves its books out; every step is verified.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-output
rm -rf "$out"
mkdir -p "$out"
# A failed verification (exit 4) is shown and the demo goes on; any other failure stops it.
step() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@" || { rc=$?; [ "$rc" -eq 4 ] || exit "$rc"; printf '  (exit 4: the verification failed, see above)\n'; }
}

echo "== What migrator reads and writes"
step migrator formats

echo
echo "== A Winbiz installation left on disk: the DAT folder holds two companies"
step migrator detect samples/winbiz/DAT
step migrator inspect samples/winbiz/DAT
step migrator inspect samples/winbiz/DAT --dossier garage

echo
echo "== The same books from every Winbiz route read to the same trial balance"
for route in samples/winbiz/DAT/garage samples/winbiz/exports/xml-attributes samples/winbiz/exports/xlsx \
             samples/winbiz/exports/csv; do
  migrator inspect "$route" --json > "$out/$(basename "$route").json"
  printf '  %-45s %s\n' "$route" "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
print(d['counts']['entries'], 'entries,', len(d['trial_balance']), 'accounts, bank 1020 closing', \
      ', '.join(y['start'][:4] + ' ' + y['closing'].get('1020', '0.00') for y in d['years']))" \
    "$out/$(basename "$route").json")"
done

echo
echo "== Closing balances per fiscal year (the accountant's view: inspect --json, years[].closing)"
python3 - "$out/garage.json" <<'PY'
import json, sys

years = json.load(open(sys.argv[1], encoding="utf-8"))["years"]
codes = sorted({code for y in years for code in y["closing"]}, key=lambda c: (not c.isdigit(), c.zfill(20)))
print("  account " + "".join(f"{y['end']:>16}" for y in years))
for code in codes:
    print(f"  {code:<7} " + "".join(f"{y['closing'].get(code, ''):>16}" for y in years))
PY

echo
echo "== Winbiz → an Excel workbook, and back"
step migrator convert samples/winbiz/DAT --dossier garage --to xlsx -o "$out/garage.xlsx"
step migrator convert "$out/garage.xlsx" --to csv -o "$out/garage.csv"

echo
echo "== Winbiz → Banana"
step migrator convert samples/winbiz/DAT --dossier garage --to banana -o "$out/banana"
echo
echo "== The garage's customers, suppliers and parts arrive too: Banana's Contacts and Items tables"
latest=$(ls -d "$out"/banana/*/ | tail -1)
python3 - "$latest" <<'PY'
import csv, sys

for name, columns in (("contacts.txt", ("RowId", "OrganisationName", "FirstName", "FamilyName", "Street",
                                        "PostalCode", "Locality", "CountryCode")),
                      ("items.txt", ("ItemsId", "Description", "UnitPrice", "Unit", "QuantityBegin"))):
    with open(sys.argv[1] + name, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    print(f"  {name}: {len(rows)} rows")
    for row in rows[:4]:
        print("   ", " | ".join(row.get(c, "") for c in columns))
PY
echo
echo "== Open invoices carried into Banana's customers/suppliers register (the option partner_accounts=yes)"
step migrator --quiet convert samples/winbiz/DAT --dossier garage --to banana --option partner_accounts=yes \
     -o "$out/banana-register"
latest=$(ls -d "$out"/banana-register/*/ | tail -1)
printf '  %s: the transfer rows at the year end\n' "${latest#"$out"/}transactions.txt"
grep 'OPEN-ITEMS' "$latest/transactions.txt" | cut -f1-6 | sed 's/^/    /'
echo
echo "== The address book as vCard, for any address program or phone"
step migrator --quiet convert samples/winbiz/DAT --dossier garage --to vcard -o "$out/garage.vcf"
printf '  %s cards; the first:\n' "$(grep -c '^BEGIN:VCARD' "$out/garage.vcf")"
sed -n '/^BEGIN:VCARD/,/^END:VCARD/{s/^/    /;p;/^    END:VCARD/q}' "$out/garage.vcf" | head -12

echo
echo "== Winbiz → bexio, onto bexio's chart through a shipped map, with the report to sign"
for form in html xlsx json; do
  step migrator convert samples/winbiz/DAT --dossier garage --to bexio -o "$out/bexio" --map winbiz-bexio --force \
       --report "$out/report-winbiz-bexio.$form"
done
echo
echo "== In bexio form: Kontakte.xlsx and Produkte.xlsx for bexio's imports, and the API bodies"
python3 - "$out/bexio" <<'PY'
import json, sys

contacts = json.load(open(sys.argv[1] + "/contacts.json", encoding="utf-8"))
articles = json.load(open(sys.argv[1] + "/articles.json", encoding="utf-8"))
print(f"  {len(contacts)} contacts, {len(articles)} articles; the first contact:")
print("   ", json.dumps(contacts[0], ensure_ascii=False)[:200])
invoices = json.load(open(sys.argv[1] + "/invoices.json", encoding="utf-8"), parse_float=str)  # exact, as written
for invoice in invoices:  # created and issued in bexio by `migrator push`
    position = invoice["positions"][0]
    print(f"  open invoice {invoice['api_reference']} of {invoice['is_valid_from']}, customer {invoice['contact_id']}:"
          f" {position['unit_price']} (invoices.json)")
PY

echo
echo "== An open archive that outlives any vendor"
step migrator convert samples/winbiz/DAT --dossier garage --to saft -o "$out/garage-saft.xml"
step migrator convert samples/winbiz/DAT --dossier garage --to sqlite -o "$out/garage.sqlite"

echo
echo "== The canonical CSV sample → xlsx → back"
step migrator convert samples/garage/journal.csv --to xlsx -o "$out/journal.xlsx"
step migrator verify samples/garage/journal.csv "$out/journal.xlsx"

printf '\nOutputs are in %s/; the reconciliation report to print and sign: %s/report-winbiz-bexio.html\n' "$out" "$out"
