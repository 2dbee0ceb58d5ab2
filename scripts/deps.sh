#!/usr/bin/env bash
# Installs the Debian 12 packages smdp needs to build, test and run, when any is missing.
# As root it runs apt-get; otherwise it names the packages and the command to run.
set -euo pipefail

packages=(
  gcc pkg-config meson ninja-build python3
  libtasn1-6-dev libtasn1-bin
  libssl-dev openssl
  libmicrohttpd-dev libgnutls28-dev
  libsqlite3-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libqrencode-dev
  libcmocka-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "smdp needs these Debian packages, which are not installed:" >&2
  echo "  ${missing[*]}" >&2
  echo "Install them as root, then run this command again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
