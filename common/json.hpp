#pragma once
// Minimal JSON text output (escaping and a streaming writer) for log lines,
// the CLI's --json output and reports. Parsing is simdjson's job elsewhere.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace peoplesync::json {

// Appends s as a quoted JSON string.
void append_string(std::string& out, std::string_view s);
std::string quote(std::string_view s);

// Builds compact JSON; keys and values are emitted in call order.
//   Writer w; w.begin_object(); w.key("a"); w.value(1); w.end_object();
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view k);
  Writer& value(std::string_view v);
  Writer& value(const char* v) { return value(std::string_view(v)); }
  Writer& value(std::int64_t v);
  Writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
  Writer& value(double v);
  Writer& value(bool v);
  Writer& null();
  // A value already encoded as JSON (a number kept as the text it was read as).
  Writer& raw(std::string_view json);
  // key + value in one call
  template <class T>
  Writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace peoplesync::json
