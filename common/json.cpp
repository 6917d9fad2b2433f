#include "common/json.hpp"

#include <cmath>
#include <cstdio>

namespace peoplesync::json {

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string quote(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

void Writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

Writer& Writer::begin_object() {
  separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
Writer& Writer::end_object() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}
Writer& Writer::begin_array() {
  separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
Writer& Writer::end_array() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}
Writer& Writer::key(std::string_view k) {
  separate();
  append_string(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
Writer& Writer::value(std::string_view v) {
  separate();
  append_string(out_, v);
  return *this;
}
Writer& Writer::value(std::int64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}
Writer& Writer::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

Writer& Writer::value(double v) {
  separate();
  if (!std::isfinite(v)) {
    out_ += "null";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out_ += buf;
  }
  return *this;
}
Writer& Writer::value(bool v) {
  separate();
  out_ += v ? "true" : "false";
  return *this;
}
Writer& Writer::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace peoplesync::json
