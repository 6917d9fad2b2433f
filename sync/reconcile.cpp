#include "sync/reconcile.hpp"

#include <algorithm>

#include "state/outbox_ops.hpp"
#include "state/store.hpp"

namespace peoplesync::sync {

boost::asio::awaitable<bool> reconcile(Pass& pass, const config::Stream& s, Target& target, StreamReport& rep) {
  if (pass.opt.dry_run) co_return true;
  std::vector<state::OutboxEntry> doubtful;
  for (auto& e : pass.store.outbox_list(s.name))
    if (e.op != state::op::retry) doubtful.push_back(std::move(e));
  if (doubtful.empty()) co_return true;
  pass.log.with("stream", s.name).info("reconciling {} intent(s) left by an interrupted run", doubtful.size());
  std::set<std::string> mapped;
  for (const auto& m : pass.store.id_map_list(s.name)) mapped.insert(m.target_id);
  auto found = co_await target.read_back(s, doubtful, mapped, rep);
  if (!found) co_return false;
  state::Commit c;
  for (const auto& f : *found) {
    const auto e = std::find_if(doubtful.begin(), doubtful.end(), [&](const auto& d) { return d.id == f.intent; });
    if (e == doubtful.end()) continue;
    c.id_map_upserts.push_back({s.name, e->source_key, f.target_id, f.hash, 0});
    ++rep.reconciled;
    pass.added_by_read_back.insert({s.name, e->source_key});
  }
  for (const auto& e : doubtful) c.outbox_done.push_back(e.id);
  pass.store.commit(c);
  co_return true;
}

}  // namespace peoplesync::sync
