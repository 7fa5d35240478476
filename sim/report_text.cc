#include "sim/report_text.h"

#include "model/model.h"

namespace manifold::sim {

uint64_t Fnv1a(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

std::string Show(std::string_view bytes) { return model::Printable(bytes); }

std::string OpenKeptFailing(const std::string& what, const Status& last) {
  return what + ": DB::Open: expected OK within " + std::to_string(kOpenAttemptsMax) +
         " attempts, got " +
         (last.ok() ? std::string("a power cut or failed restart each time") : last.ToString());
}

}  // namespace manifold::sim
