// The CRM reply parsers behind CrmClient (shared/api/crm-v2-get-records.txt,
// BEHAVIOUR.md "CRM"): a records page, the modified-since walk over several
// pages (304/204/400 DISCRETE_PAGINATION_LIMIT_EXCEEDED, page tokens, ties),
// deleted records and batch update results. The first line names the call;
// the rest is the reply script (fuzz/support.hpp); once it runs out the
// server answers 304. Whatever the replies, the call completes, the walk
// ends, and no record is handed over twice or out of order.
#include <array>
#include <set>

#include "common/timefmt.hpp"
#include "connectors/crm.hpp"
#include "rig.hpp"

using namespace peoplesync;
using namespace peoplesync::connectors;

namespace {

constexpr std::array<std::string_view, 7> kOps = {"get_page",    "read_modified", "read_modified_partial",
                                                  "read_resume", "get_deleted",   "update",
                                                  "update_one"};

template <class T>
void check_error(const Expected<T>& r) {
  if (const auto* e = std::get_if<CallError>(&r))
    fuzz::check(e->message.find("crm") != std::string::npos, "a CRM error that names no endpoint");
}

boost::asio::awaitable<void> walk(CrmClient& crm, const CrmWatermark& from) {
  std::set<std::pair<std::string, std::string>> seen;  // (Modified_Time, id)
  std::optional<SysTime> last;
  int batches = 0;
  CrmBatchSink sink = [&](const std::vector<CrmRecord>& batch, const CrmWatermark& reached)
      -> boost::asio::awaitable<bool> {
    ++batches;
    for (const auto& r : batch) {
      const auto t = parse_iso8601(r.modified_time);
      fuzz::check(t.has_value(), "a record handed over without a readable Modified_Time");
      fuzz::check(!last || *t >= *last, "records handed over out of Modified_Time order");
      last = t;
      fuzz::check(seen.emplace(r.modified_time, r.id).second, "a record handed over twice");
    }
    fuzz::check(reached.ids_at_time.empty() || !reached.time.empty(), "a watermark with ids but no time");
    co_return true;
  };
  auto r = co_await crm.read_modified("Calls", {"Subject", "Call_Duration"}, from, sink);
  check_error(r);
  if (auto* s = std::get_if<CrmWalkStats>(&r)) {
    fuzz::check(s->records == static_cast<int>(seen.size()), "walk stats count records not handed over");
    fuzz::check(batches <= s->calls, "more batches than calls");
    if (!from.time.empty()) fuzz::check(!s->reached.time.empty(), "the walk lost its watermark");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = fuzz::as_text(data, size);
  const std::size_t op = fuzz::pick_op(in, kOps);
  Response not_modified;
  not_modified.status = 304;
  fuzz::Rig rig(in, not_modified);
  CrmClient crm(rig.api, "https://www.zohoapis.com");
  rig.run([&]() -> boost::asio::awaitable<void> {
    switch (op) {
      case 0: {
        CrmQuery q;
        q.module = "Deals";
        q.fields = {"Deal_Name", "Stage"};
        auto r = co_await crm.get_page(q);
        check_error(r);
        if (auto* p = std::get_if<CrmPage>(&r))
          for (const auto& rec : p->records) fuzz::check(!rec.id.empty(), "a record without an id");
        break;
      }
      case 1: co_await walk(crm, CrmWatermark{}); break;
      case 2: co_await walk(crm, CrmWatermark{"2024-05-01T10:00:00+00:00", {"4150868000000624002"}}); break;
      case 3: co_await walk(crm, CrmWatermark{"2024-05-01T10:00:00+05:30", {}}); break;
      case 4: {
        auto r = co_await crm.get_deleted("Deals", std::string("2024-05-01T10:00:00+00:00"), 1);
        check_error(r);
        break;
      }
      default: {
        std::vector<CrmUpdate> recs;
        const int n = op == 5 ? 3 : 1;
        for (int i = 0; i < n; ++i)
          recs.push_back({"415086800000062400" + std::to_string(i), {{"Hours_Logged", Value::number("1.5")}, {"Stage", Value::string("Delivery")}}});
        auto r = co_await crm.update("Deals", recs);
        check_error(r);
        if (auto* v = std::get_if<std::vector<CrmUpdateResult>>(&r)) {
          fuzz::check(v->size() == recs.size(), "update: not one result per record");
          for (std::size_t i = 0; i < v->size(); ++i)
            fuzz::check((*v)[i].id == recs[i].id, "update: results not in request order");
        }
        break;
      }
    }
  });
  return 0;
}
