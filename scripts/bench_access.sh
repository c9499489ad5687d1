#!/usr/bin/env bash
# `kctx access` and `kctx access can-i` against the test API server (tests/support/
# fake_apiserver.py, TLS, verifying EKS tokens), the EKS access-entry double and moto for
# STS/IAM, beside `kubectl auth can-i` on the same context. Two identities: one whose rights
# come from RBAC (the rules review settles the namespace: 15 access reviews), one whose rights
# come from an EKS access policy (a webhook the rules review cannot list: 49 access reviews).
#   scripts/bench_access.sh            BENCH_RUNS=50 scripts/bench_access.sh
# Needs hyperfine (installed from Debian when missing), moto_server, openssl and kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked -q
repo=$PWD
RUNS=${BENCH_RUNS:-30}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# moto for STS and IAM
mp=$(free_port)
moto_server -H 127.0.0.1 -p "$mp" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$mp/moto-api/data.json', timeout=1)" 2>/dev/null && break
  sleep 0.2
done

cd "$work"
# a cluster CA and its serving certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=ca \
  -keyout ca.key -out ca.crt -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=apiserver \
  -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out srv.crt -extfile ext 2>/dev/null

# two IAM users with keys; the API server's identities, aws-auth and the EKS state
python3 - "$mp" <<'EOF'
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                   aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
users = {}
for name in ("dev", "viewer"):
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    k = iam.create_access_key(UserName=name)["AccessKey"]
    users[name] = (arn, k["AccessKeyId"], k["SecretAccessKey"])
json.dump({ak: sk for _, ak, sk in users.values()}, open("secrets.json", "w"))
glw = ["get", "list", "watch"]
view = [{"verbs": glw, "apiGroups": [""], "resources": ["pods", "services", "configmaps"]},
        {"verbs": glw, "apiGroups": ["apps"], "resources": ["deployments"]}]
json.dump({
    users["dev"][1]: {"username": "dev", "groups": ["dev-team"], "rbac": [{"namespace": "dev",
        "via": 'RoleBinding "dev/dev-team" of Role "developer" to Group "dev-team"',
        "rules": [{"verbs": glw + ["create", "delete"], "apiGroups": [""], "resources": ["pods"]}]}]},
    users["viewer"][1]: {"username": users["viewer"][0], "groups": [],
        "policies": [{"name": "AmazonEKSViewPolicy", "namespaces": ["dev"], "rules": view}]},
}, open("ids.json", "w"))
json.dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"},
           "data": {"mapUsers": f"- userarn: {users['dev'][0]}\n  username: dev\n  groups: [dev-team]\n"}},
          open("cm.json", "w"))
pol = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
json.dump({"account": "123456789012", "region": "us-west-2", "clusters": {"c": {"mode": "API_AND_CONFIG_MAP", "entries": {
    users["viewer"][0]: {"type": "STANDARD", "username": users["viewer"][0], "groups": [],
                         "policies": [{"policyArn": pol, "accessScope": {"type": "namespace", "namespaces": ["dev"]}}]}}}}},
          open("eks.json", "w"))
for name, (_, ak, sk) in users.items():
    open(f"{name}.env", "w").write(f"AWS_ACCESS_KEY_ID={ak}\nAWS_SECRET_ACCESS_KEY={sk}\n")
EOF

# the servers live as long as their stdin (a sleep) does
mkfifo api.in eks.in
sleep 100000 >api.in & pids+=($!)
sleep 100000 >eks.in & pids+=($!)
python3 "$repo/tests/support/fake_apiserver.py" --cert srv.crt --key srv.key --cluster c --secrets secrets.json \
  --log api.log --identities ids.json --aws-auth cm.json <api.in >api.port &
pids+=($!)
python3 "$repo/tests/support/fake_eks.py" --state eks.json <eks.in >eks.port &
pids+=($!)
for _ in $(seq 1 100); do [ -s api.port ] && [ -s eks.port ] && break; sleep 0.1; done
ap=$(head -1 api.port) ep=$(head -1 eks.port)

mkdir -p bin home
ln -s "$repo/target/release/kctx" bin/kctx
cat >kubeconfig <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:$ap
    certificate-authority-data: $(base64 -w0 ca.crt)
contexts:
- name: eks
  context: {cluster: c, user: u, namespace: dev}
current-context: eks
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kctx
      args: [token, --cluster-name, c, --region, us-west-2]
EOF
export PATH=$work/bin:$PATH HOME=$work/home KUBECONFIG=$work/kubeconfig AWS_REGION=us-west-2
export AWS_EC2_METADATA_DISABLED=true KCTX_CACHE_DIR=$work/cache
export AWS_ENDPOINT_URL_STS=http://127.0.0.1:$mp AWS_ENDPOINT_URL_IAM=http://127.0.0.1:$mp
export AWS_ENDPOINT_URL_EKS=http://127.0.0.1:$ep

requests() { : >api.log; "$@" >/dev/null 2>&1 || true; wc -l <api.log; }
for who in dev viewer; do
  set -a; . "./$who.env"; set +a
  echo "== $who ($( [ $who = dev ] && echo 'RBAC through an aws-auth group' || echo 'AmazonEKSViewPolicy on namespace dev' )) =="
  echo "kctx access: $(requests kctx access) API-server requests; kctx access can-i get pods: $(requests kctx access can-i get pods); kubectl auth can-i get pods: $(requests kubectl auth can-i get pods)"
  hyperfine -N --style basic --warmup 3 --runs "$RUNS" \
    -n "kctx access" "kctx access" \
    -n "kctx access can-i get pods" "kctx access can-i get pods" \
    -n "kubectl auth can-i get pods" "kubectl auth can-i get pods" -i 2>/dev/null |
    grep -E "^Benchmark|Time \(mean"
done
