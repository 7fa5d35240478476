#!/bin/bash
# Engine code synchronizes, shares values between threads and starts threads only through
# engine/port/ (docs/design.md, "Layers"), so the simulator's scheduler sees every such step.
# Fails if any engine source outside engine/port/ names a standard-library thread, lock,
# condition variable or atomic type, or includes their headers.
# Also checks I9 (docs/design.md): engine library code reads time only through Clock and does I/O
# only through FileSystem, so the simulator's clock and file system see every reading and every
# byte. Outside engine/env/ (the production implementations), tests and the applications in
# engine/tools/ and engine/examples/, no wall-clock, random-device or direct file API is named.
set -u

readonly BANNED='std::(mutex|recursive_mutex|timed_mutex|recursive_timed_mutex|shared_mutex|shared_timed_mutex|condition_variable|condition_variable_any|thread|jthread|this_thread|atomic|atomic_ref|atomic_flag|lock_guard|unique_lock|scoped_lock|shared_lock|counting_semaphore|binary_semaphore|latch|barrier|call_once|once_flag)\b|#include <(atomic|mutex|shared_mutex|condition_variable|thread|semaphore|latch|barrier|stop_token)>'
# The production Clock sleeps on the wall clock by definition.
readonly ALLOWED='^engine/env/posix_fs\.cc:[0-9]+:(#include <thread>|.*std::this_thread::sleep_for)'

readonly I9_BANNED='std::chrono::(system_clock|steady_clock|high_resolution_clock|utc_clock|file_clock)\b|\b(gettimeofday|clock_gettime|localtime|gmtime)\b|std::random_device\b|\bfopen\b|std::(i|o)?fstream\b|#include <(fstream|ctime|sys/time\.h|fcntl\.h|unistd\.h)>|\b(s)?rand\(|::(open|pread|pwrite|fsync|fdatasync|read|write|close|time)\('
readonly I9_EXEMPT='^engine/(env|tools|examples|port)/|_test\.cc:'

# Prints every I9 violation under directory $1; returns 1 if there is one.
check_i9() {
  local root="$1"
  local hits
  hits="$(cd "${root}" && grep -RnE "${I9_BANNED}" --include='*.h' --include='*.cc' engine \
      | grep -vE "${I9_EXEMPT}")"
  if [[ -n "${hits}" ]]; then
    echo "${hits}"
    return 1
  fi
  return 0
}

# Prints every violation under directory $1 (paths relative to it); returns 1 if there is one.
# -R, not -r: Bazel runfiles are symlinks, which -r skips (the check would pass vacuously).
check() {
  local root="$1"
  local hits
  hits="$(cd "${root}" && grep -RnE "${BANNED}" --include='*.h' --include='*.cc' engine \
      | grep -v '^engine/port/' | grep -vE "${ALLOWED}")"
  if [[ -n "${hits}" ]]; then
    echo "${hits}"
    return 1
  fi
  return 0
}

# The check itself must catch a planted violation and accept the allowed one.
planted="$(mktemp -d)"
trap 'rm -rf "${planted}"' EXIT
mkdir -p "${planted}/engine/db" "${planted}/engine/env" "${planted}/engine/port"
printf 'struct S {\n  std::atomic<int> refs;\n};\n' > "${planted}/engine/db/bad.h"
printf '#include <thread>\n  std::this_thread::sleep_for(d);\n' > "${planted}/engine/env/posix_fs.cc"
printf '#include <mutex>\nstd::mutex mu;\n' > "${planted}/engine/port/sync.h"
if out="$(check "${planted}")"; then
  echo "FAIL: the check missed a planted std::atomic in engine/db/bad.h"
  exit 1
fi
if [[ "${out}" != "engine/db/bad.h:2:  std::atomic<int> refs;" ]]; then
  echo "FAIL: expected only the planted violation, got:"
  echo "${out}"
  exit 1
fi

# The I9 check must catch a planted wall-clock read and accept tests and the POSIX file system.
printf 'uint64_t Now() {\n  return std::chrono::steady_clock::now().time_since_epoch().count();\n}\n' \
    > "${planted}/engine/db/bad.h"
printf '#include <chrono>\nauto t = std::chrono::steady_clock::now();\n' > "${planted}/engine/db/x_test.cc"
printf 'int fd = ::open(path, O_RDONLY);\n' >> "${planted}/engine/env/posix_fs.cc"
if out="$(check_i9 "${planted}")"; then
  echo "FAIL: the I9 check missed a planted steady_clock read in engine/db/bad.h"
  exit 1
fi
if [[ "${out}" != "engine/db/bad.h:2:  return std::chrono::steady_clock::now().time_since_epoch().count();" ]]; then
  echo "FAIL: expected only the planted I9 violation, got:"
  echo "${out}"
  exit 1
fi

root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
# Guard against a vacuous pass: the sources must really be here.
count="$(find "${root}/engine" -name '*.cc' -o -name '*.h' | wc -l)"
for must in engine/db/db_impl.cc engine/db/pager.h engine/btree/page.h engine/util/shared_bytes.h \
    engine/include/manifold/db.h engine/env/posix_fs.cc; do
  if [[ ! -f "${root}/${must}" ]]; then
    echo "FAIL: ${must} is not in the test's data"
    exit 1
  fi
done
if ! out="$(check "${root}")"; then
  echo "FAIL: engine code outside engine/port/ uses standard threading types directly;"
  echo "use port::Mutex, port::SharedMutex, port::CondVar, port::Thread, port::Atomic:"
  echo "${out}"
  exit 1
fi
if ! out="$(check_i9 "${root}")"; then
  echo "FAIL: engine code reads time or does I/O outside Clock and FileSystem (I9):"
  echo "${out}"
  exit 1
fi
echo "PASS: ${count} engine sources use threading only through engine/port/, and time and I/O"
echo "only through Clock and FileSystem (I9)"
