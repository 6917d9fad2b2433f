#include "sync/sources/crm_records.hpp"

#include "connectors/crm.hpp"

namespace peoplesync::sync {
namespace {

// Built outside the coroutines (g++ 12 and aggregates in coroutine frames).
SourceRecord record_of(const connectors::CrmRecord& r) {
  SourceRecord out;
  out.key = r.id;
  out.record = r.fields;
  return out;
}

Watermark watermark_of(const connectors::CrmWatermark& w) {
  Watermark out;
  out.time = w.time;
  out.ids_at_time = w.ids_at_time;
  return out;
}

WalkStats stats_of(const connectors::CrmWalkStats& st) {
  WalkStats out;
  out.calls = st.calls;
  out.not_modified = st.not_modified;
  out.reached = watermark_of(st.reached);
  return out;
}

Deletion deletion_of(const connectors::CrmDeleted& d) {
  Deletion out;
  out.key = d.id;
  out.time = d.deleted_time;
  return out;
}

}  // namespace

using boost::asio::awaitable;
using connectors::CallError;
using connectors::Expected;

awaitable<Expected<WalkStats>> CrmRecordsSource::read_since(const Watermark& from, Sink sink) {
  connectors::CrmWatermark start;
  start.time = from.time;
  start.ids_at_time = from.ids_at_time;
  auto adapt = [&sink](const std::vector<connectors::CrmRecord>& recs,
                       const connectors::CrmWatermark& reached) -> awaitable<bool> {
    std::vector<SourceRecord> out;
    out.reserve(recs.size());
    for (const auto& r : recs) out.push_back(record_of(r));
    // Named, not a temporary in the co_await (g++ 12 destroys such
    // temporaries twice).
    const Watermark at = watermark_of(reached);
    const bool go_on = co_await sink(std::move(out), at);
    co_return go_on;
  };
  auto walked = co_await crm_.read_modified(module_, fields_, start, adapt);
  if (auto* e = std::get_if<CallError>(&walked)) co_return *e;
  const auto& st = std::get<connectors::CrmWalkStats>(walked);
  co_return stats_of(st);
}

awaitable<Expected<connectors::Page<Deletion>>> CrmRecordsSource::deleted_since(const std::optional<std::string>& since,
                                                                              int page) {
  auto got = co_await crm_.get_deleted(module_, since, page);
  if (auto* e = std::get_if<CallError>(&got)) co_return *e;
  const auto& pg = std::get<connectors::Page<connectors::CrmDeleted>>(got);
  connectors::Page<Deletion> out;
  out.more = pg.more;
  for (const auto& d : pg.items) out.items.push_back(deletion_of(d));
  co_return out;
}

}  // namespace peoplesync::sync
