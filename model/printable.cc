#include "model/printable.h"

#include <cstdio>

#include "model/state_hash.h"

namespace manifold::model {

std::string Printable(std::string_view s) {
  std::string out = "\"";
  const size_t shown = s.size() > 40 ? 32 : s.size();
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += '"';
  // Two long values that share their first bytes must still print differently: name the length
  // and a hash of all of it.
  if (shown < s.size()) {
    out += "...(" + std::to_string(s.size()) + " bytes, fnv " + Hex(Fnv1a64(s)) + ")";
  }
  return out;
}

std::string CfName(std::string_view cf) {
  std::string out = Printable(cf);
  out.front() = '\'';
  const size_t close = out.rfind('"');
  out[close] = '\'';
  return out;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace manifold::model
