// A CRM records page (connectors::parse_records_page) for every HTTP status
// Zoho uses, and connectors::value_from_json, the records' dynamic values.
// The first byte picks the status. A page that parses holds only records
// with an id and a readable Modified_Time.
#include <array>

#include "common/timefmt.hpp"
#include "connectors/crm.hpp"
#include "support.hpp"

using namespace peoplesync;
using namespace peoplesync::connectors;

namespace {

// Walks a Value fully (the sync layer reads any path of it).
std::size_t walk(const Value& v, int depth = 0) {
  std::size_t n = 1;
  if (const auto* o = v.as_object())
    for (const auto& [k, child] : *o) n += walk(child, depth + 1);
  if (const auto* a = v.as_array())
    for (const auto& child : *a) n += walk(child, depth + 1);
  if (v.is_scalar()) fuzz::check(v.kind() != Value::Kind::number || !v.text().empty(), "a number without text");
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::array<int, 10> kStatus = {200, 200, 200, 200, 204, 304, 400, 401, 404, 500};
  if (size == 0) return 0;
  const int status = kStatus[data[0] % kStatus.size()];
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  auto page = parse_records_page(status, body, "crm Deals");
  if (auto* p = std::get_if<CrmPage>(&page)) {
    for (const auto& r : p->records) {
      fuzz::check(!r.id.empty(), "a record without an id");
      fuzz::check(parse_iso8601(r.modified_time).has_value(), "a record without a readable Modified_Time");
      fuzz::check(r.fields.as_object() != nullptr, "a record that is not an object");
      walk(r.fields);
    }
    if (status != 200) fuzz::check(p->records.empty(), "records from a reply that is not 200");
  } else {
    fuzz::check(std::get<CallError>(page).message.find("crm Deals") != std::string::npos,
                "a page error that does not name the module");
  }
  walk(value_from_json(body));
  return 0;
}
