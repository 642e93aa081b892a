#!/usr/bin/env sh
# Writes a self-signed certificate for local use: gen-self-signed.sh <dir> [hostname]
# Browsers and clients will warn about it; use a real certificate anywhere else.
set -eu
dir="${1:?usage: $0 <dir> [hostname]}"
host="${2:-localhost}"
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" \
  -subj "/CN=$host" -addext "subjectAltName=DNS:$host,IP:127.0.0.1" 2>/dev/null
chmod 600 "$dir/tls.key"
echo "wrote $dir/tls.crt and $dir/tls.key for $host"
