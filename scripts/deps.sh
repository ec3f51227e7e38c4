#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages mtlskit needs, only those missing.
# Usage: scripts/deps.sh [build|test|demo|fuzz|bench|testssl|package]...   (default: test)
set -euo pipefail

build=(gcc pkg-config meson ninja-build scdoc libssl-dev libjansson-dev libcmocka-dev
       libevent-dev libhttp-parser-dev libcurl4-openssl-dev libgoogle-perftools-dev openssl python3)
peers=(curl jq default-jdk-headless tinyproxy prometheus nginx-light
       systemd # systemd: systemd-analyze verify/security (gateway-systemd.sh)
       certmonger pebble # track: certmonger's local-submit helper, an ACME test CA
       bash-completion zsh # tests/cli/completions.sh
       ansible # tests/interop/ansible.sh
       gnutls-bin libnss3-tools python3-cryptography
       python3-jsonschema) # tests/cli/json-schema.sh: docs/schema/*.json
# gnutls-bin (certtool), libnss3-tools (pk12util, certutil), python3-cryptography;
# node-forge comes from npm into a temporary directory when npm is there:
# convert-producers.sh
# gateway-smuggle.sh needs a Node.js; any `node` on PATH will do
command -v node >/dev/null || peers+=(nodejs)
fuzz=(clang libclang-rt-14-dev)
bench=(hyperfine nginx-light stunnel4 haproxy python3-cryptography valgrind)
testssl=(testssl.sh jq curl) # scripts/testssl.sh
package=(dpkg-dev debhelper fakeroot lintian git) # scripts/package.sh

want=()
for what in "${@:-test}"; do
	case $what in
	build) want+=("${build[@]}") ;;
	test | demo) want+=("${build[@]}" "${peers[@]}") ;;
	fuzz) want+=("${build[@]}" "${fuzz[@]}") ;;
	bench) want+=("${build[@]}" "${peers[@]}" "${bench[@]}") ;;
	testssl) want+=("${testssl[@]}") ;;
	package) want+=("${build[@]}" "${package[@]}") ;;
	*) echo "deps.sh: unknown set '$what'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Packages that ship services (nginx, tinyproxy, prometheus) must not start
# them: tests start their own instances on loopback ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee $policy >/dev/null
	"${sudo[@]}" chmod 755 $policy
	created_policy=1
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ $created_policy -eq 1 ]; then "${sudo[@]}" rm -f $policy; fi
