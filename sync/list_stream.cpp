#include "sync/list_stream.hpp"

#include "state/store.hpp"
#include "sync/batch.hpp"
#include "sync/reconcile.hpp"

namespace peoplesync::sync {

using boost::asio::awaitable;
using connectors::CallError;

awaitable<void> run_list_stream(Pass& pass, Resolution& resolution, const config::Stream& s, ListSource& source,
                                Target& target, StreamReport& rep) {
  const auto& src = std::get<config::PeopleSource>(s.from);
  if (!co_await reconcile(pass, s, target, rep)) co_return;
  std::map<std::string, std::string> source_of;  // People job id -> the record it was made from
  // Not the jobs of records deleted at the source (on_delete: complete keeps
  // their row with a "deleted:" hash): there is no record to update, and
  // each pass would send the update again and dead-letter it.
  for (const auto& m : pass.store.id_map_list(*src.of_stream))
    if (m.hash.rfind(kDeletedHashPrefix, 0) != 0) source_of[m.target_id] = m.source_key;
  Shown shown;
  if (!co_await target.prepare(s, rep)) co_return;
  for (int index = 0;; ++index) {
    auto page = co_await pass.limited(rep, [&] { return source.page(index); });
    if (auto* e = std::get_if<CallError>(&page)) {
      pass.note_error(rep, *e);
      co_return;
    }
    auto& pg = std::get<connectors::Page<SourceRecord>>(page);
    state::Commit c;
    std::vector<Ready> ready;
    for (auto& r : pg.items) {
      auto it = source_of.find(r.key);
      if (it == source_of.end()) continue;
      ++rep.read;
      Work w;
      w.key = r.key;
      w.record = std::move(r.record);
      w.target_id = it->second;
      // Nothing takes a parked write-back up again: what cannot be mapped is a dead letter.
      if (auto m = map_or_set_aside(pass, resolution, s, w, c, rep, shown, Parking::none))
        ready.emplace_back(std::move(w), std::move(*m));
    }
    const Step written = co_await target.write(s, ready, c, rep, shown);
    pass.commit(c);
    if (!written.ok) co_return;
    if (!pg.more || pg.items.empty()) break;
  }
  const Step flushed = co_await target.flush(s, rep, shown);
  if (!flushed.ok) co_return;
  rep.completed = true;
}

}  // namespace peoplesync::sync
