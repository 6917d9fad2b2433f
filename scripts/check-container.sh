#!/usr/bin/env bash
# Checks the container image definition and the Kubernetes example without a
# Docker engine (none runs where peoplesync is developed):
#   - Dockerfile: a Debian 12 build stage whose RUN steps are only the
#     project's scripts; a debian:12-slim runtime with a non-root USER, the
#     state VOLUME, a HEALTHCHECK on /livez, the binary copied from the build
#     stage where scripts/build.sh puts it;
#   - deploy/runtime-packages.txt: every package resolves with apt-cache and,
#     given a built binary, covers every shared library `ldd` lists;
#   - deploy/kubernetes.yaml and deploy/container-config.yaml parse (Python's
#     yaml module if present, else yaml_tool built from tests/daemon), probes,
#     grace period, read-only root, Secret and volume wiring are in place, and
#     both configs pass `peoplesync check`;
#   - the image's ENTRYPOINT puts log lines on stdout, and its HEALTHCHECK
#     command succeeds against a live /livez (and fails on a 404).
# usage: scripts/check-container.sh [--run-build] [BUILD_DIR]
#   BUILD_DIR (default $PEOPLESYNC_BUILD_DIR or ./build) provides
#   daemon/peoplesync, tests/daemon/yaml_tool and tests/daemon/health_page_server;
#   checks needing a missing one are reported as skipped.
#   --run-build runs the build stage's RUN steps here (with the stage's ENV) into
#   a temporary build tree and checks that binary instead: a full Release build.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run_build=0
if [[ "${1:-}" == "--run-build" ]]; then run_build=1; shift; fi
build=${1:-${PEOPLESYNC_BUILD_DIR:-$root/build}}
dockerfile=$root/Dockerfile
packages_file=$root/deploy/runtime-packages.txt
k8s=$root/deploy/kubernetes.yaml
container_config=$root/deploy/container-config.yaml

passed=0 failed=0 skipped=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "skip: $*"; skipped=$((skipped + 1)); }
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- Dockerfile
# Instructions as "STAGE<TAB>INSTRUCTION<TAB>ARGS", continuation lines joined,
# comments dropped. STAGE counts FROM lines (1 = build, 2 = runtime).
awk '
  /^[[:space:]]*#/ { next }
  { line = line $0 }
  /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
  { if (line ~ /^[[:space:]]*$/) { line = ""; next }
    split(line, w, /[[:space:]]+/); ins = toupper(w[1]); args = line; sub(/^[[:space:]]*[^[:space:]]+[[:space:]]*/, "", args)
    if (ins == "FROM") stage++
    printf "%d\t%s\t%s\n", stage, ins, args; line = "" }
' "$dockerfile" >"$tmp/instructions"
field() { awk -F'\t' -v s="$1" -v i="$2" '$1 == s && $2 == i { print $3 }' "$tmp/instructions"; }

[[ "$(field 1 FROM)" == "debian:12 AS build" ]] && ok "build stage is FROM debian:12 AS build" ||
  bad "build stage: expected 'FROM debian:12 AS build', got '$(field 1 FROM)'"
[[ "$(field 2 FROM)" == debian:12-slim* ]] && ok "runtime stage is FROM debian:12-slim" ||
  bad "runtime stage: expected FROM debian:12-slim, got '$(field 2 FROM)'"
[[ -z "$(field 3 FROM)" ]] && ok "two stages" || bad "more than two stages"

build_runs=$(field 1 RUN)
if [[ -z "$build_runs" ]]; then bad "the build stage runs nothing"; fi
while IFS= read -r cmd; do
  [[ -z "$cmd" ]] && continue
  script=${cmd%% *}
  if [[ "$script" =~ ^\./scripts/[A-Za-z0-9_-]+\.sh$ && -x "$root/${script#./}" && "$cmd" != *'&&'* && "$cmd" != *';'* && "$cmd" != *'|'* ]]; then
    ok "build stage runs the project's script: $cmd"
  else
    bad "build stage runs something other than one project script: $cmd"
  fi
done <<<"$build_runs"

user=$(field 2 USER)
if [[ -n "$user" && "${user%%:*}" != "0" && "${user%%:*}" != "root" ]]; then ok "runtime runs as non-root USER $user"
else bad "runtime USER missing or root: '$user'"; fi
[[ "$(field 2 VOLUME)" == *'/var/lib/peoplesync'* ]] && ok "state VOLUME /var/lib/peoplesync" || bad "no VOLUME /var/lib/peoplesync"
healthcheck=$(field 2 HEALTHCHECK)
[[ "$healthcheck" == *'/livez'* ]] && ok "HEALTHCHECK probes /livez" || bad "HEALTHCHECK does not probe /livez"
copy_bin=$(field 2 COPY | grep -- '--from=build' || true)
# scripts/build.sh builds into $root/build; CMake puts the binary in daemon/.
if [[ "$copy_bin" == "--from=build /src/build/daemon/peoplesync /usr/local/bin/peoplesync" && "$(field 1 WORKDIR)" == "/src" ]]; then
  ok "runtime copies the binary from where scripts/build.sh puts it"
else bad "COPY --from=build does not take /src/build/daemon/peoplesync: '$copy_bin'"; fi
field 2 COPY | grep -q 'deploy/runtime-packages.txt' && field 2 RUN | grep -q 'runtime-packages.txt' &&
  ok "runtime installs deploy/runtime-packages.txt" || bad "runtime does not install deploy/runtime-packages.txt"
field 2 COPY | grep -q 'deploy/container-config.yaml /etc/peoplesync/config.yaml' &&
  ok "runtime ships deploy/container-config.yaml as the default config" || bad "default config not copied"
grep -qx 'build-\*' "$root/.dockerignore" 2>/dev/null && grep -qx '.git' "$root/.dockerignore" &&
  ok ".dockerignore keeps build trees and .git out of the context" || bad ".dockerignore missing or incomplete"

# ------------------------------------------------------- runtime packages
mapfile -t runtime_packages < <(grep -v '^[[:space:]]*#' "$packages_file" | grep -v '^[[:space:]]*$')
if [[ ${#runtime_packages[@]} -eq 0 ]]; then bad "no runtime packages listed"; fi
for p in "${runtime_packages[@]}"; do
  if apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then ok "runtime package resolves: $p"
  else bad "runtime package does not resolve with apt-cache: $p (apt-get update?)"; fi
done

# ----------------------------------------------------------- --run-build
bin=$build/daemon/peoplesync
if [[ $run_build -eq 1 ]]; then
  echo "running the build stage's steps here (into $tmp/build)..."
  env_args=()
  while IFS= read -r e; do
    # shellcheck disable=SC2206
    [[ -n "$e" ]] && env_args+=($e)
  done < <(field 1 ENV)
  while IFS= read -r cmd; do
    [[ -z "$cmd" ]] && continue
    if (cd "$root" && env "${env_args[@]}" PEOPLESYNC_BUILD_DIR="$tmp/build" bash -c "$cmd" >"$tmp/step.log" 2>&1); then
      ok "build step ran here: $cmd"
    else
      bad "build step failed here: $cmd"; tail -20 "$tmp/step.log"
    fi
  done <<<"$build_runs"
  bin=$tmp/build/daemon/peoplesync
fi

# ------------------------------------------- the binary's shared libraries
owner_of() {  # the Debian package owning a library path (usrmerge-aware)
  local path=$1 real
  real=$(readlink -f "$path")
  for candidate in "$path" "$real" "/usr$path" "${path#/usr}" "/usr$real" "${real#/usr}"; do
    local out
    out=$(dpkg -S "$candidate" 2>/dev/null | head -1) && [[ -n "$out" ]] && { echo "${out%%:*}"; return 0; }
  done
  return 1
}
if [[ -x "$bin" ]]; then
  # Libraries the binary names itself (DT_NEEDED) must come from a listed
  # package; the ones those pull in may come through the listed packages'
  # dependencies, which apt installs with them.
  needed=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
              --no-replaces --no-enhances "${runtime_packages[@]}" 2>/dev/null | grep -v '^[ <]' | sort -u)
  if ldd "$bin" >"$tmp/ldd" 2>&1; then
    if grep -q 'not found' "$tmp/ldd"; then bad "unresolved libraries: $(grep 'not found' "$tmp/ldd" | tr '\n' ' ')"; fi
    while read -r name lib; do
      pkg=$(owner_of "$lib") || { bad "no Debian package owns $lib"; continue; }
      if [[ "$pkg" == "libc6" ]] || printf '%s\n' "${runtime_packages[@]}" | grep -qx "$pkg"; then
        ok "$name comes with $pkg (listed)"
      elif [[ -n "$needed" ]] && ! grep -qx "$name" <<<"$needed" && grep -qx "$pkg" <<<"$closure"; then
        ok "$name comes with $pkg (a dependency of the listed packages)"
      else
        bad "$name needs package $pkg, missing from deploy/runtime-packages.txt"
      fi
    done < <(awk '/=>/ && $3 ~ /^\// { print $1, $3 }' "$tmp/ldd")
  else
    bad "ldd $bin failed"
  fi
else
  skip "no built binary at $bin: library coverage, config checks and ENTRYPOINT not checked"
fi

# -------------------------------------------------------------------- YAML
yaml_tool=$build/tests/daemon/yaml_tool
py_yaml=0
python3 -c 'import yaml' 2>/dev/null && py_yaml=1
# yget FILE DOC PATH: one value (see tests/daemon/yaml_tool.cpp for the syntax).
yget() {
  if [[ -x "$yaml_tool" ]]; then "$yaml_tool" get "$@" 2>/dev/null; return; fi
  python3 - "$@" <<'PY' 2>/dev/null
import re, sys, yaml
path, doc_sel, expr = sys.argv[1], sys.argv[2], sys.argv[3]
def steps(expr):
    # key segments split on '.', '\\.' is a literal dot, [N] / [KEY=VALUE] select
    out, key, sels, sel, depth, i = [], '', [], '', 0, 0
    while i < len(expr):
        c = expr[i]
        if depth == 0 and c == '\\' and i + 1 < len(expr):
            key += expr[i + 1]; i += 2; continue
        if depth == 0 and c == '.':
            out.append((key, sels)); key, sels = '', []
        elif c == '[':
            depth += 1
        elif c == ']' and depth:
            depth -= 1; sels.append(sel); sel = ''
        elif depth:
            sel += c
        else:
            key += c
        i += 1
    out.append((key, sels))
    return out
def walk(node, expr):
    if not expr:
        return node
    for key, sels in steps(expr):
        if key:
            if not isinstance(node, dict) or key not in node: return None
            node = node[key]
        for sel in sels:
            if not isinstance(node, list): return None
            if sel.isdigit():
                node = node[int(sel)] if int(sel) < len(node) else None
            else:
                k, v = sel.split('=', 1)
                node = next((i for i in node if isinstance(i, dict) and str(i.get(k)) == v), None)
            if node is None: return None
    return node
docs = list(yaml.safe_load_all(open(path)))
if doc_sel.isdigit():
    doc = docs[int(doc_sel)] if int(doc_sel) < len(docs) else None
else:
    k, v = doc_sel.split('=', 1)
    doc = next((d for d in docs if str(walk(d, k)) == v), None)
value = walk(doc, expr) if doc is not None else None
if value is None: sys.exit(3)
if isinstance(value, bool): print('true' if value else 'false')
elif isinstance(value, (dict, list)): print(yaml.safe_dump(value), end='')
else:
    text = str(value)
    sys.stdout.write(text if text.endswith('\n') else text + '\n')
PY
}
have_query=0
for f in "$k8s" "$container_config"; do
  name=${f#"$root"/}
  if [[ $py_yaml -eq 1 ]]; then
    if python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" 2>"$tmp/py.err"; then
      ok "$name parses (python3 yaml)"
    else bad "$name does not parse (python3 yaml): $(tail -1 "$tmp/py.err")"; fi
  fi
  if [[ -x "$yaml_tool" ]]; then
    if out=$("$yaml_tool" check "$f" 2>&1); then ok "$name parses (yaml-cpp: $out)"; else bad "$name does not parse (yaml-cpp): $out"; fi
  fi
done
if [[ $py_yaml -eq 1 || -x "$yaml_tool" ]]; then have_query=1
else bad "no YAML parser: install python3-yaml or build tests/daemon/yaml_tool"; fi

expect_value() {  # expect_value DESCRIPTION EXPECTED DOC PATH
  local got
  got=$(yget "$k8s" "$3" "$4")
  if [[ "$got" == "$2" ]]; then ok "$1 ($4 = $2)"; else bad "$1: $4 is '$got', expected '$2'"; fi
}
if [[ $have_query -eq 1 ]]; then
  pod=spec.template.spec
  c="$pod.containers[name=peoplesync]"
  expect_value "Deployment runs one replica" 1 kind=Deployment spec.replicas
  expect_value "no two pods share the state" Recreate kind=Deployment spec.strategy.type
  expect_value "liveness probe on /livez" /livez kind=Deployment "$c.livenessProbe.httpGet.path"
  expect_value "readiness probe on /readyz" /readyz kind=Deployment "$c.readinessProbe.httpGet.path"
  expect_value "probes use the health port" 9464 kind=Deployment "$c.ports[name=health].containerPort"
  expect_value "read-only root file system" true kind=Deployment "$c.securityContext.readOnlyRootFilesystem"
  expect_value "no privilege escalation" false kind=Deployment "$c.securityContext.allowPrivilegeEscalation"
  expect_value "runs as non-root" true kind=Deployment "$pod.securityContext.runAsNonRoot"
  grace=$(yget "$k8s" kind=Deployment "$pod.terminationGracePeriodSeconds")
  if [[ "$grace" =~ ^[0-9]+$ && $grace -ge 15 ]]; then ok "terminationGracePeriodSeconds $grace >= 15 (drain takes up to 10 s)"
  else bad "terminationGracePeriodSeconds '$grace' (need >= 15)"; fi
  secret=$(yget "$k8s" kind=Secret metadata.name)
  expect_value "refresh token from the Secret" "$secret" kind=Deployment "$c.env[name=ZOHO_REFRESH_TOKEN].valueFrom.secretKeyRef.name"
  key=$(yget "$k8s" kind=Deployment "$c.env[name=ZOHO_REFRESH_TOKEN].valueFrom.secretKeyRef.key")
  if [[ -n "$key" && -n "$(yget "$k8s" kind=Secret "stringData.$key")" ]]; then ok "Secret $secret has key $key"
  else bad "Secret $secret lacks the key '$key'"; fi
  vol=$(yget "$k8s" kind=Deployment "$c.volumeMounts[mountPath=/var/lib/peoplesync].name")
  claim=$(yget "$k8s" kind=Deployment "$pod.volumes[name=$vol].persistentVolumeClaim.claimName")
  if [[ -n "$vol" && -n "$claim" && "$(yget "$k8s" kind=PersistentVolumeClaim metadata.name)" == "$claim" ]]; then
    ok "state on the volume '$vol' (PersistentVolumeClaim $claim)"
  else bad "/var/lib/peoplesync is not on a PersistentVolumeClaim (volume '$vol', claim '$claim')"; fi
  if [[ -n "$(yget "$k8s" kind=Deployment "$c.volumeMounts[mountPath=/tmp].name")" ]]; then ok "/tmp is a writable emptyDir"
  else bad "/tmp is not writable under readOnlyRootFilesystem"; fi
  yget "$k8s" kind=ConfigMap 'data.config\.yaml' >"$tmp/k8s-config.yaml" || bad "ConfigMap has no data.config.yaml"
  listen=$(grep -E '^\s*listen:' "$tmp/k8s-config.yaml" | awk '{print $2}')
  [[ "$listen" == "0.0.0.0:9464" ]] && ok "ConfigMap config listens on 0.0.0.0:9464 (reachable by the kubelet)" ||
    bad "ConfigMap config listens on '$listen', not 0.0.0.0:9464"
fi

# ------------------------------------------------ configs pass `peoplesync check`
if [[ -x "$bin" ]]; then
  check_config() {
    if out=$(env -i PATH="$PATH" ZOHO_CLIENT_ID=1000.CHECK ZOHO_CLIENT_SECRET=check-secret \
             ZOHO_REFRESH_TOKEN=1000.check.token "$bin" check -c "$1" 2>&1); then ok "$2 passes peoplesync check"
    else bad "$2 fails peoplesync check: $out"; fi
  }
  check_config "$container_config" "deploy/container-config.yaml"
  [[ -s "$tmp/k8s-config.yaml" ]] && check_config "$tmp/k8s-config.yaml" "the ConfigMap's config.yaml"

  # ENTRYPOINT ["/bin/sh", "-c", "exec ... \"$@\" 2>&1", "peoplesync"]: log lines on stdout.
  entry=$(field 2 ENTRYPOINT)
  if [[ "$entry" == '["/bin/sh", "-c", "exec /usr/local/bin/peoplesync \"$@\" 2>&1", "peoplesync"]' ]]; then
    shell_cmd="exec $bin \"\$@\" 2>&1"
    out=$(/bin/sh -c "$shell_cmd" peoplesync --nope 2>/dev/null); rc=$?
    if [[ $rc -eq 2 && "$out" == *"unknown option '--nope'"* ]]; then ok "ENTRYPOINT: stderr output arrives on stdout, exit code kept ($rc)"
    else bad "ENTRYPOINT: stderr not on stdout or exit code lost (rc $rc, out '$out')"; fi
  else
    bad "ENTRYPOINT is not the documented stdout wrapper: $entry"
  fi
fi

# --------------------------------------------- HEALTHCHECK against a live /livez
page_server=$build/tests/daemon/health_page_server
hc_cmd=$(sed -n 's/.*CMD \["\/bin\/bash", "-c", "\(.*\)"\]$/\1/p' <<<"$healthcheck" | sed 's/\\\\/\\/g')
if [[ -z "$hc_cmd" ]]; then
  bad "HEALTHCHECK is not CMD [\"/bin/bash\", \"-c\", \"...\"]"
elif [[ -x "$page_server" ]]; then
  mkfifo "$tmp/url"
  "$page_server" "$tmp/page-state" >"$tmp/url" 2>/dev/null &
  server_pid=$!
  exec 3<"$tmp/url"
  if read -r url <&3 && [[ "$url" == http://127.0.0.1:* ]]; then
    port=${url##*:}
    if /bin/bash -c "${hc_cmd//9464/$port}"; then ok "HEALTHCHECK command passes against a live /livez"
    else bad "HEALTHCHECK command fails against a live /livez: $hc_cmd"; fi
    if /bin/bash -c "$(sed "s#/livez#/no-such-path#; s#9464#$port#" <<<"$hc_cmd")"; then bad "HEALTHCHECK passes on a 404"
    else ok "HEALTHCHECK command fails on a 404"; fi
  else
    bad "health_page_server did not start"
  fi
else
  skip "no $page_server: HEALTHCHECK command not run"
fi

echo "check-container: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
