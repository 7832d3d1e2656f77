#!/usr/bin/env bash
# bulwark is installable and usable from outside its tree:
# 1. `cmake --install` of this build into a temporary prefix;
# 2. tests/consumer, a separate CMake project, finds it with
#    find_package(bulwark CONFIG REQUIRED), builds and runs (the quickstart
#    against bulwark::actors, a small program against bulwark::runtime);
# 3. the same programs compile with `pkg-config --cflags --libs`;
# 4. bulwark configured as a subproject (add_subdirectory) with its defaults
#    needs neither Catch2 nor Google Benchmark (both disabled) to configure,
#    and defines no test, benchmark or example target.
# Usage: install_consumer_test.sh SOURCE_DIR BUILD_DIR BUILD_TYPE ACTORS SANITIZE
set -u
src=$1 build=$2 type=$3 actors=$4 sanitize=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
is_on() { case "${1^^}" in ON|1|TRUE|YES) return 0 ;; *) return 1 ;; esac; }

flags=()
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cxxflags=""
if is_on "$sanitize"; then
  cxxflags="-fsanitize=address,undefined"
  flags+=("-DCMAKE_CXX_FLAGS=$cxxflags")
  export ASAN_OPTIONS=detect_leaks=1
fi

# 1. Install.
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; fail "cmake --install failed"; }
for f in include/bulwark/runtime/config/bulwark_config.hpp \
         lib/libbulwark_runtime.a lib/cmake/bulwark/bulwark-config.cmake \
         lib/cmake/bulwark/bulwark-config-version.cmake \
         lib/pkgconfig/bulwark-runtime.pc; do
  [ -f "$tmp/prefix/$f" ] || fail "not installed: $f"
done
if is_on "$actors"; then
  for f in include/bulwark/actors/dependency/dependency_actor.hpp \
           lib/libbulwark_actors.a lib/pkgconfig/bulwark.pc; do
    [ -f "$tmp/prefix/$f" ] || fail "not installed: $f"
  done
fi
if is_on "$actors"; then
  for f in bin/bulwark-config bin/bulwark-chaos bin/bulwark-trace; do
    [ -x "$tmp/prefix/$f" ] || fail "not installed: $f"
  done
fi
# Sources and build files stay out of include/.
stray=$(find "$tmp/prefix/include" -type f ! -name '*.hpp' | head -3)
[ -z "$stray" ] || fail "non-header files installed under include/: $stray"

# 2. find_package from a separate project.
cmake -S "$src/tests/consumer" -B "$tmp/consumer" -DCMAKE_BUILD_TYPE="$type" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DBULWARK_QUICKSTART_SOURCE="$src/examples/quickstart/main.cpp" \
  "${launcher[@]}" "${flags[@]}" > "$tmp/configure.log" 2>&1 \
  || { cat "$tmp/configure.log"; fail "consumer did not configure"; }
cmake --build "$tmp/consumer" -j 2 > "$tmp/build.log" 2>&1 \
  || { cat "$tmp/build.log"; fail "consumer did not build"; }
out=$("$tmp/consumer/runtime_consumer") || fail "runtime consumer failed: $out"
case "$out" in *"/dependencies/pricing/idempotency"*) ;;
  *) fail "runtime consumer printed: $out" ;; esac
if is_on "$actors"; then
  out=$("$tmp/consumer/actors_consumer") || fail "actors consumer failed: $out"
  case "$out" in *"call 20:"*"stats:"*) ;;
    *) fail "actors consumer printed: $out" ;; esac
  if [ -x "$tmp/consumer/tls_consumer" ]; then
    out=$("$tmp/consumer/tls_consumer") || fail "TLS consumer failed: $out"
    case "$out" in "/cluster/tls/certificate: cannot read"*) ;;
      *) fail "TLS consumer printed: $out" ;; esac
    echo "find_package: the TLS consumer linked CAF's OpenSSL module and ran"
  fi
fi
echo "find_package: consumer built and ran"

# 3. pkg-config: the runtime program compiled and linked with its flags; the
#    quickstart's object (compiled above) linked with bulwark.pc's libraries,
#    and an actors header compiled with its cflags (CAF's headers are slow:
#    the quickstart is not compiled twice).
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
g++ -o "$tmp/runtime_pc" "$src/tests/consumer/runtime_consumer.cpp" \
  $(pkg-config --cflags --libs bulwark-runtime) 2> "$tmp/pc.log" \
  || { cat "$tmp/pc.log"; fail "pkg-config bulwark-runtime build failed"; }
"$tmp/runtime_pc" > /dev/null || fail "pkg-config runtime program failed"
if is_on "$actors"; then
  printf '#include "bulwark/actors/dependency/dependency_actor.hpp"\n' > "$tmp/pc.cpp"
  # shellcheck disable=SC2046
  g++ -fsyntax-only "$tmp/pc.cpp" $(pkg-config --cflags bulwark) 2> "$tmp/pc.log" \
    || { cat "$tmp/pc.log"; fail "pkg-config bulwark cflags do not compile its headers"; }
  obj=$(find "$tmp/consumer" -name 'main.cpp.o' | head -1)
  [ -n "$obj" ] || fail "the quickstart's object file was not found"
  # shellcheck disable=SC2046
  g++ -o "$tmp/actors_pc" "$obj" $(pkg-config --libs bulwark) 2> "$tmp/pc.log" \
    || { cat "$tmp/pc.log"; fail "pkg-config bulwark libraries do not link"; }
  "$tmp/actors_pc" > /dev/null || fail "pkg-config actors program failed"
  tls_obj=$(find "$tmp/consumer" -name 'tls_consumer.cpp.o' | head -1)
  if [ -n "$tls_obj" ]; then
    # shellcheck disable=SC2046
    g++ -o "$tmp/tls_pc" "$tls_obj" $(pkg-config --libs bulwark) 2> "$tmp/pc.log" \
      || { cat "$tmp/pc.log"; fail "pkg-config bulwark libraries do not link TLS"; }
    "$tmp/tls_pc" > /dev/null || fail "pkg-config TLS program failed"
  fi
fi
echo "pkg-config: both programs built and ran"

# 4. A subproject with its defaults: Catch2 and Google Benchmark disabled, so
#    any find_package of them fails the configure. Configure only: building
#    the libraries again would prove nothing the install above did not.
mkdir -p "$tmp/parent"
cat > "$tmp/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(parent LANGUAGES CXX)
add_subdirectory("$src" bulwark)
add_executable(parent_app "$src/tests/consumer/runtime_consumer.cpp")
target_link_libraries(parent_app PRIVATE bulwark::runtime)
CMAKE
actors_flag=-DBULWARK_BUILD_ACTORS=OFF
is_on "$actors" && actors_flag=-DBULWARK_BUILD_ACTORS=ON
cmake -S "$tmp/parent" -B "$tmp/parent/build" -DCMAKE_BUILD_TYPE="$type" \
  -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON \
  "$actors_flag" "${launcher[@]}" "${flags[@]}" > "$tmp/parent.log" 2>&1 \
  || { cat "$tmp/parent.log"; fail "subproject configure needed more than the libraries"; }
grep -q 'add_test\|catch_discover' "$tmp/parent/build/bulwark/CTestTestfile.cmake" 2>/dev/null \
  && fail "the subproject registered bulwark's tests"
for t in bulwark-bench checkout actors_dependency_dependency_actor_test; do
  grep -q "^$t:" <(cmake --build "$tmp/parent/build" --target help 2>/dev/null | sed 's/^\.\.\. //;s/ .*//;s/$/:/') \
    && fail "the subproject defines $t"
done
echo "subproject: configured without Catch2 or Google Benchmark, no test targets"
