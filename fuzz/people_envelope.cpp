// The People envelope {"response":{"result":...,"status":0|1|2,"errors":...}}
// (connectors::parse_envelope) and the error classification. Any body gives
// an Envelope or a message, never a crash; a result is handed on as JSON that
// parses again.
#include <simdjson.h>

#include "connectors/people.hpp"
#include "support.hpp"

using namespace peoplesync;
using namespace peoplesync::connectors;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  auto env = parse_envelope(body);
  if (auto* e = std::get_if<Envelope>(&env)) {
    fuzz::check(e->status >= 0 && e->status <= 2, "envelope status outside 0..2");
    for (const auto& err : e->errors) {
      const Outcome o = classify_people_error(err.code, err.message);
      fuzz::check(o == Outcome::locked || o == Outcome::permanent, "a People error classified as neither");
    }
    if (!e->result_json.empty()) {
      simdjson::dom::parser parser;
      fuzz::check(parser.parse(e->result_json).error() == simdjson::SUCCESS, "result_json does not parse again");
    }
  } else {
    fuzz::check(!std::get<std::string>(env).empty(), "an envelope refused without a reason");
  }
  (void)classify_people_error(body.substr(0, 8), body);
  return 0;
}
