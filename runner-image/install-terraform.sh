#!/usr/bin/env bash
# Installs one Terraform release only if HashiCorp signed it:
#   1. the signing key (HASHICORP_KEY_URL) is imported into a throw-away keyring,
#   2. terraform_<version>_SHA256SUMS must carry a valid signature whose PRIMARY key fingerprint is the pinned one
#      (gpg's VALIDSIG status line; any other key in the downloaded key file counts for nothing),
#   3. the zip's SHA-256 must be the one that signed list gives for it.
# Usage: install-terraform.sh VERSION FINGERPRINT [ARCH]   (ARCH: amd64 by default)
# Environment: HASHICORP_RELEASES (https://releases.hashicorp.com), HASHICORP_KEY_URL
# (https://www.hashicorp.com/.well-known/pgp-key.txt), INSTALL_DIR (/usr/local/bin).
set -euo pipefail
shopt -s inherit_errexit

[ $# -ge 2 ] || { echo "usage: $0 VERSION FINGERPRINT [ARCH]" >&2; exit 2; }
version=$1
fingerprint=${2// /}
arch=${3:-amd64}
releases=${HASHICORP_RELEASES:-https://releases.hashicorp.com}
key_url=${HASHICORP_KEY_URL:-https://www.hashicorp.com/.well-known/pgp-key.txt}
install_dir=${INSTALL_DIR:-/usr/local/bin}

fail() {
  printf 'install-terraform: error: %s\n' "$*" >&2
  exit 1
}

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "VERSION must be x.y.z, got '$version'"
[[ $fingerprint =~ ^[0-9A-Fa-f]{40}$ ]] || fail "FINGERPRINT must be 40 hex digits, got '$fingerprint'"

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT # only the directory this script created
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"

zip=terraform_${version}_linux_${arch}.zip
sums=terraform_${version}_SHA256SUMS
fetch() { curl --fail --silent --show-error --location --max-time 300 --output "$work/$2" "$1"; }
fetch "$key_url" hashicorp.asc || fail "cannot download the signing key from $key_url"
fetch "$releases/terraform/$version/$sums" "$sums" || fail "cannot download $sums"
fetch "$releases/terraform/$version/$sums.sig" "$sums.sig" || fail "cannot download $sums.sig"
fetch "$releases/terraform/$version/$zip" "$zip" || fail "cannot download $zip"

gpg --batch --quiet --import "$work/hashicorp.asc" 2>/dev/null || fail "the key at $key_url is not an OpenPGP key"
status=$(gpg --batch --status-fd 1 --verify "$work/$sums.sig" "$work/$sums" 2>/dev/null || true)
# [GNUPG:] VALIDSIG <signing key fpr> <date> <timestamp> <expiry> <version> <reserved> <algo> <hash> <class> <primary fpr>
signer=$(awk '$2 == "VALIDSIG" { print $NF }' <<<"$status")
[ -n "$signer" ] || fail "$sums has no valid signature by the downloaded key"
[ "${signer^^}" = "${fingerprint^^}" ] ||
  fail "$sums is signed by $signer, not by HashiCorp's pinned key $fingerprint"

expected=$(awk -v zip="$zip" '$2 == zip { print $1 }' "$work/$sums")
[ -n "$expected" ] || fail "$sums lists no $zip"
actual=$(sha256sum "$work/$zip" | cut -d' ' -f1)
[ "$actual" = "$expected" ] || fail "$zip has SHA-256 $actual, the signed list says $expected"

unzip -q -o "$work/$zip" terraform -d "$work/bin" || fail "$zip holds no terraform binary"
install -m 0755 "$work/bin/terraform" "$install_dir/terraform"
echo "install-terraform: Terraform $version installed in $install_dir (signature by $signer, SHA-256 $actual)"
