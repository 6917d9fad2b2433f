#include "sync/window_stream.hpp"

#include <set>

#include "state/store.hpp"
#include "sync/batch.hpp"
#include "sync/parking.hpp"
#include "sync/reconcile.hpp"

namespace peoplesync::sync {
namespace {

using boost::asio::awaitable;
using connectors::CallError;

constexpr std::size_t kChunkRecords = 1000;

Work work_of(SourceRecord& r) {
  Work w;
  w.key = r.key;
  w.record = std::move(r.record);
  w.day = r.day;
  return w;
}

// Writes `batch` in chunks; false: the stream stops (error noted, or writes
// still in doubt: the next pass reads them back).
awaitable<bool> write_chunks(Pass& pass, Resolution& resolution, const config::Stream& s, Target& target,
                             std::vector<Work>& batch, std::map<std::string, std::int64_t>& parked_rows,
                             StreamReport& rep, Shown& shown) {
  state::Commit c;
  for (std::size_t i = 0; i < batch.size(); i += kChunkRecords) {
    std::vector<Work> chunk(
        std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(i)),
        std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), i + kChunkRecords))));
    const Step r = co_await write_settled(pass, resolution, s, target, chunk, c, rep, shown, parked_rows);
    pass.commit(c);
    pass.report(rep);
    if (!r.ok || r.in_doubt || pass.stop_requested) co_return false;
  }
  co_return true;
}

// Removes the targets of records mapped from this window that the complete
// read `seen` no longer holds.
awaitable<bool> remove_missing(Pass& pass, const config::Stream& s, Target& target, const Window& window,
                               const std::set<std::string>& seen, StreamReport& rep, Shown& shown) {
  state::Commit c;
  for (const auto& m : pass.store.id_map_list(s.name)) {
    if (m.source_day.empty() || m.source_day < window.from_day || m.source_day > window.to_day) continue;
    if (seen.count(m.source_key) || m.hash.rfind(kDeletedHashPrefix, 0) == 0) continue;
    if (pass.stop_requested) co_return false;
    if (pass.opt.dry_run) {
      pass.plan(rep, shown, target.remove_plan(s), m.target_id + " for " + m.source_key);
      ++rep.deleted;
      continue;
    }
    if (auto err = co_await target.remove(s, m.source_key, m.target_id, c, rep)) {
      if (err->outcome != connectors::Outcome::in_doubt) pass.note_error(rep, *err);
      pass.commit(c);
      co_return false;
    }
    ++rep.deleted;
    pass.commit(c);
  }
  co_return true;
}

}  // namespace

awaitable<void> run_window_stream(Pass& pass, Resolution& resolution, const config::Stream& s, WindowSource& source,
                                  Target& target, const Window& window, StreamReport& rep) {
  if (!co_await reconcile(pass, s, target, rep)) co_return;
  Shown shown;
  std::map<std::string, std::int64_t> parked_rows;
  std::vector<Work> parked = parked_work(pass, s, parked_rows);
  auto got = co_await pass.limited(rep, [&] { return source.read_window(window.from_day, window.to_day); });
  if (auto* e = std::get_if<CallError>(&got)) {
    pass.note_error(rep, *e);
    co_return;
  }
  auto& read = std::get<WindowRead>(got);
  rep.api_calls += read.calls > 0 ? read.calls - 1 : 0;  // limited() counted one
  std::set<std::string> seen;
  std::vector<Work> fresh;
  for (auto& r : read.records) {
    if (!seen.insert(r.key).second) continue;  // a record read twice (paging moved under it) counts once
    fresh.push_back(work_of(r));
  }
  rep.read += static_cast<std::int64_t>(fresh.size());
  if (!co_await write_chunks(pass, resolution, s, target, fresh, parked_rows, rep, shown)) co_return;
  if (read.complete && s.on_delete != config::OnDelete::ignore &&
      !co_await remove_missing(pass, s, target, window, seen, rep, shown))
    co_return;
  // Records parked earlier that this read did not bring again.
  std::vector<Work> left;
  for (auto& w : parked)
    if (parked_rows.count(w.key) && parked_rows[w.key] == *w.parked_row) left.push_back(std::move(w));
  std::map<std::string, std::int64_t> none;
  if (!co_await write_chunks(pass, resolution, s, target, left, none, rep, shown)) co_return;
  rep.completed = read.complete;
  if (!read.complete) rep.error = "the window was not read completely; nothing was removed";
}

}  // namespace peoplesync::sync
