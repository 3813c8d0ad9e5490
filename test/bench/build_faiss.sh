#!/usr/bin/env bash
# Builds an optimized FAISS with Python bindings from Debian's own source package (benchmarks only:
# nothing in test/run_all.sh or CI runs this).
#
# Why: Debian's python3-faiss is a generic x86-64 build (faiss.get_compile_options() says
# "OPTIMIZE GENERIC"), so the SIMD code FAISS has for AVX2 (the pq4 fast-scan kernels behind
# IndexIVFPQFastScan, the distance kernels HNSW and IVF spend their time in) is compiled out.
# Comparing quiver against that build flatters quiver; an AVX2 build is much faster, above all for
# IndexIVFPQFastScan and IndexHNSWFlat. This builds the same FAISS version Debian ships (1.7.3 on
# Debian 12), with Debian's patches, at FAISS_OPT_LEVEL=avx2, and leaves an importable `faiss`
# package under PREFIX/python that shadows the system one only where PYTHONPATH points at it.
#
# Usage: test/bench/build_faiss.sh [--prefix DIR] [--opt-level avx2|avx512] [--jobs N]
#   --prefix DIR      where the source, build tree and Python package go
#                     (default /opt/faiss-avx2, or /opt/faiss-avx512 for --opt-level avx512)
#   --opt-level L     FAISS_OPT_LEVEL: avx2 (default) or avx512; avx512 needs a FAISS source that
#                     has that level (FAISS 1.7.3, Debian 12's, has only generic and avx2)
#   --jobs N          parallel compile jobs (default: nproc); compiles run under nice -n 19
# Then:
#   PYTHONPATH=PREFIX/python /usr/bin/python3 -c "import faiss; print(faiss.__version__, faiss.__file__)"
#
# What it does, each step skipped when already done (re-running resumes an interrupted build):
#   1. if `apt-cache showsrc faiss` finds nothing, writes /etc/apt/sources.list.d/quiver-deb-src.list
#      (a deb-src line for the release's main component; delete it to undo) and runs apt-get update;
#   2. installs the build dependencies (`apt-get build-dep faiss`, else the names Debian's
#      faiss lists: cmake, g++, swig, python3-dev, python3-numpy, python3-setuptools, libblas-dev,
#      liblapack-dev); no OpenBLAS, so the system's BLAS alternative is left as it is;
#   3. `apt-get source faiss` into PREFIX/build (unpacked with Debian's patches applied);
#   4. configures CMake (Release, no GPU, no tests, Python on, /usr/bin/python3) and builds the
#      swigfaiss target and the one for the opt level (swigfaiss_avx2) under nice -n 19;
#   5. runs the generated setup.py's build step and copies the resulting `faiss` package to
#      PREFIX/python/faiss;
#   6. imports it and checks that FAISS's loader picked the optimized module.
set -euo pipefail

die() { echo "build_faiss.sh: error: $*" >&2; exit 1; }
step() { echo "==> $*"; }
usage() { echo "usage: $0 [--prefix DIR] [--opt-level avx2|avx512] [--jobs N]" >&2; exit 2; }

prefix=
level=avx2
jobs=$(nproc)
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --opt-level) [ $# -ge 2 ] || usage; level=$2; shift 2 ;;
        --opt-level=*) level=${1#*=}; shift ;;
        --jobs|-j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) usage ;;
    esac
done
case $level in
    avx2|avx512) ;;
    *) die "--opt-level must be avx2 or avx512, not '$level'" ;;
esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, not '$jobs'"
[ -n "$prefix" ] || prefix=/opt/faiss-$level
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac

py=/usr/bin/python3      # Debian's python3: the one python3-numpy is built for (not a pyenv one)
work=$prefix/build       # apt-get source unpacks here; the CMake tree is <source>/_build
pkgdir=$prefix/python    # PYTHONPATH entry; holds the faiss package
start=$SECONDS

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
[ -x "$py" ] || die "$py not found (install python3)"
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian"

# The CPU must run the code, or FAISS's loader would quietly fall back to the generic module.
case $level in
    avx2) grep -qw avx2 /proc/cpuinfo || die "this CPU has no AVX2" ;;
    avx512) grep -qw avx512f /proc/cpuinfo || die "this CPU has no AVX-512F" ;;
esac

# --- 1. deb-src -----------------------------------------------------------------------------------
srclist=/etc/apt/sources.list.d/quiver-deb-src.list
if apt-cache showsrc faiss 2>/dev/null | grep -q '^Package: faiss$'; then
    step "deb-src: apt already knows the faiss source package"
else
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release; add a deb-src line by hand"
    mirror=http://deb.debian.org/debian
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    # apt refuses a deb-src entry whose Signed-By differs from the deb entry's for the same
    # mirror and suite ("Conflicting values set for option Signed-By"), so follow the existing
    # entries: with signed-by if they name the keyring, without otherwise; the other form if
    # apt-get update still fails.
    forms=("deb-src $mirror $codename main"
           "deb-src [signed-by=$keyring] $mirror $codename main")
    if grep -rqsi "signed-by.*$keyring" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        forms=("${forms[1]}" "${forms[0]}")
    fi
    ok=
    for line in "${forms[@]}"; do
        step "deb-src: writing '$line' to $srclist"
        echo "$line" | $sudo tee "$srclist" >/dev/null
        if out=$($sudo apt-get update 2>&1) && ! grep -q '^E:' <<<"$out" \
                && apt-cache showsrc faiss 2>/dev/null | grep -q '^Package: faiss$'; then
            ok=1
            break
        fi
        echo "$out" | grep -E '^(E|W):' >&2 || true
    done
    if [ -z "$ok" ]; then
        $sudo rm -f "$srclist"
        $sudo apt-get update -qq >/dev/null 2>&1 || true
        die "apt-get source cannot find faiss even with a deb-src entry for $mirror $codename main" \
            "(apt-get update errors above); removed $srclist again"
    fi
fi

# --- 2. build dependencies ----------------------------------------------------------------------
deps=(cmake g++ make swig python3-dev python3-numpy python3-setuptools libblas-dev liblapack-dev
      dpkg-dev)
missing=()
for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
    step "build dependencies: installed"
else
    step "build dependencies: installing (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get build-dep -y -q faiss; then
        echo "apt-get build-dep faiss failed; installing the dependencies by name" >&2
    fi
    # build-dep installs what debian/control lists; dpkg-dev (for apt-get source) and g++ may
    # not be among them, and a failed build-dep leaves all of them to this. Only the missing
    # ones: naming an installed package to apt-get install would upgrade it.
    missing=()
    for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
            || die "could not install the build dependencies: ${missing[*]}"
    fi
fi

# --- 3. source ----------------------------------------------------------------------------------
if [ ! -d "$prefix" ]; then
    $sudo mkdir -p "$prefix" || die "cannot create $prefix"
    [ -z "$sudo" ] || $sudo chown "$(id -u):$(id -g)" "$prefix"
fi
mkdir -p "$work" "$pkgdir"
src=$(find "$work" -mindepth 2 -maxdepth 2 -name CMakeLists.txt -path "$work/faiss-*" \
          -printf '%h\n' 2>/dev/null | sort -V | tail -n 1)
if [ -n "$src" ] && [ -f "$src/faiss/python/CMakeLists.txt" ]; then
    step "source: $src (already unpacked)"
else
    step "source: apt-get source faiss in $work"
    (cd "$work" && apt-get source -q faiss) || die "apt-get source faiss failed in $work"
    src=$(find "$work" -mindepth 2 -maxdepth 2 -name CMakeLists.txt -path "$work/faiss-*" \
              -printf '%h\n' | sort -V | tail -n 1)
    [ -n "$src" ] && [ -f "$src/faiss/python/CMakeLists.txt" ] \
        || die "apt-get source faiss left no faiss-*/faiss/python/CMakeLists.txt in $work"
fi
version=$(sed -n 's/^ *VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt" | head -n 1)
echo "    FAISS ${version:-(version not found)} from $(basename "$src")"

# The Python module per opt level, as faiss/python/CMakeLists.txt names its targets.
opt_target=swigfaiss_$level
grep -q "swig_add_library($opt_target\b" "$src/faiss/python/CMakeLists.txt" \
    || die "FAISS ${version:-?} in $src has no $opt_target target (no FAISS_OPT_LEVEL=$level in" \
           "this version; its faiss/python/CMakeLists.txt builds:" \
           "$(grep -o 'swig_add_library([a-z0-9_]*' "$src/faiss/python/CMakeLists.txt" \
              | sed 's/.*(//' | paste -sd ' ')); use --opt-level avx2"
targets=(swigfaiss "$opt_target")

# --- 4. configure and build ---------------------------------------------------------------------
bld=$src/_build
step "cmake: configuring $bld (FAISS_OPT_LEVEL=$level)"
cmake -S "$src" -B "$bld" \
    -DCMAKE_BUILD_TYPE=Release \
    -DFAISS_OPT_LEVEL="$level" \
    -DFAISS_ENABLE_GPU=OFF \
    -DFAISS_ENABLE_PYTHON=ON \
    -DFAISS_ENABLE_C_API=OFF \
    -DBUILD_TESTING=OFF \
    -DBUILD_SHARED_LIBS=OFF \
    -DPython_EXECUTABLE="$py" \
    >"$bld.configure.log" 2>&1 \
    || { tail -n 40 "$bld.configure.log" >&2; die "cmake configure failed (log: $bld.configure.log)"; }
grep -q "^FAISS_OPT_LEVEL:[A-Z]*=$level$" "$bld/CMakeCache.txt" \
    || die "CMakeCache.txt in $bld does not record FAISS_OPT_LEVEL=$level"

step "build: ${targets[*]} with $jobs jobs under nice -n 19 (the first build takes a long while)"
t0=$SECONDS
nice -n 19 cmake --build "$bld" --parallel "$jobs" --target "${targets[@]}" \
    || die "building ${targets[*]} failed (rerun to resume; the errors are above)"
echo "    built in $((SECONDS - t0)) s"

# --- 5. Python package --------------------------------------------------------------------------
pybld=$bld/faiss/python
for t in "${targets[@]}"; do
    [ -f "$pybld/_$t.so" ] && [ -f "$pybld/$t.py" ] \
        || die "the build left no $pybld/_$t.so and $t.py"
done
step "python: setup.py build in $pybld"
(cd "$pybld" && rm -rf build && nice -n 19 "$py" setup.py -q build >"$pybld/setup-build.log" 2>&1) \
    || { tail -n 30 "$pybld/setup-build.log" >&2; die "setup.py build failed (log: $pybld/setup-build.log)"; }
built=$(find "$pybld/build" -mindepth 2 -maxdepth 2 -type d -name faiss -path '*/lib*/faiss' | head -n 1)
[ -n "$built" ] && [ -f "$built/__init__.py" ] && [ -f "$built/_$opt_target.so" ] \
    || die "setup.py build left no faiss package with _$opt_target.so under $pybld/build"
rm -rf "$pkgdir/faiss.new"
cp -a "$built" "$pkgdir/faiss.new"
rm -rf "$pkgdir/faiss"
mv "$pkgdir/faiss.new" "$pkgdir/faiss"
step "python: installed $pkgdir/faiss"

# --- 6. check -----------------------------------------------------------------------------------
step "check: importing faiss from $pkgdir"
check=$(cd / && PYTHONPATH=$pkgdir "$py" - "$opt_target" <<'EOF'
import sys
want = sys.argv[1]
import faiss
loaded = [m for m in ("swigfaiss_avx512", "swigfaiss_avx2", "swigfaiss")
          if "faiss." + m in sys.modules]
mod = sys.modules["faiss." + loaded[0]] if loaded else None
print("version:", faiss.__version__)
print("package:", faiss.__file__)
print("module: ", loaded[0] if loaded else "?", "(" + (mod.__file__ if mod else "?") + ")")
print("compile:", faiss.get_compile_options())
sys.exit(0 if loaded and loaded[0] == want else 3)
EOF
) && ok=1 || ok=
echo "$check" | sed 's/^/    /'
[ -n "$ok" ] || die "faiss from $pkgdir did not load $opt_target (see above; FAISS's loader logs why" \
    "with: PYTHONPATH=$pkgdir $py -c 'import logging; logging.basicConfig(level=logging.INFO); import faiss')"
grep -q "^package: $pkgdir/faiss/__init__.py$" <<<"$check" \
    || die "PYTHONPATH=$pkgdir imported faiss from somewhere else"

echo
echo "Done in $((SECONDS - start)) s. Use it with:"
echo "  PYTHONPATH=$pkgdir $py -c \"import faiss; print(faiss.__version__, faiss.__file__)\""
echo "(faiss.get_compile_options() reports the opt level; Debian's python3-faiss stays the default"
echo " wherever PYTHONPATH does not point here)"
