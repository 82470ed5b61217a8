#!/usr/bin/env bash
# The Debian packages the tests use beside the database servers: LDAP user stores are tested against a real
# slapd (with ldap-utils), the console in Debian's chromium (never a downloaded browser), the cluster behind
# haproxy. Run by `npm test` (as `pretest`) and by .ci/run: the one list of them.
#
# Installs what is missing with apt-get when run as root; otherwise exits 2 with the command to run.
# Everything installed: one dpkg-query, no network, a few milliseconds.
set -euo pipefail

# TESSERA_TEST_PACKAGES replaces the list, for this script's own tests only.
read -r -a packages <<<"${TESSERA_TEST_PACKAGES:-slapd ldap-utils chromium haproxy}"

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "test-packages: no dpkg-query here: the tests expect Debian packages ${packages[*]}; install their equivalents, then run npm test again." >&2
  exit 2
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "test-packages: the tests need packages that are not installed (${missing[*]}). Run as root:" >&2
  echo "  sudo sh -c '$command'" >&2
  exit 2
fi
echo "test-packages: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
