#!/usr/bin/env bash
# Runs Debian's docker-registry on loopback for tests and demos.
#   scripts/local-registry.sh start|push|stop|status|clean
# Environment:
#   STATE=<dir>          state dir (required): config, data, certs, pids, logs
#   MODE=plain|tls|token plain HTTP; HTTPS + basic auth (raind/raindpass); bearer tokens
#   PORT=<port>          registry port on 127.0.0.1 (default 5000)
#   TOKEN_PORT=<port>    token server port on 127.0.0.1 (MODE=token; default PORT+1)
#   IMAGE_DIR=<dir>      output of scripts/build-test-image.sh (for push)
#   TOKEN_FIELDS=both|token|access_token   what the token server answers (MODE=token)
#   TOKEN_REQUIRE_AUTH=1 pulls need credentials at the token server (MODE=token)
# push publishes the test image as busybox:latest (OCI manifest), library/busybox:latest,
# busybox:v2s2 (Docker schema 2), busybox:multi (OCI index) and busybox:multi-v2s2 (Docker
# manifest list). stop kills only the processes this script recorded in STATE.
set -euo pipefail
cmd=${1:?usage: local-registry.sh start|push|stop|status|clean}
state=${STATE:?set STATE to a directory}
mode=${MODE:-plain}
port=${PORT:-5000}
token_port=${TOKEN_PORT:-$((port + 1))}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$state"
state=$(cd "$state" && pwd)
scheme=http
[ "$mode" = plain ] || scheme=https
[ "$mode" = token ] && scheme=http

write_config() {
  mkdir -p "$state/data"
  {
    echo "version: 0.1"
    echo "log: {level: info}"
    echo "storage: {filesystem: {rootdirectory: $state/data}, delete: {enabled: true}}"
    case "$mode" in
      plain) echo "http: {addr: 127.0.0.1:$port}" ;;
      tls)
        echo "http: {addr: 127.0.0.1:$port, tls: {certificate: $state/certs/server.crt, key: $state/certs/server.key}}"
        echo "auth: {htpasswd: {realm: raind-registry, path: $state/htpasswd}}" ;;
      token)
        echo "http: {addr: 127.0.0.1:$port}"
        echo "auth: {token: {realm: http://127.0.0.1:$token_port/token, service: raind-local-registry, issuer: raind-token-issuer, rootcertbundle: $state/certs/token.crt}}" ;;
      *) echo "local-registry: unknown MODE $mode" >&2; exit 2 ;;
    esac
  } > "$state/config.yml"
}

make_certs() {
  mkdir -p "$state/certs"
  local c="$state/certs"
  [ -f "$c/ca.crt" ] && return
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=raind-test-ca \
    -keyout "$c/ca.key" -out "$c/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$c/server.key" -out "$c/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$c/ext.cnf"
  openssl x509 -req -in "$c/server.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial \
    -days 2 -extfile "$c/ext.cnf" -out "$c/server.crt" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=raind-token-issuer \
    -keyout "$c/token.key" -out "$c/token.crt" 2>/dev/null
  htpasswd -Bbn raind raindpass > "$state/htpasswd"
  # Clients (skopeo, raind) get a directory holding only the CA: skopeo reads *.key files in a
  # cert dir as client key pairs.
  mkdir -p "$state/client-certs"
  cp "$c/ca.crt" "$state/client-certs/ca.crt"
}

url() { echo "$scheme://127.0.0.1:$port"; }
curl_opts() {
  case "$mode" in
    tls) echo "--cacert $state/certs/ca.crt -u raind:raindpass" ;;
    *) echo "" ;;
  esac
}

wait_ready() {
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' $(curl_opts) "$(url)/v2/" || true)
    case "$code" in 200|401) return 0 ;; esac
    sleep 0.05
  done
  echo "local-registry: registry did not come up; log:" >&2
  tail -n 20 "$state/registry.log" >&2
  return 1
}

start() {
  make_certs
  write_config
  if [ "$mode" = token ]; then
    # Debian's interpreter: python3-jwt and python3-cryptography are Debian packages.
    /usr/bin/python3 "$repo/tests/fixtures/registry-token-server.py" --port "$token_port" \
      --key "$state/certs/token.key" --cert "$state/certs/token.crt" \
      --fields "${TOKEN_FIELDS:-both}" ${TOKEN_REQUIRE_AUTH:+--require-auth} \
      --log "$state/token-requests.jsonl" >"$state/token.log" 2>&1 &
    echo $! > "$state/token.pid"
    for _ in $(seq 1 100); do
      curl -sf -o /dev/null "http://127.0.0.1:$token_port/token?service=probe" && break
      sleep 0.05
    done
  fi
  docker-registry serve "$state/config.yml" >"$state/registry.log" 2>&1 &
  echo $! > "$state/registry.pid"
  wait_ready
  echo "local-registry: $mode registry at $(url)"
}

push() {
  local image=${IMAGE_DIR:?set IMAGE_DIR to the output of build-test-image.sh}
  local dest_opts=(--dest-tls-verify=false)
  case "$mode" in
    tls) dest_opts=(--dest-cert-dir "$state/client-certs" --dest-creds raind:raindpass) ;;
    token) dest_opts=(--dest-tls-verify=false --dest-creds raind:raindpass) ;;
  esac
  local r="127.0.0.1:$port"
  local sk=(skopeo --insecure-policy copy -q)
  "${sk[@]}" "${dest_opts[@]}" "oci:$image/oci-layout:latest" "docker://$r/busybox:latest"
  "${sk[@]}" "${dest_opts[@]}" "oci:$image/oci-layout:latest" "docker://$r/library/busybox:latest"
  "${sk[@]}" "${dest_opts[@]}" --format v2s2 "oci:$image/oci-layout:latest" "docker://$r/busybox:v2s2"
  "${sk[@]}" "${dest_opts[@]}" --all "oci:$image/oci-layout:multi" "docker://$r/busybox:multi"
  "${sk[@]}" "${dest_opts[@]}" --all --format v2s2 "oci:$image/oci-layout:multi" "docker://$r/busybox:multi-v2s2"
  echo "local-registry: pushed busybox:{latest,v2s2,multi,multi-v2s2} and library/busybox:latest"
}

stop() {
  for name in registry token; do
    local pidfile="$state/$name.pid"
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

case "$cmd" in
  start) start ;;
  push) push ;;
  stop) stop ;;
  status) [ -f "$state/registry.pid" ] && kill -0 "$(cat "$state/registry.pid")" 2>/dev/null && echo running || { echo stopped; exit 1; } ;;
  clean) stop; rm -rf "$state" ;;
  *) echo "usage: local-registry.sh start|push|stop|status|clean" >&2; exit 2 ;;
esac
